//! Bounded CPU- and memory-heavy work (password hashing, image decoding): at most `workers` jobs
//! run at once on blocking threads, at most `queue` more wait for a turn, and anything beyond that
//! is refused at once with [`ErrorCode::Busy`] (503 with `Retry-After`) instead of piling up
//! memory. One argon2 hash takes 19 MiB and one photo decode up to ~160 MB, so the bound is what
//! keeps an anonymous flood from exhausting the machine.

use crate::error::{AppError, ErrorCode};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug)]
pub struct WorkQueue {
    name: &'static str,
    permits: Arc<Semaphore>,
    workers: usize,
    queue: usize,
    /// Jobs admitted (running or waiting).
    admitted: Arc<AtomicUsize>,
    done: AtomicU64,
    refused: AtomicU64,
}

/// What `/metrics` shows of a queue.
#[derive(Debug, Clone, Copy)]
pub struct QueueStats {
    pub name: &'static str,
    pub workers: usize,
    pub in_flight: usize,
    pub done: u64,
    pub refused: u64,
}

impl WorkQueue {
    pub fn new(name: &'static str, workers: usize, queue: usize) -> WorkQueue {
        let workers = workers.max(1);
        WorkQueue {
            name,
            permits: Arc::new(Semaphore::new(workers)),
            workers,
            queue,
            admitted: Arc::new(AtomicUsize::new(0)),
            done: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        }
    }

    /// Runs `job` on a blocking thread once a worker is free; refuses with `Busy` when `workers`
    /// jobs run and `queue` more already wait. The worker's permit and the admission travel with
    /// the job onto its thread, so a caller that hangs up (or times out) cannot free a slot while
    /// its hash is still running: the bound holds for the work, not just for the waiting.
    pub async fn run<T, F>(&self, job: F) -> Result<T, AppError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let before = self.admitted.fetch_add(1, Ordering::SeqCst);
        let admission = Admission(self.admitted.clone());
        if before >= self.workers + self.queue {
            self.refused.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(queue = self.name, "work queue full: refused");
            return Err(AppError::new(ErrorCode::Busy));
        }
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| AppError::new(ErrorCode::Unavailable))?;
        let out = tokio::task::spawn_blocking(move || {
            let out = job();
            drop(permit);
            drop(admission);
            out
        })
        .await
        .map_err(AppError::internal)?;
        self.done.fetch_add(1, Ordering::Relaxed);
        Ok(out)
    }

    pub fn stats(&self) -> QueueStats {
        QueueStats {
            name: self.name,
            workers: self.workers,
            in_flight: self.admitted.load(Ordering::Relaxed),
            done: self.done.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
        }
    }
}

/// Gives the admission back however the job ends: when it finishes on its thread, or when the
/// caller gives up while it is still waiting for a worker.
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Makes glibc hand large freed blocks back to the system at once: without this its dynamic
/// mmap threshold grows to the size of an argon2 block (19 MiB) after the first free, every
/// later hash is carved from a per-thread arena, and the resident size never comes down again
/// (measured: 5.2 GB after 400 registrations). Called once at start-up.
pub fn return_memory_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator tunables; called before other threads allocate.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 256 * 1024);
        libc::mallopt(libc::M_ARENA_MAX, 4);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refuses_past_workers_plus_queue_and_recovers() {
        let q = Arc::new(WorkQueue::new("test", 1, 1));
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        let mut running = Vec::new();
        for _ in 0..2 {
            let q = q.clone();
            let rx = rx.clone();
            running.push(tokio::spawn(async move {
                q.run(move || {
                    let _ = rx.lock().unwrap().recv();
                })
                .await
            }));
        }
        // Two admitted (one running, one waiting): the third is refused.
        for _ in 0..100 {
            if q.stats().in_flight == 2 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        let third = q.run(|| ()).await;
        assert_eq!(third.unwrap_err().code, ErrorCode::Busy);
        tx.send(()).unwrap();
        tx.send(()).unwrap();
        for r in running {
            r.await.unwrap().unwrap();
        }
        assert_eq!(q.run(|| 7).await.unwrap(), 7);
        let s = q.stats();
        assert_eq!((s.done, s.refused, s.in_flight), (3, 1, 0));
    }
}
