#!/usr/bin/env python3
"""Failover drill: PostgreSQL streaming replication with the app reconnecting by itself.

Starts, from Debian's PostgreSQL packages, a primary and a hot standby (synchronous streaming
replication: a commit is acknowledged only once the standby has it on disk), in a temporary
directory on free ports. The app reaches them through a TCP proxy (nginx's stream module,
Debian's libnginx-mod-stream): the primary, or the standby when the primary refuses. The demo
data is loaded, `zhunong serve` starts, and buyers place orders while the co-op confirms their
payments. Mid-load the primary is stopped hard (`pg_ctl stop -m immediate`, like a crash) and
the standby promoted (`pg_ctl promote`). The load goes on; the app's pool drops the dead
connections and opens new ones through the proxy, to the new primary, with no restart.

Prints: orders and payments acknowledged before and after, how long checkouts failed, how long
the promotion took, reads served by the standby before the drill (with its replay paused: a
visitor reads the old page, the writer its own write, and reads move to the primary once the
standby is 5 s behind), and whether anything
acknowledged was lost (every acknowledged order on the promoted standby, every acknowledged
payment paid with its ledger rows, `zhunong check-ledger` passing). Exits non-zero on a loss.

    scripts/failover-drill.py      (make failover-drill; needs make build and root or the
                                    postgres user to run the clusters)

Standard library only. A drill, not a fencing system: the old primary stays down. In production,
a manager (Patroni, pg_auto_failover) decides when to promote and fences the old primary;
`docs/scaling.md` says so.
"""
import glob
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
spec = importlib.util.spec_from_file_location("crash", os.path.join(HERE, "crash-test.py"))
crash = importlib.util.module_from_spec(spec)
spec.loader.exec_module(crash)
Api, Server, free_port, BIN, DEMO_PASSWORD = crash.Api, crash.Server, crash.free_port, crash.BIN, crash.DEMO_PASSWORD

LOAD_SECONDS = float(os.environ.get("DRILL_LOAD_SECONDS", "4"))
WORKERS = 4


def pg_bin():
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(d.split("/")[-2]))
    if not dirs:
        raise SystemExit("PostgreSQL's server binaries are missing (apt-get install postgresql)")
    return dirs[-1]


def as_postgres(args, **kw):
    """Runs a PostgreSQL tool as the postgres user (they refuse to run as root)."""
    if os.geteuid() == 0:
        args = ["runuser", "-u", "postgres", "--"] + args
    return subprocess.run(args, check=True, **kw)


def replica_gauge(base):
    with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
        for line in r.read().decode().splitlines():
            if line.startswith("zhunong_read_replica_usable "):
                return line.split()[1]
    return None


def page(base, path, cookie=None):
    req = urllib.request.Request(base + path, headers={"Accept": "text/html"})
    if cookie:
        req.add_header("Cookie", cookie)
    with urllib.request.urlopen(req, timeout=5) as r:
        return r.read().decode()


def wait_for_gauge(base, value, seconds=15):
    t0 = time.time()
    while time.time() - t0 < seconds:
        if replica_gauge(base) == value:
            return time.time() - t0
        time.sleep(0.05)
    return None


def replica_reads(base, psql, p0, p2, listing, lost):
    """Reads from the standby: with its replay paused, a change on the primary is not yet on an
    anonymous visitor's listing page, while a client that just wrote (`zn_wrote`) sees it; once
    the standby is more than 5 s behind, every read goes to the primary; resumed, reads go back."""
    if replica_gauge(base) != "1":
        lost.append("the app does not read from the standby")
        return
    psql(p2, "SELECT pg_wal_replay_pause()")
    psql(p0, "UPDATE listings SET title = title || '（主库）' WHERE id = %d" % listing, "zhunong")
    path = "/listing/%d" % listing
    stale = "（主库）" not in page(base, path)
    fresh = "（主库）" in page(base, path, "zn_wrote=1")
    behind = wait_for_gauge(base, "0")
    caught = "（主库）" in page(base, path)
    psql(p2, "SELECT pg_wal_replay_resume()")
    back = wait_for_gauge(base, "1")
    print("read replica: paused standby served the old page to a visitor: %s; the writer read the primary: %s; "
          "reads moved to the primary %.1f s after the standby fell behind%s; back on the standby %.1f s after it resumed"
          % (stale, fresh, behind or -1, " (the visitor then saw the change)" if caught else "", back or -1))
    if not (stale and fresh and behind is not None and caught and back is not None):
        lost.append("reads from the standby did not behave")


def nginx_bin():
    for p in ("/usr/sbin/nginx", "/usr/bin/nginx"):
        if os.path.exists(p):
            return p
    raise SystemExit("nginx is missing (apt-get install nginx-light libnginx-mod-stream)")


def stream_module():
    for p in ("/usr/lib/nginx/modules/ngx_stream_module.so",):
        if os.path.exists(p):
            return p
    raise SystemExit("nginx's stream module is missing (apt-get install libnginx-mod-stream)")


def main():
    if not os.path.exists(BIN):
        raise SystemExit("%s not found: build first (make build)" % BIN)
    pgb = pg_bin()
    tmp = tempfile.mkdtemp(prefix="zhunong-drill-")
    os.chmod(tmp, 0o755)
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    primary, standby = os.path.join(tmp, "primary"), os.path.join(tmp, "standby")
    p1, p2, p0 = free_port(), free_port(), free_port()
    procs = []
    server = None
    try:
        as_postgres([pgb + "/initdb", "-D", primary, "-A", "trust", "-U", "postgres"], stdout=subprocess.DEVNULL)
        with open(os.path.join(primary, "postgresql.conf"), "a") as f:
            f.write("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n"
                    "wal_level = replica\nmax_wal_senders = 5\nhot_standby = on\n"
                    "synchronous_standby_names = 'standby1'\nsynchronous_commit = on\n" % (p1, tmp))
        as_postgres([pgb + "/pg_ctl", "-D", primary, "-l", os.path.join(tmp, "primary.log"), "-w", "start"], stdout=subprocess.DEVNULL)
        as_postgres([pgb + "/pg_basebackup", "-h", "127.0.0.1", "-p", str(p1), "-U", "postgres", "-D", standby, "-R", "-X", "stream"])
        with open(os.path.join(standby, "postgresql.auto.conf"), "a") as f:
            f.write("primary_conninfo = 'host=127.0.0.1 port=%d user=postgres application_name=standby1'\n" % p1)
        with open(os.path.join(standby, "postgresql.conf"), "a") as f:
            # The settings came with the base backup; once promoted, the standby has no standby
            # of its own to wait for (or every commit would hang).
            f.write("\nport = %d\nsynchronous_standby_names = ''\n" % p2)
        as_postgres([pgb + "/pg_ctl", "-D", standby, "-l", os.path.join(tmp, "standby.log"), "-w", "start"], stdout=subprocess.DEVNULL)

        def psql(port, sql, db="postgres"):
            out = subprocess.run(["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db, "-At", "-F", "\t", "-c", sql],
                                 capture_output=True, text=True, check=True).stdout
            return [tuple(l.split("\t")) for l in out.splitlines() if l]

        for _ in range(100):
            if psql(p1, "SELECT sync_state FROM pg_stat_replication") == [("sync",)]:
                break
            time.sleep(0.1)
        else:
            raise SystemExit("the standby did not become synchronous")
        print("primary :%d, hot standby :%d (synchronous), proxy :%d" % (p1, p2, p0))

        conf = os.path.join(tmp, "nginx.conf")
        with open(conf, "w") as f:
            f.write("load_module %s;\ndaemon off;\nworker_processes 1;\npid %s/nginx.pid;\nerror_log %s/nginx.log;\n"
                    "events { worker_connections 256; }\n"
                    "stream {\n upstream pg { server 127.0.0.1:%d max_fails=1 fail_timeout=2s; server 127.0.0.1:%d backup; }\n"
                    " server { listen 127.0.0.1:%d; proxy_pass pg; proxy_connect_timeout 1s; }\n}\n"
                    % (stream_module(), tmp, tmp, p1, p2, p0))
        procs.append(subprocess.Popen([nginx_bin(), "-p", tmp, "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for _ in range(100):
            try:
                psql(p0, "SELECT 1")
                break
            except subprocess.CalledProcessError:
                time.sleep(0.1)
        psql(p0, "CREATE DATABASE zhunong")
        url = "postgres://postgres@127.0.0.1:%d/zhunong" % p0

        env = crash.load_env(url, tmp)
        # Moment-old reads (catalogue, public pages, reports) from the standby, straight to it.
        env["DATABASE_READ_URL"] = "postgres://postgres@127.0.0.1:%d/zhunong" % p2
        env["ZHUNONG_PAGE_CACHE_MS"] = "0"
        server = Server(env)
        server.start()
        base = "http://" + env["LEPTOS_SITE_ADDR"]

        # The standby serves reads (the catalogue's tables) while the primary takes the writes.
        t0 = time.time()
        on_standby = psql(p2, "SELECT COUNT(*) FROM listings", "zhunong")[0][0]
        print("reads on the hot standby: %s listings, %.0f ms for the query through psql" % (on_standby, (time.time() - t0) * 1000))

        coop = Api(base)
        assert coop.post("/api/auth/login", {"login": "coop.zhenghe@demo.zhunong.cn", "password": DEMO_PASSWORD})[0] == 200
        listing = json.loads(coop.post("/api/market/seller-desk", {})[1])["listings"]["items"][0]["id"]
        psql(p0, "UPDATE listings SET stock = 1000000, status = 'on_sale' WHERE id = %d" % listing, "zhunong")
        replica_failures = []
        replica_reads(base, psql, p0, p2, listing, replica_failures)

        placed, paid, lock = {}, set(), threading.Lock()
        failures = []  # times of failed checkouts
        successes = []  # (sent, answered) of acknowledged checkouts
        stop = threading.Event()

        def worker(n):
            buyer, seller = Api(base), Api(base)
            seller.cookie = coop.cookie
            i = 0
            while not stop.is_set():
                try:
                    if buyer.cookie is None:
                        if buyer.post("/api/auth/login", {"login": "buyer@demo.zhunong.cn", "password": DEMO_PASSWORD})[0] != 200:
                            time.sleep(0.05)
                            continue
                    i += 1
                    key = "drill-%d-%d-%d" % (os.getpid(), n, i)
                    sent = time.time()
                    status, body = buyer.post("/api/orders/checkout", {"idempotency_key": key, "items[0][listing_id]": listing, "items[0][quantity]": 1})
                    if status != 200:
                        with lock:
                            failures.append(time.time())
                        time.sleep(0.02)
                        continue
                    ids = [o["id"] for o in json.loads(body)["orders"]]
                    with lock:
                        successes.append((sent, time.time()))
                        for oid in ids:
                            placed[oid] = key
                    for oid in ids:
                        if seller.post("/api/orders/confirm-payment", {"order_id": oid, "reference": "DRILL-%d" % oid})[0] == 200:
                            with lock:
                                paid.add(oid)
                except Exception:  # a dropped connection mid-answer too: count it, go on
                    with lock:
                        failures.append(time.time())
                    time.sleep(0.02)

        threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(WORKERS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        with lock:
            before = (len(placed), len(paid))
        crash_at = time.time()
        as_postgres([pgb + "/pg_ctl", "-D", primary, "-m", "immediate", "stop"], stdout=subprocess.DEVNULL)
        down_at = time.time()
        as_postgres([pgb + "/pg_ctl", "-D", standby, "-w", "promote"], stdout=subprocess.DEVNULL)
        promoted_at = time.time()
        time.sleep(LOAD_SECONDS)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        server.stop()
        server = None

        # The first checkout sent once the primary was down and acknowledged.
        after_ok = [answered for sent, answered in successes if sent > down_at]
        back_at = min(after_ok) if after_ok else None
        failed = [t for t in failures if t >= crash_at]
        print("before the crash: %d orders, %d payments acknowledged" % before)
        print("primary stopped (immediate) in %.2f s; standby promoted %.2f s after it was down" % (down_at - crash_at, promoted_at - down_at))
        if back_at is None:
            print("no checkout succeeded after the failover")
        else:
            print("first checkout sent after the primary was down acknowledged %.2f s after it went down; %d checkouts failed from the stop on (answered 5xx or cut off)" % (back_at - down_at, len(failed)))
        print("after the failover: %d orders, %d payments acknowledged in all" % (len(placed), len(paid)))

        lost = list(replica_failures)
        status = {int(r[0]): r[1] for r in psql(p2, "SELECT id, status FROM orders", "zhunong")}
        posted = {int(r[0]): int(r[1]) for r in psql(p2,
                  "SELECT i.order_id, COUNT(*) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id "
                  "WHERE e.source_type = 'sale' GROUP BY i.order_id", "zhunong")}
        for oid in sorted(placed):
            if oid not in status:
                lost.append("order %d (acknowledged) is missing" % oid)
            elif oid in paid and status[oid] not in ("paid", "shipped", "delivered"):
                lost.append("order %d was acknowledged paid but is %s" % (oid, status[oid]))
            elif oid in paid and posted.get(oid, 0) == 0:
                lost.append("order %d was acknowledged paid but has no ledger rows" % oid)
        check = subprocess.run([BIN, "check-ledger"], env=env, capture_output=True, text=True)
        print("check-ledger on the promoted standby: %s" % (check.stdout.strip().splitlines()[-1] if check.stdout.strip() else check.stderr.strip()))
        if check.returncode != 0:
            lost.append("check-ledger failed")
        if back_at is None:
            lost.append("the app did not come back after the failover")
        if not before[0] or len(placed) <= before[0]:
            lost.append("the load acknowledged nothing before or after the failover: the drill proved nothing")
        for l in lost:
            print("LOST: " + l)
        print("failover drill: %s" % ("FAILED" if lost else "nothing acknowledged was lost; the app reconnected by itself"))
        return 1 if lost else 0
    finally:
        if server:
            server.stop()
        for p in procs:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        for d in (standby, primary):
            if os.path.exists(os.path.join(d, "postmaster.pid")):
                subprocess.run((["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []) + [pgb + "/pg_ctl", "-D", d, "-m", "immediate", "stop"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
