#!/usr/bin/env python3
"""kill -9 during an order-and-payment load, restart, and check that nothing acknowledged was lost.

For each backend (SQLite always; PostgreSQL when TEST_DATABASE_URL is set): a fresh database with
the demo data, the release server, and buyers placing orders while the co-op confirms their
payments. The server is killed with SIGKILL twice mid-load and restarted. Afterwards every order
the server acknowledged (200) must exist, every acknowledged payment must be recorded as paid with
its ledger rows, and `zhunong check-ledger` must pass.

    scripts/crash-test.py            (make crash; CI runs it after the test suite)

Standard library only. Exits non-zero on any loss.
"""
import json
import os
import random
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("ZHUNONG_BIN", os.path.join(TARGET, "release", "zhunong"))
DEMO_PASSWORD = "zhunong2020"
LOAD_SECONDS = float(os.environ.get("CRASH_LOAD_SECONDS", "3"))
WORKERS = 6


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Api:
    def __init__(self, base):
        self.base = base
        self.cookie = None

    def post(self, path, fields, timeout=10):
        data = urllib.parse.urlencode(fields).encode()
        req = urllib.request.Request(self.base + path, data=data, method="POST")
        req.add_header("Content-Type", "application/x-www-form-urlencoded")
        if self.cookie:
            req.add_header("Cookie", self.cookie)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                body = r.read().decode()
                for h in r.headers.get_all("Set-Cookie") or []:
                    if h.startswith("zn_session="):
                        self.cookie = h.split(";")[0]
                return r.status, body
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode(errors="replace")


class Server:
    def __init__(self, env):
        self.env = env
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([BIN, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = "http://" + self.env["LEPTOS_SITE_ADDR"]
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        raise SystemExit("the server did not come up")

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)


def load_env(db_url, tmp):
    """The environment of a load run: the database, a free port, quiet logs, no demo settings
    from the caller's shell; the demo data loaded into the database."""
    env = dict(os.environ)
    env.pop("ZHUNONG_SEED_DEMO", None)
    env.pop("ZHUNONG_ENV", None)
    env.update({
        "DATABASE_URL": db_url,
        "ZHUNONG_UPLOAD_DIR": os.path.join(tmp, "uploads"),
        "LEPTOS_SITE_ADDR": "127.0.0.1:%d" % free_port(),
        "ZHUNONG_LOG": "warn",
        # One demo buyer places every order, far more unpaid at once than a person may hold.
        "ZHUNONG_MAX_UNPAID_CHECKOUTS": "1000000",
    })
    subprocess.run([BIN, "seed", "--demo"], env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def run(name, db_url, query):
    env = load_env(db_url, tempfile.mkdtemp(prefix="zhunong-crash-"))
    server = Server(env)
    server.start()
    base = "http://" + env["LEPTOS_SITE_ADDR"]
    coop = Api(base)
    assert coop.post("/api/auth/login", {"login": "coop.zhenghe@demo.zhunong.cn", "password": DEMO_PASSWORD})[0] == 200
    status, body = coop.post("/api/market/seller-desk", {})
    listing = json.loads(body)["listings"]["items"][0]["id"]
    query("UPDATE listings SET stock = 1000000, status = 'on_sale' WHERE id = %d" % listing)

    placed, paid, lock = {}, set(), threading.Lock()
    stop = threading.Event()

    def worker(n):
        buyer = Api(base)
        seller = Api(base)
        seller.cookie = coop.cookie
        i = 0
        while not stop.is_set():
            try:
                if buyer.cookie is None:
                    if buyer.post("/api/auth/login", {"login": "buyer@demo.zhunong.cn", "password": DEMO_PASSWORD})[0] != 200:
                        time.sleep(0.05)
                        continue
                i += 1
                key = "crash-%s-%d-%d-%d" % (name, os.getpid(), n, i)
                status, body = buyer.post("/api/orders/checkout", {"idempotency_key": key, "items[0][listing_id]": listing, "items[0][quantity]": random.randint(1, 3)})
                if status != 200:
                    continue
                ids = [o["order_id"] if "order_id" in o else o["id"] for o in json.loads(body)["orders"]]
                with lock:
                    for oid in ids:
                        placed[oid] = key
                for oid in ids:
                    status, _ = seller.post("/api/orders/confirm-payment", {"order_id": oid, "reference": f"CRASH-{oid}"})
                    if status == 200:
                        with lock:
                            paid.add(oid)
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(WORKERS)]
    for t in threads:
        t.start()
    for crash in range(2):
        time.sleep(LOAD_SECONDS * random.uniform(0.6, 1.0))
        server.kill()
        print("%s: killed -9 (%d orders and %d payments acknowledged so far)" % (name, len(placed), len(paid)))
        time.sleep(0.5)
        server.start()
    time.sleep(LOAD_SECONDS / 2)
    stop.set()
    for t in threads:
        t.join(timeout=30)
    server.stop()

    lost = []
    status = {int(r[0]): r[1] for r in query("SELECT id, status FROM orders")}
    posted = {int(r[0]): int(r[1]) for r in query(
        "SELECT i.order_id, COUNT(*) FROM ledger_entries e JOIN order_items i ON i.id = e.order_item_id "
        "WHERE e.source_type = 'sale' GROUP BY i.order_id")}
    for oid in sorted(placed):
        if oid not in status:
            lost.append("order %d (acknowledged) is missing" % oid)
        elif oid in paid and status[oid] not in ("paid", "shipped", "delivered"):
            lost.append("order %d was acknowledged paid but is %s" % (oid, status[oid]))
        elif oid in paid and posted.get(oid, 0) == 0:
            lost.append("order %d was acknowledged paid but has no ledger rows" % oid)
    check = subprocess.run([BIN, "check-ledger"], env=env, capture_output=True, text=True)
    print("%s: %d orders and %d payments acknowledged; %s" % (name, len(placed), len(paid), check.stdout.strip().splitlines()[-1] if check.stdout else check.stderr.strip()))
    if check.returncode != 0:
        lost.append("check-ledger failed: " + check.stdout + check.stderr)
    if not placed or not paid:
        lost.append("the load acknowledged nothing: the test proved nothing")
    return lost


def main():
    if not os.path.exists(BIN):
        raise SystemExit("%s not found: build first (make build)" % BIN)
    failures = []
    tmp = tempfile.mkdtemp(prefix="zhunong-crash-db-")
    path = os.path.join(tmp, "crash.db")

    def sqlite_query(sql):
        con = sqlite3.connect(path)
        try:
            cur = con.execute(sql)
            rows = cur.fetchall()
            con.commit()
            return rows
        finally:
            con.close()

    failures += run("sqlite", "sqlite://" + path, sqlite_query)

    pg = os.environ.get("TEST_DATABASE_URL")
    if pg:
        name = "zn_crash_%d" % os.getpid()
        admin = pg.rsplit("/", 1)[0] + "/postgres"
        subprocess.run(["psql", admin, "-q", "-c", 'DROP DATABASE IF EXISTS "%s"' % name], check=True)
        subprocess.run(["psql", admin, "-q", "-c", 'CREATE DATABASE "%s"' % name], check=True)
        url = pg.rsplit("/", 1)[0] + "/" + name

        def pg_query(sql):
            out = subprocess.run(["psql", url, "-At", "-F", "\t", "-c", sql], capture_output=True, text=True, check=True).stdout
            return [tuple(line.split("\t")) for line in out.splitlines() if line and not line.startswith("UPDATE")] if not sql.startswith("UPDATE") else []

        try:
            failures += run("postgresql", url, pg_query)
        finally:
            subprocess.run(["psql", admin, "-q", "-c", 'DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name])
    else:
        print("postgresql: skipped (TEST_DATABASE_URL is not set)")
    for f in failures:
        print("LOST: " + f)
    print("crash test: %s" % ("FAILED" if failures else "nothing acknowledged was lost"))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
