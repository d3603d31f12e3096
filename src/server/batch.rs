//! Group commit on SQLite: write transactions that arrive together share one commit.
//!
//! SQLite writes one transaction at a time, and with `synchronous = FULL` each commit waits for
//! the disk. In a flash sale that wait, not the statements, sets how many checkouts a second the
//! server can take. [`Batcher::write`] queues a piece of work; one task per database takes what
//! is queued (up to [`MAX_BATCH`]), runs each piece in a savepoint of one `BEGIN IMMEDIATE`
//! transaction on the process's write connection ([`super::db::Db::writer`], taken in turn with
//! every other writer), commits once, and only then answers each caller. A piece that fails is
//! rolled back to its savepoint alone; if the commit fails, every piece of the batch fails.
//! Nothing is acknowledged before it is on disk, and the result is as if the pieces had run one
//! after another in the order they arrived.
//!
//! The work runs in the batcher's task, so the request that asked for it may have been answered
//! already (503 when its time limit passed). Each piece therefore carries its request's deadline
//! ([`super::guard::Deadline`]) less [`COMMIT_MARGIN`], and a batch is committed before the
//! earliest deadline of the pieces it commits: a piece is not started past its own deadline;
//! once pieces have succeeded, the next one runs only while it can end [`CUT`] before their
//! earliest deadline (it is stopped there and undone, answered 503), and a piece whose turn
//! comes later than that waits for the next batch. Should the batch still reach that deadline,
//! it is rolled back whole and every piece answered 503. So a client told "try again" finds
//! nothing of its write committed (unless a commit that started in time takes longer than the
//! margin; a retry with the same idempotency key then finds it), and one slow or late checkout
//! does not take the others of its batch down with it.
//!
//! PostgreSQL needs none of this (its commits run side by side): [`super::db::Db::write`] runs
//! the work in a transaction of its own there.

use crate::error::{AppError, ErrorCode};
use futures_util::future::BoxFuture;
use futures_util::FutureExt;
use sqlx::AnyPool;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

/// A write transaction as the work sees it.
pub type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// The most pieces of work one commit carries.
pub const MAX_BATCH: usize = 64;
/// How many pieces may wait for the batcher; one more is answered 503 at once.
pub const MAX_QUEUED: usize = 1024;
/// The longest a piece waits in the queue before it is answered 503 instead of run (well
/// within the request's time limit, `ZHUNONG_REQUEST_TIMEOUT_SECS`, 30 s by default).
pub const MAX_WAIT: std::time::Duration = std::time::Duration::from_secs(5);
/// The longest one piece may run; then it fails and its writes are undone.
pub const MAX_PIECE: std::time::Duration = std::time::Duration::from_secs(10);
/// How long before its request's deadline a piece must be committed: room for the commit
/// itself (a disk flush) before the client is answered 503.
pub const COMMIT_MARGIN: std::time::Duration = std::time::Duration::from_secs(1);
/// By when a write for a request answered at `deadline` must be committed: a margin before it.
pub fn commit_by(deadline: Instant) -> Instant {
    deadline.checked_sub(COMMIT_MARGIN).unwrap_or(deadline)
}

/// How much time before the batch's commit deadline (the earliest deadline of the pieces that
/// succeeded) the last piece must end: room for the savepoint's release and the commit's start.
pub const CUT: std::time::Duration = std::time::Duration::from_millis(100);

/// A piece of work, run in a write transaction that it must neither commit nor roll back. It
/// reads and writes through that transaction only, and passes every database error up: a
/// piece that carried on after SQLite had rolled the transaction back (disk full, I/O error)
/// would write outside it. It must not ask for a write of its own (`Db::write`, `writer`,
/// `begin_write`): the batcher holds the one write connection, and would wait for itself. It
/// runs in the batcher's task, outside the request: it cannot read the request's context
/// (`use_context`, the session, the language); its errors are worded again in the caller's
/// language when they come back.
pub trait Work<T>: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, AppError>> + Send {}
impl<T, F> Work<T> for F where
    F: for<'t> FnOnce(&'t mut Tx) -> BoxFuture<'t, Result<T, AppError>> + Send
{
}

/// A queued piece of work with the way back to its caller, its result type erased.
trait Job: Send {
    /// Runs the work, to end before `commit_by` less [`CUT`] when the batch has one; whether it
    /// succeeded (else its writes must be rolled back).
    fn run<'t>(&'t mut self, tx: &'t mut Tx, commit_by: Option<Instant>) -> BoxFuture<'t, bool>;
    /// Answers the caller, once the batch's commit is known.
    fn finish(self: Box<Self>, commit: Result<(), AppError>);
    /// By when its writes must be committed, if at all.
    fn deadline(&self) -> Instant;
}

struct Pending<T, F> {
    work: Option<F>,
    queued: std::time::Instant,
    deadline: Instant,
    out: Option<Result<T, AppError>>,
    reply: oneshot::Sender<Result<T, AppError>>,
}

impl<T: Send, F: Work<T>> Job for Pending<T, F> {
    fn run<'t>(&'t mut self, tx: &'t mut Tx, commit_by: Option<Instant>) -> BoxFuture<'t, bool> {
        Box::pin(async move {
            let Some(work) = self.work.take() else {
                return false;
            };
            // Not started for a caller who is gone or who waited too long: its client has its
            // answer already (the request's time limit, or a dropped connection), and a write
            // made now would be one nobody was told of.
            let now = Instant::now();
            if self.reply.is_closed() || self.queued.elapsed() > MAX_WAIT || now >= self.deadline {
                self.out = Some(Err(AppError::new(ErrorCode::Busy)));
                return false;
            }
            let mut limit = MAX_PIECE.min(self.deadline - now);
            if let Some(by) = commit_by {
                limit = limit.min(by.saturating_duration_since(now).saturating_sub(CUT));
            }
            // A panic in one caller's work fails that work, not the batcher (nor the batch);
            // so does work that takes longer than a piece may.
            let started = std::panic::catch_unwind(AssertUnwindSafe(move || work(tx)));
            let out = match started {
                Ok(fut) => {
                    match tokio::time::timeout(limit, AssertUnwindSafe(fut).catch_unwind()).await {
                        Ok(Ok(out)) => out,
                        Ok(Err(_)) => Err(AppError::internal("a write panicked")),
                        // Undone like any failed piece: the client may try again.
                        Err(_) => {
                            tracing::warn!("a batched write took longer than {limit:?}");
                            Err(AppError::new(ErrorCode::Busy))
                        }
                    }
                }
                Err(_) => Err(AppError::internal("a write panicked")),
            };
            let ok = out.is_ok();
            self.out = Some(out);
            ok
        })
    }

    fn finish(self: Box<Self>, commit: Result<(), AppError>) {
        // A failed commit fails every piece with its error, even one that had failed by itself:
        // its answer (say, out of stock) may rest on other pieces' writes that are now undone.
        let out = match (self.out, commit) {
            (_, Err(e)) => Err(e),
            (Some(out), Ok(())) => out,
            (None, Ok(())) => Err(AppError::internal("a write was not run")),
        };
        if self.reply.send(out).is_err() {
            // The caller went away (its client disconnected); what committed stays, and a
            // retry with the same idempotency key finds it.
            tracing::debug!("a batched write finished after its caller left");
        }
    }

    fn deadline(&self) -> Instant {
        self.deadline
    }
}

/// The queue of one database's batched writes (cheap to clone).
#[derive(Debug, Clone)]
pub struct Batcher {
    queue: mpsc::Sender<Box<dyn Job>>,
    counts: Arc<Counts>,
}

/// How many batches were committed (or failed), and how many pieces of work they carried.
#[derive(Debug, Default)]
pub struct Counts {
    pub batches: AtomicU64,
    pub pieces: AtomicU64,
}

impl Batcher {
    /// Starts the task that commits the batches, on the current Tokio runtime. It stops when
    /// the last `Batcher` is dropped.
    pub fn start(writer: AnyPool) -> Batcher {
        let (queue, rx) = mpsc::channel(MAX_QUEUED);
        let counts = Arc::new(Counts::default());
        tokio::spawn(run(writer, rx, counts.clone()));
        Batcher { queue, counts }
    }

    /// Batches run so far and the pieces of work they carried.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.counts.batches.load(Relaxed),
            self.counts.pieces.load(Relaxed),
        )
    }

    /// Runs `work` in the next batch and answers once its batch has committed, which is before
    /// `deadline` less [`COMMIT_MARGIN`] or not at all (503).
    pub async fn write<T, F>(&self, work: F, deadline: Instant) -> Result<T, AppError>
    where
        T: Send + 'static,
        F: Work<T> + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let job: Box<dyn Job> = Box::new(Pending {
            work: Some(work),
            queued: std::time::Instant::now(),
            deadline: commit_by(deadline),
            out: None,
            reply,
        });
        self.queue.try_send(job).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => AppError::new(ErrorCode::Busy),
            mpsc::error::TrySendError::Closed(_) => {
                AppError::internal("the write batcher has stopped")
            }
        })?;
        let out = answer
            .await
            .map_err(|_| AppError::internal("the write batcher dropped a write"))?;
        // The work ran in the batcher's task, outside the request, so its errors were worded in
        // the default language: word them again in the caller's.
        out.map_err(|mut e| {
            e.message = e.text_in(crate::i18n::current_lang());
            e
        })
    }
}

async fn run(writer: AnyPool, mut rx: mpsc::Receiver<Box<dyn Job>>, counts: Arc<Counts>) {
    let mut batch: Vec<Box<dyn Job>> = Vec::with_capacity(MAX_BATCH);
    loop {
        // What the last batch had no time for goes first.
        if batch.is_empty() {
            match rx.recv().await {
                Some(first) => batch.push(first),
                None => return,
            }
        }
        // The connection first, then what queued meanwhile: the work that arrives while
        // another writer has its turn joins this batch.
        let tx = writer.begin_with("BEGIN IMMEDIATE").await;
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let mut ran = 0;
        let commit = match tx {
            Ok(tx) => commit(tx, &mut batch, &mut ran).await,
            Err(e) => {
                ran = batch.len();
                Err(AppError::from(e))
            }
        };
        counts.batches.fetch_add(1, Relaxed);
        counts.pieces.fetch_add(ran as u64, Relaxed);
        if let Err(e) = &commit {
            tracing::warn!(pieces = ran, "a batch of writes failed: {}", e.message);
        }
        for job in batch.drain(..ran) {
            job.finish(commit.clone());
        }
    }
}

/// Runs the batch's pieces in the transaction, in order, and commits them before the earliest
/// deadline of those that succeeded, or rolls it all back (503). `ran` counts the pieces run
/// (or refused): the rest, whose turn came too close to that deadline, wait for the next batch.
async fn commit(mut tx: Tx, batch: &mut [Box<dyn Job>], ran: &mut usize) -> Result<(), AppError> {
    let mut commit_by: Option<Instant> = None;
    if let [job] = batch {
        // Alone, the work needs no savepoint: its failure rolls the transaction back.
        *ran = 1;
        if !job.run(&mut tx, None).await {
            return tx.rollback().await.map_err(AppError::from);
        }
        commit_by = Some(job.deadline());
    } else {
        for job in batch.iter_mut() {
            // Twice the cut: the savepoint takes a moment too, and a piece left no time would
            // be answered 503 when the next batch could have run it.
            if commit_by.is_some_and(|by| Instant::now() + 2 * CUT >= by) {
                break;
            }
            *ran += 1;
            sqlx::query("SAVEPOINT piece").execute(&mut *tx).await?;
            if job.run(&mut tx, commit_by).await {
                let d = job.deadline();
                commit_by = Some(commit_by.map_or(d, |c| c.min(d)));
            } else {
                sqlx::query("ROLLBACK TO piece").execute(&mut *tx).await?;
            }
            sqlx::query("RELEASE piece").execute(&mut *tx).await?;
        }
    }
    if commit_by.is_some_and(|by| Instant::now() >= by) {
        tracing::warn!(
            pieces = *ran,
            "a batch of writes reached a caller's deadline: rolled back"
        );
        tx.rollback().await?;
        return Err(AppError::new(ErrorCode::Busy));
    }
    tx.commit().await.map_err(AppError::from)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::db::Db;

    async fn db(name: &str) -> (Db, std::path::PathBuf) {
        let dir = std::env::temp_dir().join(format!("zhunong-batch-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let db = Db::connect(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        sqlx::query("CREATE TABLE t (n BIGINT NOT NULL UNIQUE)")
            .execute(db.writer())
            .await
            .unwrap();
        (db, dir)
    }

    async fn rows(db: &Db) -> Vec<i64> {
        sqlx::query_scalar("SELECT n FROM t ORDER BY n")
            .fetch_all(&db.pool)
            .await
            .unwrap()
    }

    /// Writes queued while the write connection is busy share a commit; each one that fails
    /// (an error, a broken constraint, a panic) undoes its own writes and nobody else's.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn queued_writes_share_a_commit_and_fail_alone() {
        let (db, dir) = db("share").await;
        // Another writer holds the connection while 40 writes queue behind it.
        let held = db.writer().acquire().await.unwrap();
        let mut tasks = Vec::new();
        for n in 0..40i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                db.write(move |tx| {
                    Box::pin(async move {
                        sqlx::query("INSERT INTO t (n) VALUES ($1)")
                            .bind(n)
                            .execute(&mut **tx)
                            .await?;
                        match n % 4 {
                            1 => Err(AppError::new(ErrorCode::BadRequest)),
                            // A second row that breaks the unique constraint.
                            2 => sqlx::query("INSERT INTO t (n) VALUES ($1)")
                                .bind(n)
                                .execute(&mut **tx)
                                .await
                                .map(|_| n)
                                .map_err(AppError::from),
                            3 if n == 3 => panic!("a bug in one write"),
                            _ => Ok(n),
                        }
                    })
                })
                .await
            }));
            tokio::task::yield_now().await;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        drop(held);
        let mut ok = Vec::new();
        for (n, t) in tasks.into_iter().enumerate() {
            match t.await.unwrap() {
                Ok(v) => ok.push(v),
                Err(e) => assert!(n % 4 == 1 || n % 4 == 2 || n == 3, "{n}: {e:?}"),
            }
        }
        let expected: Vec<i64> = (0..40)
            .filter(|n| n % 4 == 0 || (n % 4 == 3 && *n != 3))
            .collect();
        assert_eq!(ok, expected, "what was answered Ok");
        assert_eq!(rows(&db).await, expected, "what was committed");
        let (batches, pieces) = db.batch_counts().unwrap();
        assert_eq!(pieces, 40);
        assert!(batches <= 2, "40 queued writes took {batches} commits");
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// One statement as a batched write, in a task of its own.
    fn spawn_statement(
        db: &Db,
        sql: &'static str,
    ) -> tokio::task::JoinHandle<Result<(), AppError>> {
        let db = db.clone();
        tokio::spawn(async move {
            db.write(move |tx| {
                Box::pin(async move {
                    sqlx::query(sql).execute(&mut **tx).await?;
                    Ok(())
                })
            })
            .await
        })
    }

    /// One statement as a batched write that must be committed before `deadline` (less the
    /// margin), after waiting `delay` inside its transaction.
    fn spawn_until(
        db: &Db,
        n: i64,
        delay: std::time::Duration,
        deadline: Instant,
    ) -> tokio::task::JoinHandle<Result<(), AppError>> {
        let db = db.clone();
        tokio::spawn(async move {
            db.write_until(
                move |tx| {
                    Box::pin(async move {
                        tokio::time::sleep(delay).await;
                        sqlx::query("INSERT INTO t (n) VALUES ($1)")
                            .bind(n)
                            .execute(&mut **tx)
                            .await?;
                        Ok(())
                    })
                },
                deadline,
            )
            .await
        })
    }

    /// Nothing is committed after a caller's deadline, when its client has been answered 503,
    /// and one slow write does not take the others of its batch down: it is stopped in time
    /// for the first one's deadline and undone, and a write queued behind it waits for the
    /// next batch. A write whose turn comes too late, or that runs past its own deadline, is
    /// not committed either.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn nothing_is_committed_after_a_callers_deadline() {
        use std::time::Duration;
        let (db, dir) = db("deadline").await;
        let busy = |r: Result<(), AppError>| matches!(r, Err(e) if e.code == ErrorCode::Busy);
        let held = db.writer().acquire().await.unwrap();
        let start = Instant::now();
        // Its client is answered 503 at 2 s: it must be committed within 1 s (2 s less the
        // margin). Queued behind it, in the same batch, a write that takes 4 s, then a quick
        // one.
        let answered_503_at = start + COMMIT_MARGIN + Duration::from_secs(1);
        let soon = spawn_until(&db, 1, Duration::ZERO, answered_503_at);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let far = start + Duration::from_secs(30);
        let slow = spawn_until(&db, 2, Duration::from_secs(4), far);
        tokio::time::sleep(Duration::from_millis(50)).await;
        let quick = spawn_until(&db, 3, Duration::ZERO, far);
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(held);
        soon.await.unwrap().unwrap();
        assert!(
            Instant::now() < answered_503_at,
            "answered {:?} after the start, past its deadline",
            start.elapsed()
        );
        assert!(busy(slow.await.unwrap()), "stopped in time for the first");
        quick.await.unwrap().unwrap();
        assert_eq!(rows(&db).await, vec![1, 3]);
        assert_eq!(
            db.batch_counts(),
            Some((2, 3)),
            "the quick write went in a second batch"
        );
        // A write whose time is up when its turn comes is not run.
        let late = spawn_until(&db, 4, Duration::ZERO, Instant::now() + COMMIT_MARGIN);
        assert!(busy(late.await.unwrap()));
        // A write that runs past its own deadline is stopped there and undone.
        let long = spawn_until(
            &db,
            5,
            Duration::from_secs(5),
            Instant::now() + COMMIT_MARGIN + Duration::from_millis(200),
        );
        assert!(busy(long.await.unwrap()));
        assert_eq!(rows(&db).await, vec![1, 3]);
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A failed commit fails every write of its batch: none is answered Ok.
    #[tokio::test]
    async fn nothing_is_acknowledged_when_the_commit_fails() {
        let (db, dir) = db("commit").await;
        // Deferred, so the constraint is checked at COMMIT, after both writes ran.
        sqlx::query(
            "CREATE TABLE c (id BIGINT PRIMARY KEY, p BIGINT REFERENCES t (n) DEFERRABLE INITIALLY DEFERRED)",
        )
        .execute(db.writer())
        .await
        .unwrap();
        let held = db.writer().acquire().await.unwrap();
        let good = spawn_statement(&db, "INSERT INTO t (n) VALUES (1)");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        let bad = spawn_statement(&db, "INSERT INTO c (id, p) VALUES (1, 99)");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        drop(held);
        assert!(good.await.unwrap().is_err(), "its batch did not commit");
        assert!(bad.await.unwrap().is_err());
        assert!(rows(&db).await.is_empty());
        db.close().await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
