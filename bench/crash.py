#!/usr/bin/env python3
"""Crash-consistency and graceful-shutdown check for Roster.

    python3 bench/crash.py --backend sqlite|postgres --mode kill|term --runs 20

Runs the release binary (a copy of target/release/roster, taken when the
script starts) against a fresh database, drives a mixed write load from
several threads (role changes, invitations, accepting invitations by
signing up from the link, direct workspace roles), then either SIGKILLs the
server at a random moment (--mode kill) or sends SIGTERM and keeps the load
going (--mode term). After each run it restarts the server and checks the
database: every acknowledged write is there (with its audit row), nothing
half-written, the invariants hold. In --mode term it also checks that every
request sent before SIGTERM got a whole answer, that the process exits by
itself with status 0, and that the outbox is delivered to the script's own
SMTP sink after the restart (counting duplicate deliveries).

Standard library only. All traffic goes to 127.0.0.1. Every loop is bounded
in time; servers started here are killed on exit (also on Ctrl-C).
"""

import argparse
import base64
import collections
import email
import email.policy
import hashlib
import html
import http.client
import json
import os
import random
import re
import shutil
import signal
import socket
import socketserver
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_BINARY = os.path.join(ROOT, "target", "release", "roster")
PG_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
PG_DB = "roster_crash"
# A request written this close to SIGTERM may still be unread in the socket
# when the drain closes idle connections (see check_term_requests).
UNREAD_WINDOW_S = 0.02
OWNER_EMAIL = "owner@crash.example"
PASSWORD = "crash-password-1"
ORG_ROLES = ("admin", "member", "viewer")
WS_ROLES = ("admin", "editor", "viewer", "none")
SECOND_WORKSPACE = "Crash B"
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
MAILBOX_RE = re.compile(r'<a href="([^"]*/invitations/([A-Za-z0-9_-]+))">Invitation link for ([^<]+)</a>')
LINK_RE = re.compile(r'https?://[^\s"<>]+?/(invitations|verify|password/reset)/([A-Za-z0-9_-]{20,})')
ROLE_CHANGE_ACTIONS = ("member.role_changed", "workspace.role_granted", "workspace.role_revoked")


def log(msg):
    print(msg, flush=True)


def sha256_hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------
# Processes we started, killed on every way out.

STARTED = []  # subprocess.Popen


def kill_all_started():
    for proc in STARTED:
        if proc.poll() is None:
            try:
                os.kill(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass


# --------------------------------------------------------------------------
# Databases


class SqliteDb:
    backend = "sqlite"

    def __init__(self, directory):
        self.path = os.path.join(directory, "roster.db")
        self.url = f"sqlite://{self.path}?mode=rwc"

    def query(self, sql):
        con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return [tuple(None if v is None else str(v) for v in row) for row in con.execute(sql)]
        finally:
            con.close()

    def execute(self, sql):
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.execute(sql)
            con.commit()
        finally:
            con.close()

    def create(self):
        pass

    def drop(self):
        pass


class PgDb:
    backend = "postgres"
    NULL = "<<NULL>>"

    def __init__(self):
        self.url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB

    @staticmethod
    def _psql(url, sql, timeout=120):
        out = subprocess.run(
            ["psql", url, "-X", "-q", "-A", "-t", "-F", "\x1f", "-R", "\x1e",
             "-P", "null=" + PgDb.NULL, "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, timeout=timeout)
        if out.returncode != 0:
            raise RuntimeError(f"psql failed ({out.returncode}): {out.stderr.strip()} for {sql[:200]}")
        return out.stdout

    def query(self, sql):
        text = self._psql(self.url, sql)
        rows = []
        for rec in text.split("\x1e"):
            rec = rec.strip("\n")
            if rec == "":
                continue
            rows.append(tuple(None if v == self.NULL else v for v in rec.split("\x1f")))
        return rows

    def execute(self, sql):
        self._psql(self.url, sql)

    def create(self):
        self._psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        self._psql(PG_ADMIN, f"CREATE DATABASE {PG_DB}")

    def drop(self):
        try:
            self._psql(PG_ADMIN, f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")
        except Exception as err:  # noqa: BLE001 - best effort at exit
            log(f"warning: could not drop {PG_DB}: {err}")


# --------------------------------------------------------------------------
# SMTP sink


class SmtpSink:
    """Speaks enough SMTP for lettre; records every delivered message."""

    def __init__(self, on_delivery):
        self.lock = threading.Lock()
        self.deliveries = []  # dicts: t, rcpt, subject, links [(kind, token)]
        self.on_delivery = on_delivery
        sink = self

        class Handler(socketserver.StreamRequestHandler):
            timeout = 30

            def reply(self, text):
                self.wfile.write(text.encode() + b"\r\n")
                self.wfile.flush()

            def handle(self):
                try:
                    self._handle()
                except (OSError, socket.timeout):
                    pass

            def _handle(self):
                self.reply("220 crash-sink ESMTP ready")
                rcpts = []
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline:
                    line = self.rfile.readline(65536)
                    if not line:
                        return
                    cmd = line.decode("latin-1").rstrip("\r\n")
                    verb = cmd.split(" ", 1)[0].upper()
                    if verb == "EHLO":
                        self.reply("250-crash-sink\r\n250-8BITMIME\r\n250 SIZE 10485760")
                    elif verb == "HELO":
                        self.reply("250 crash-sink")
                    elif verb == "MAIL":
                        rcpts = []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        m = re.search(r"<([^>]*)>", cmd)
                        rcpts.append(m.group(1) if m else cmd[8:].strip())
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 End data with <CR><LF>.<CR><LF>")
                        chunks = []
                        while time.monotonic() < deadline:
                            data = self.rfile.readline(1 << 20)
                            if not data:
                                return
                            if data in (b".\r\n", b".\n"):
                                break
                            if data.startswith(b".."):
                                data = data[1:]
                            chunks.append(data)
                        sink.record(rcpts, b"".join(chunks))
                        rcpts = []
                        self.reply("250 OK queued")
                    elif verb in ("RSET",):
                        rcpts = []
                        self.reply("250 OK")
                    elif verb == "NOOP":
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 Bye")
                        return
                    else:
                        self.reply("502 Command not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.2},
                                       daemon=True)
        self.thread.start()

    def record(self, rcpts, raw):
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        texts = []
        for part in msg.walk():
            if part.get_content_maintype() == "text":
                try:
                    texts.append(part.get_content())
                except Exception:  # noqa: BLE001 - odd encodings: fall back to raw
                    texts.append(raw.decode("latin-1"))
        links = sorted({(m.group(1), m.group(2)) for t in texts for m in LINK_RE.finditer(html.unescape(t))})
        entry = {"t": time.time(), "rcpt": ",".join(rcpts), "subject": str(msg.get("Subject", "")),
                 "links": links}
        with self.lock:
            self.deliveries.append(entry)
        self.on_delivery(entry)

    def snapshot(self):
        with self.lock:
            return list(self.deliveries)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------
# HTTP


class Unsent(Exception):
    """The connection could not be made: nothing of the request left."""


class NoAnswer(Exception):
    """The request (or part of it) went out, no complete answer came back."""


class RequestLog:
    """Every HTTP request of a run, for the SIGTERM rule."""

    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def add(self, entry):
        with self.lock:
            self.entries.append(entry)


class Http:
    """One client: its cookies and one keep-alive connection."""

    def __init__(self, port, cookies=None, timeout=45.0, reqlog=None):
        self.port = port
        self.cookies = dict(cookies or {})
        self.timeout = timeout
        self.conn = None
        self.conn_born = 0.0
        self.last_used = 0.0
        self.reqlog = reqlog

    def close(self):
        if self.conn is not None:
            try:
                self.conn.close()
            except OSError:
                pass
        self.conn = None

    # actix closes a keep-alive connection after 5 s without a request; like a
    # browser, do not reuse one that has been idle for a while.
    IDLE_REUSE_S = 3.0

    def _connect(self):
        if self.conn is not None and self.conn.sock is not None:
            if time.monotonic() - self.last_used < self.IDLE_REUSE_S:
                return False
        self.close()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.connect()
        except OSError as err:
            conn.close()
            raise Unsent(f"connect: {err.__class__.__name__}") from err
        self.conn = conn
        self.conn_born = time.monotonic()
        return True

    def request(self, method, path, form=None, what="", op=None):
        """Returns (status, headers, body). Raises Unsent or NoAnswer."""
        entry = {"what": what or path, "method": method, "t_start": time.monotonic(), "t_sent": None,
                 "t_done": None, "outcome": None, "error": "", "fresh_conn": False, "conn_age": None, "op": op}
        try:
            entry["fresh_conn"] = self._connect()
        except Unsent as err:
            entry["outcome"] = "refused"
            entry["error"] = str(err)
            entry["t_done"] = time.monotonic()
            if self.reqlog:
                self.reqlog.add(entry)
            raise
        entry["conn_age"] = time.monotonic() - self.conn_born
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Host": f"127.0.0.1:{self.port}", "Accept": "text/html"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        entry["t_send_start"] = time.monotonic()
        try:
            self.conn.request(method, path, body=body, headers=headers)
            entry["t_sent"] = time.monotonic()
            resp = self.conn.getresponse()
            data = resp.read()
            status = resp.status
            set_cookies = resp.headers.get_all("Set-Cookie") or []
            location = resp.headers.get("Location", "")
            if resp.will_close:
                self.close()
        except (OSError, http.client.HTTPException) as err:
            self.close()
            entry["outcome"] = "noanswer"
            entry["error"] = f"{err.__class__.__name__}: {err}"[:200]
            entry["t_done"] = time.monotonic()
            if self.reqlog:
                self.reqlog.add(entry)
            raise NoAnswer(entry["error"]) from err
        entry["outcome"] = "answered"
        entry["status"] = status
        entry["t_done"] = self.last_used = time.monotonic()
        if self.reqlog:
            self.reqlog.add(entry)
        for raw in set_cookies:
            first = raw.split(";", 1)[0]
            if "=" not in first:
                continue
            name, value = first.split("=", 1)
            attrs = raw.lower()
            if "max-age=0" in attrs or value == "":
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = value.strip()
        return status, {"location": location}, data.decode("utf-8", "replace")

    def get(self, path, what=""):
        return self.request("GET", path, what=what)

    def post(self, path, form, what="", op=None):
        return self.request("POST", path, form=form, what=what, op=op)


def csrf_of(page):
    m = CSRF_RE.search(page)
    return html.unescape(m.group(1)) if m else None


# --------------------------------------------------------------------------
# The server under test


class Server:
    def __init__(self, binary, env, workdir, port):
        self.binary = binary
        self.env = env
        self.workdir = workdir
        self.port = port
        self.proc = None
        self.starts = 0

    def start(self, deadline_s=90.0):
        """Starts the server; returns seconds until /readyz answered 200."""
        self.starts += 1
        logf = open(os.path.join(self.workdir, f"server-{self.starts:03d}.log"), "wb")
        t0 = time.monotonic()
        self.proc = subprocess.Popen([self.binary, "serve"], env=self.env, stdout=logf, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, cwd=self.workdir)
        logf.close()
        STARTED.append(self.proc)
        while time.monotonic() - t0 < deadline_s:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited during start-up with {self.proc.returncode}:\n"
                                   + self.log_tail())
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/readyz")
                resp = conn.getresponse()
                resp.read()
                conn.close()
                if resp.status == 200:
                    return time.monotonic() - t0
            except (OSError, http.client.HTTPException):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"the server did not become ready within {deadline_s:.0f} s:\n" + self.log_tail())

    def log_tail(self, lines=30):
        path = os.path.join(self.workdir, f"server-{self.starts:03d}.log")
        try:
            with open(path, "rb") as f:
                return b"\n".join(f.read().splitlines()[-lines:]).decode("utf-8", "replace")
        except OSError:
            return "(no log)"

    def stop(self, timeout=45.0):
        """SIGTERM and wait; returns (exit code or None, seconds)."""
        if self.proc is None or self.proc.poll() is not None:
            return (self.proc.returncode if self.proc else None), 0.0
        t0 = time.monotonic()
        os.kill(self.proc.pid, signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
            return None, time.monotonic() - t0
        return rc, time.monotonic() - t0


# --------------------------------------------------------------------------
# Shared state of a run set


class Links:
    """Invitation links the script knows (token hash -> token), and the pool
    of pending ones that accept operations take from."""

    def __init__(self):
        self.lock = threading.Lock()
        self.tokens = {}  # hash -> token
        self.pool = []  # tokens not yet tried this round
        self.taken = set()  # hashes an accept was tried with (until the next rebuild)

    def learn(self, token):
        h = sha256_hex(token)
        with self.lock:
            if h not in self.tokens:
                self.tokens[h] = token
                if h not in self.taken:
                    self.pool.append(token)

    def take(self, rng):
        with self.lock:
            if not self.pool:
                return None
            token = self.pool.pop(rng.randrange(len(self.pool)))
            self.taken.add(sha256_hex(token))
            return token

    def rebuild(self, pending_hashes):
        with self.lock:
            self.taken = set()
            self.pool = [self.tokens[h] for h in pending_hashes if h in self.tokens]

    def count(self):
        with self.lock:
            return len(self.pool)


class Op:
    __slots__ = ("kind", "thread", "key", "value", "extra", "outcome", "status", "error", "t_sent", "t_done",
                 "committed")

    def __init__(self, kind, thread, key, value, extra=None):
        self.kind = kind
        self.thread = thread
        self.key = key
        self.value = value
        self.extra = extra or {}
        self.outcome = "pending"  # ack | fail | inflight | unsent
        self.status = 0
        self.error = ""
        self.t_sent = None
        self.t_done = None
        self.committed = None  # for an op left without an answer: whether it was found in the database


class Crash:
    def __init__(self, args):
        self.args = args
        self.rng = random.Random(args.seed)
        self.workdir = tempfile.mkdtemp(prefix=f"roster-crash-{args.backend}-{args.mode}-")
        self.db = SqliteDb(self.workdir) if args.backend == "sqlite" else PgDb()
        self.links = Links()
        self.sink = None
        self.server = None
        self.violations = []
        self.runs = []
        self.email_seq = 0
        self.email_lock = threading.Lock()
        self.org_id = None
        self.ws_b = None
        self.workspaces = {}  # id -> title
        self.members = []  # membership ids under test
        self.user_of = {}  # membership id -> user id
        self.role_now = {}  # membership id -> stored role
        self.ws_now = {}  # (workspace id, membership id) -> stored direct role or 'none'
        self.seen_audit = set()
        self.stuck_mail = set()
        self.pending_before_restart = None
        self.owner_cookies = None
        self.owner_csrf = None
        self.tag = f"{int(time.time()) % 100000}"

    # ----- set-up -----------------------------------------------------

    def prepare_binary(self):
        src = self.args.binary
        if not os.path.exists(src):
            raise RuntimeError(f"{src} does not exist: run `cargo build --release` first")
        dst = os.path.join(self.workdir, "roster")
        shutil.copy2(src, dst)
        out = subprocess.run([dst, "--version"], capture_output=True, text=True, timeout=30)
        if out.returncode != 0:
            raise RuntimeError(f"the copied binary does not run: {out.stderr}")
        digest = hashlib.sha256(open(dst, "rb").read()).hexdigest()[:12]
        mtime = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(os.path.getmtime(src)))
        self.binary_info = f"{out.stdout.strip()} (built {mtime}, sha256 {digest})"
        log(f"binary: {self.binary_info}, copied to {dst}")
        return dst

    def free_port(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
        s.close()
        return port

    def new_email(self, what):
        with self.email_lock:
            self.email_seq += 1
            return f"{what}-{self.tag}-{self.email_seq:05d}@crash.example"

    def on_delivery(self, entry):
        for kind, token in entry["links"]:
            if kind == "invitations":
                self.links.learn(token)

    def setup(self):
        binary = self.prepare_binary()
        self.db.create()
        port = self.free_port()
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.workdir,
            "DATABASE_URL": self.db.url,
            "ROSTER_DATA_DIR": self.workdir,
            "ROSTER_BIND": f"127.0.0.1:{port}",
            "ROSTER_SECRET_KEY": base64.b64encode(os.urandom(64)).decode(),
            "RUST_LOG": self.args.rust_log,
        }
        if self.args.mode == "term":
            self.sink = SmtpSink(self.on_delivery)
            env.update({"ROSTER_SMTP_HOST": "127.0.0.1", "ROSTER_SMTP_PORT": str(self.sink.port),
                        "ROSTER_SMTP_TLS": "none"})
        self.port = port
        self.server = Server(binary, env, self.workdir, port)
        t = self.server.start()
        log(f"server up on 127.0.0.1:{port} in {t:.2f} s ({self.db.backend}, work dir {self.workdir})")

        owner = Http(port)
        status, _, page = owner.get("/signup")
        csrf = csrf_of(page)
        status, _, page = owner.post("/signup", {"csrf_token": csrf, "name": "Crash Owner", "email": OWNER_EMAIL,
                                                 "password": PASSWORD, "org_name": "Crash Co", "org": "new"})
        if status != 200 or "Check your email" not in page:
            raise RuntimeError(f"owner sign-up failed: {status}")
        # The address counts as confirmed (only a confirmed inviter sends
        # invitations), as if its link had been followed; then sign in.
        self.db.execute(f"UPDATE users SET email_verified_at = 1 WHERE email_normalized = '{OWNER_EMAIL}'")
        status, _, page = owner.get("/signin")
        status, hdr, _ = owner.post("/signin", {"csrf_token": csrf_of(page), "email": OWNER_EMAIL,
                                                "password": PASSWORD})
        if status != 303:
            raise RuntimeError(f"owner sign-in failed: {status} {hdr}")
        rows = self.db.query(f"SELECT org_id FROM memberships WHERE role = 'owner' "
                             f"AND email_normalized = '{OWNER_EMAIL}'")
        if len(rows) != 1:
            raise RuntimeError(f"the owner's organization: {rows}")
        self.org_id = rows[0][0]
        status, _, page = owner.get(f"/orgs/{self.org_id}/members")
        self.owner_csrf = csrf_of(page)
        status, hdr, _ = owner.post(f"/orgs/{self.org_id}/workspaces",
                                    {"csrf_token": self.owner_csrf, "title": SECOND_WORKSPACE, "description": ""})
        if status != 303:
            raise RuntimeError(f"creating the workspace failed: {status}")

        # Members: invite them in one go and accept every link by signing up.
        member_emails = [self.new_email("member") for _ in range(self.args.members)]
        self.invite_many(owner, member_emails, "member")
        tokens = self.wait_links(owner, member_emails)
        for i, addr in enumerate(member_emails):
            status, _ = self.accept_link(tokens[addr], f"Member {i:03d}")
            if status != 303:
                raise RuntimeError(f"accepting the invitation of {addr} answered {status}")
        # A pool of pending invitations for the accept operations.
        pool_emails = [self.new_email("pool") for _ in range(self.args.pool)]
        self.invite_many(owner, pool_emails, "viewer")
        self.wait_links(owner, pool_emails)
        self.owner_cookies = dict(owner.cookies)
        owner.close()

        for wid, title in self.db.query(f"SELECT id, title FROM workspaces WHERE org_id = '{self.org_id}'"):
            self.workspaces[wid] = title
            if title == SECOND_WORKSPACE:
                self.ws_b = wid
        rows = self.db.query(f"SELECT m.id, m.user_id, m.role FROM memberships m WHERE m.org_id = '{self.org_id}' "
                             f"AND m.role <> 'owner' AND m.email_normalized LIKE 'member-%' ORDER BY m.email_normalized")
        self.members = [r[0] for r in rows]
        for mid, uid, role in rows:
            self.user_of[mid] = uid
            self.role_now[mid] = role
            for wid in self.workspaces:
                self.ws_now[(wid, mid)] = "none"
        if len(self.members) != self.args.members or len(self.workspaces) != 2:
            raise RuntimeError(f"set-up found {len(self.members)} members and {len(self.workspaces)} workspaces")
        self.refresh_pool()
        self.seen_audit = {r[0] for r in self.db.query(
            "SELECT id FROM audit_events WHERE action IN ('" + "','".join(ROLE_CHANGE_ACTIONS) + "')")}
        log(f"set-up: organization {self.org_id}, {len(self.members)} members, workspaces "
            f"{', '.join(self.workspaces.values())}, {self.links.count()} pending invitation links")

    def invite_many(self, owner, emails, role):
        for i in range(0, len(emails), 100):
            batch = emails[i:i + 100]
            status, _, page = owner.post(f"/orgs/{self.org_id}/invitations",
                                         {"csrf_token": self.owner_csrf, "emails": "\n".join(batch), "role": role,
                                          "workspace_id": "", "workspace_role": "editor"})
            if status != 200 or page.count(">invited<") < len(batch):
                raise RuntimeError(f"inviting {len(batch)} addresses answered {status}")

    def mailbox_links(self, client):
        status, _, page = client.get(f"/orgs/{self.org_id}/mailbox", what="mailbox")
        found = {}
        if status == 200:
            for m in MAILBOX_RE.finditer(html.unescape(page)):
                found[m.group(3).strip().lower()] = m.group(2)
        return found

    def wait_links(self, owner, emails, timeout=60.0):
        """The token of each address's invitation: from the Mailbox page, or
        (with SMTP) from what reached the sink."""
        want = {e.lower() for e in emails}
        got = {}
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.sink is None:
                for addr, token in self.mailbox_links(owner).items():
                    if addr in want:
                        got[addr] = token
            else:
                for d in self.sink.snapshot():
                    for kind, token in d["links"]:
                        if kind == "invitations" and d["rcpt"].lower() in want:
                            got[d["rcpt"].lower()] = token
            if len(got) == len(want):
                for token in got.values():
                    self.links.learn(token)
                return got
            time.sleep(0.3)
        raise RuntimeError(f"only {len(got)} of {len(want)} invitation links arrived within {timeout:.0f} s")

    def accept_link(self, token, name, reqlog=None, op=None):
        """Signs a new person up from an invitation link; returns the status
        and Location of the POST (None, "") when the landing page did not
        answer 200 (then nothing was written). Raises Unsent when the POST
        never left (the landing page failed), NoAnswer when it went out and
        no answer came back."""
        guest = Http(self.port, reqlog=reqlog, timeout=self.args.http_timeout)
        try:
            try:
                status, _, page = guest.get(f"/invitations/{token}", what="accept-landing")
            except (Unsent, NoAnswer) as err:
                raise Unsent(f"landing page: {err}") from err
            if status != 200:
                return status, ""
            csrf = csrf_of(page)
            if op is not None:
                op.t_sent = time.monotonic()
            status, hdr, _ = guest.post(f"/invitations/{token}/signup",
                                        {"csrf_token": csrf, "name": name, "password": PASSWORD}, what="accept",
                                        op=op)
            return status, hdr["location"]
        finally:
            guest.close()

    def refresh_owner_session(self, number):
        """One page view with the Owner's cookie, so its idle timer restarts
        (the load threads work on copies)."""
        owner = Http(self.port, cookies=self.owner_cookies)
        try:
            status, _, page = owner.get(f"/orgs/{self.org_id}/members")
            if status == 200 and csrf_of(page) == self.owner_csrf:
                self.owner_cookies = dict(owner.cookies)
            else:
                self.violation(f"the Owner's session no longer works after the restart (status {status})", number)
        finally:
            owner.close()

    def refresh_pool(self):
        pending = [r[0] for r in self.db.query(
            f"SELECT token_hash FROM invitations WHERE org_id = '{self.org_id}' AND state = 'pending'")]
        self.links.rebuild(pending)

    # ----- the load ---------------------------------------------------

    def worker(self, index, members, stop, hard_stop, ops, reqlog, rng):
        owner = Http(self.port, cookies=self.owner_cookies, reqlog=reqlog, timeout=self.args.http_timeout)
        believed = {m: self.role_now[m] for m in members}
        believed_ws = {(w, m): self.ws_now[(w, m)] for w in self.workspaces for m in members}
        wids = sorted(self.workspaces)
        n = 0
        while not stop.is_set() and time.monotonic() < hard_stop:
            n += 1
            pick = rng.random()
            op = None
            try:
                if pick < 0.35:
                    m = rng.choice(members)
                    new = rng.choice([r for r in ORG_ROLES if r != believed[m]])
                    op = Op("role", index, m, new)
                    ops.append(op)
                    status, hdr, _ = owner.post(f"/orgs/{self.org_id}/members/{m}/role",
                                                {"csrf_token": self.owner_csrf, "role": new}, what="role", op=op)
                    op.status = status
                    if status == 303 and hdr["location"] == f"/orgs/{self.org_id}/members":
                        op.outcome = "ack"
                        believed[m] = new
                    else:
                        op.outcome = "fail"
                elif pick < 0.65:
                    w = rng.choice(wids)
                    m = rng.choice(members)
                    new = rng.choice([r for r in WS_ROLES if r != believed_ws[(w, m)]])
                    op = Op("ws", index, (w, m), new)
                    ops.append(op)
                    status, hdr, _ = owner.post(f"/orgs/{self.org_id}/workspaces/{w}/members/{m}/role",
                                                {"csrf_token": self.owner_csrf, "role": new}, what="ws", op=op)
                    op.status = status
                    if status == 303 and hdr["location"] == f"/orgs/{self.org_id}/workspaces/{w}/members":
                        op.outcome = "ack"
                        believed_ws[(w, m)] = new
                    else:
                        op.outcome = "fail"
                elif pick < 0.83 or self.links.count() == 0:
                    addr = self.new_email("inv")
                    role = rng.choice(ORG_ROLES)
                    into = rng.random() < 0.3
                    ws_id = self.ws_b if into else ""
                    ws_role = rng.choice(("editor", "viewer")) if into else ""
                    op = Op("invite", index, addr, role, {"workspace_id": ws_id, "workspace_role": ws_role})
                    ops.append(op)
                    status, _, page = owner.post(f"/orgs/{self.org_id}/invitations",
                                                 {"csrf_token": self.owner_csrf, "emails": addr, "role": role,
                                                  "workspace_id": ws_id, "workspace_role": ws_role or "editor"},
                                                 what="invite", op=op)
                    op.status = status
                    if status == 200 and ">invited<" in page:
                        op.outcome = "ack"
                        op.t_done = time.monotonic()
                        if self.sink is None:
                            found = self.mailbox_links(owner)
                            if addr in found:
                                self.links.learn(found[addr])
                    else:
                        op.outcome = "fail"
                else:
                    token = self.links.take(rng)
                    if token is None:
                        continue
                    op = Op("accept", index, sha256_hex(token), "", {"token": token})
                    ops.append(op)
                    status, location = self.accept_link(token, f"Joiner {index}-{n}", reqlog=reqlog, op=op)
                    op.status = status
                    op.outcome = "ack" if status == 303 and location == f"/orgs/{self.org_id}" else "fail"
            except Unsent as err:
                if op is not None and op.outcome == "pending":
                    op.outcome = "unsent"
                    op.error = str(err)
                time.sleep(0.02)
            except NoAnswer as err:
                if op is not None and op.outcome == "pending":
                    # The mailbox GET after an acknowledged invite may fail; the invite stays acknowledged.
                    op.outcome = "inflight"
                    op.error = str(err)
                time.sleep(0.02)
            except Exception as err:  # noqa: BLE001 - a bug in this script: record, keep going
                if op is not None and op.outcome == "pending":
                    op.outcome = "inflight"
                    op.error = f"script error {err!r}"
                self.violation(f"script error in worker {index}: {traceback.format_exc(limit=3)}")
                time.sleep(0.05)
            finally:
                if op is not None and op.t_done is None:
                    op.t_done = time.monotonic()
        owner.close()

    def violation(self, text, run=None):
        self.violations.append(text if run is None else f"run {run}: {text}")

    # ----- one run ----------------------------------------------------

    def run(self, number):
        args = self.args
        nthreads = args.threads
        parts = [self.members[i::nthreads] for i in range(nthreads)]
        ops = [[] for _ in range(nthreads)]
        reqlog = RequestLog()
        stop = threading.Event()
        hard_stop = time.monotonic() + 120
        threads = []
        for i in range(nthreads):
            rng = random.Random(self.rng.random())
            t = threading.Thread(target=self.worker, args=(i, parts[i], stop, hard_stop, ops[i], reqlog, rng),
                                 daemon=True)
            threads.append(t)
        duration = self.rng.uniform(args.min_load, args.max_load)
        for t in threads:
            t.start()
        time.sleep(duration)
        proc = self.server.proc
        before_violations = len(self.violations)
        info = {"run": number, "load_s": round(duration, 2)}
        t_event = time.monotonic()
        if args.mode == "kill":
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            stop.set()
        else:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                rc = proc.wait(timeout=args.term_timeout)
                info["exit_s"] = round(time.monotonic() - t_event, 2)
                info["exit_code"] = rc
                if rc != 0:
                    self.violation(f"after SIGTERM the server exited with status {rc}:\n{self.server.log_tail(15)}",
                                   number)
            except subprocess.TimeoutExpired:
                info["exit_s"] = None
                info["exit_code"] = None
                self.violation(f"the server did not exit within {args.term_timeout:.0f} s of SIGTERM", number)
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=30)
            stop.set()
        join_deadline = time.monotonic() + args.http_timeout + 15
        for t in threads:
            t.join(timeout=max(0.1, join_deadline - time.monotonic()))
        if any(t.is_alive() for t in threads):
            self.violation("load threads did not finish in time (a request hung)", number)
        all_ops = [op for per in ops for op in per]

        if args.mode == "term":
            try:  # the server has exited cleanly: read what the outbox still holds
                self.pending_before_restart = int(self.db.query(
                    "SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL")[0][0])
            except Exception:  # noqa: BLE001 - e.g. SQLite WAL files gone: read it after the restart instead
                self.pending_before_restart = None
        restart = self.server.start()
        info["restart_s"] = round(restart, 3)
        if args.mode == "term":
            info.update(self.check_mail(number))
        info.update(self.check_db(number, ops, all_ops))
        # The SIGTERM rule: every request sent before the signal got an answer.
        if args.mode == "term":
            info.update(self.check_term_requests(reqlog, t_event, number))
        self.refresh_pool()
        self.refresh_owner_session(number)
        info["violations"] = len(self.violations) - before_violations
        self.runs.append(info)
        self.print_run(info)

    def check_term_requests(self, reqlog, t_term, number):
        before_bad = []
        after = collections.Counter()
        before_ok = 0
        for e in reqlog.entries:
            sent = e["t_sent"] if e["t_sent"] is not None else e.get("t_send_start")
            if e["outcome"] == "refused":
                if e["t_start"] >= t_term:
                    after["refused"] += 1
                else:
                    after["refused_before"] += 1
                continue
            if sent is not None and sent < t_term:
                if e["outcome"] == "answered":
                    before_ok += 1
                else:
                    before_bad.append(e)
            else:
                after["answered" if e["outcome"] == "answered" else "no_answer"] += 1
        dropped_unprocessed = 0
        unread = 0
        for e in before_bad:
            op = e.get("op")
            ahead = t_term - (e["t_sent"] or e["t_send_start"])
            if op is None:
                fate = "a read"
            elif op.committed is True:
                fate = "it WAS committed (the answer was lost)"
            elif op.committed is False:
                fate = "it was not committed (dropped unprocessed)"
                dropped_unprocessed += 1
            else:
                fate = "whether it committed is unknown"
            what = e["what"] if op is None else f"{e['what']} {op.key} -> {op.value or 'accept'}"
            text = (f"{e['method']} {what} sent {1000 * ahead:.1f} ms "
                    f"before SIGTERM got no complete answer ({e['error']}; "
                    f"{'fresh' if e['fresh_conn'] else 'keep-alive'} connection, {e['conn_age']:.2f} s old); {fate}")
            # A request still unread in the socket when the server begins
            # its drain is not in flight: the drain closes connections with
            # no request in progress (HTTP/1.1 lets a server close an idle
            # connection at any time; a client cannot retry a POST blindly,
            # which is why a load balancer stops sending before SIGTERM).
            # Allowed only when nothing was applied and it came within
            # UNREAD_WINDOW_S of the signal.
            if (op is None or op.committed is False) and ahead < UNREAD_WINDOW_S:
                unread += 1
                log(f"run {number}: note: {text}")
            else:
                self.violation(text, number)
        if after["refused_before"]:
            self.violation(f"{after['refused_before']} connections were refused before SIGTERM", number)
        return {"term_before_answered": before_ok, "term_before_unanswered": len(before_bad),
                "term_before_unanswered_fresh_conn": sum(1 for e in before_bad if e["fresh_conn"]),
                "term_before_unanswered_writes": sum(1 for e in before_bad if e.get("op") is not None),
                "term_before_dropped_unprocessed": dropped_unprocessed,
                "term_before_unread_at_signal": unread,
                "term_after_answered": after["answered"], "term_after_no_answer": after["no_answer"],
                "term_after_refused": after["refused"]}

    def check_mail(self, number):
        """After the restart the outbox must drain into the sink."""
        t0 = time.monotonic()
        detail = {"mail_pending_at_restart": self.pending_before_restart}
        while True:
            rows = self.db.query("SELECT id, kind, recipient, sent_at, locked_until, attempts, last_error FROM outbox")
            invs = self.db.query("SELECT id, token_hash, message_id FROM invitations")
            deliveries = self.sink.snapshot()
            by_hash = collections.Counter()
            for d in deliveries:
                for kind, token in d["links"]:
                    if kind == "invitations":
                        by_hash[sha256_hex(token)] += 1
            unsent = [r for r in rows if r[3] is None]
            inv_of_msg = {r[2]: r for r in invs if r[2]}
            undelivered = [r for r in rows if r[1] == "invitation" and r[0] in inv_of_msg
                           and by_hash[inv_of_msg[r[0]][1]] == 0]
            if not unsent and not undelivered:
                self.stuck_mail = set()
                break
            waiting = ({r[0] for r in unsent} | {r[0] for r in undelivered}) - self.stuck_mail
            if not waiting:  # only messages an earlier run already reported as stuck
                detail["mail_stuck_new"] = 0
                detail["mail_stuck_carried"] = len(self.stuck_mail & ({r[0] for r in unsent} | {r[0] for r in undelivered}))
                break
            if time.monotonic() - t0 > self.args.mail_timeout:
                now = int(time.time())
                leased = [r for r in unsent if int(r[4]) > now]
                stuck_ids = {r[0] for r in unsent} | {r[0] for r in undelivered}
                new_stuck = stuck_ids - self.stuck_mail
                detail["mail_stuck_new"] = len(new_stuck)
                detail["mail_stuck_carried"] = len(stuck_ids & self.stuck_mail)
                self.stuck_mail = stuck_ids
                if not new_stuck:
                    break  # only messages already reported by an earlier run
                self.violation(
                    f"{len(new_stuck)} new (of {len(unsent)}) outbox messages not sent and {len(undelivered)} "
                    f"invitation messages not "
                    f"delivered {self.args.mail_timeout:.0f} s after the restart; {len(leased)} of them still leased "
                    f"(locked_until up to {max((int(r[4]) for r in leased), default=0) - now} s ahead); e.g. "
                    + "; ".join(f"{r[1]} to {r[2]} attempts={r[5]} locked_until=+{int(r[4]) - now}s err={r[6]}"
                                for r in (unsent or undelivered)[:3]), number)
                break
            time.sleep(0.25)
        drain = time.monotonic() - t0
        # Duplicates: one outbox message delivered more than once.
        keys = collections.Counter()
        for d in deliveries:
            keys[(d["rcpt"].lower(), tuple(d["links"]) or d["subject"])] += 1
        dup_messages = sum(1 for c in keys.values() if c > 1)
        dup_extra = sum(c - 1 for c in keys.values() if c > 1)
        sent_marked_not = 0
        delivered_hashes = set(by_hash)
        for r in rows:
            inv = inv_of_msg.get(r[0])
            if inv and r[3] is None and inv[1] in delivered_hashes:
                sent_marked_not += 1
        detail.update({"mail_messages": len(rows), "mail_delivered": len(deliveries),
                       "mail_duplicate_messages": dup_messages, "mail_duplicate_deliveries": dup_extra,
                       "mail_drain_s": round(drain, 2), "mail_delivered_not_marked": sent_marked_not})
        return detail

    def wait_leases(self):
        """Waits (up to the outbox lease and a margin) for messages left
        leased by a stopped worker, then counts duplicate deliveries."""
        limit = 600 + 60
        log(f"waiting up to {limit} s for {len(self.stuck_mail)} leased messages to be delivered")
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit:
            if not self.db.query("SELECT id FROM outbox WHERE sent_at IS NULL"):
                break
            time.sleep(5)
        left = len(self.db.query("SELECT id FROM outbox WHERE sent_at IS NULL"))
        keys = collections.Counter((d["rcpt"].lower(), tuple(d["links"]) or d["subject"])
                                   for d in self.sink.snapshot())
        self.lease_wait = {"waited_s": round(time.monotonic() - t0, 1), "still_unsent": left,
                           "duplicate_messages": sum(1 for c in keys.values() if c > 1)}
        log(f"after the leases: {self.lease_wait}")
        if self.lease_wait["duplicate_messages"]:
            self.violation(f"{self.lease_wait['duplicate_messages']} messages were delivered more than once "
                           f"once the leases ran out")

    # ----- checks -----------------------------------------------------

    def check_db(self, number, ops_by_thread, all_ops):
        q = self.db.query
        out = {}
        v0 = len(self.violations)

        def bad(text):
            self.violation(text, number)

        if self.db.backend == "sqlite":
            res = q("PRAGMA integrity_check")
            ok = len(res) == 1 and res[0][0] == "ok"
            out["integrity_ok"] = ok
            if not ok:
                bad(f"PRAGMA integrity_check: {res[:5]}")
            fk = q("PRAGMA foreign_key_check")
            if fk:
                bad(f"PRAGMA foreign_key_check: {len(fk)} rows, e.g. {fk[:3]}")
        else:
            out["integrity_ok"] = None

        org = self.org_id
        roles = {r[0]: r[1] for r in q(f"SELECT id, role FROM memberships WHERE org_id = '{org}'")}
        ws_rows = q(f"SELECT workspace_id, user_id, role FROM workspace_members WHERE org_id = '{org}'")
        ws_direct = {(w, u): r for w, u, r in ws_rows}
        audit = q("SELECT id, action, target_id, before_value, after_value FROM audit_events WHERE action IN ('"
                  + "','".join(ROLE_CHANGE_ACTIONS) + "')")
        new_audit = [a for a in audit if a[0] not in self.seen_audit]
        invs = q("SELECT id, email_normalized, role, state, accepted_by, token_hash, message_id, workspace_id, "
                 f"workspace_role FROM invitations WHERE org_id = '{org}'")
        inv_by_email = {r[1]: r for r in invs}
        inv_by_hash = {r[5]: r for r in invs}
        audit_inv = collections.Counter((r[0], r[1]) for r in q(
            "SELECT action, target_id FROM audit_events WHERE action IN ('invitation.sent', 'invitation.accepted')"))
        outbox_ids = {r[0] for r in q("SELECT id FROM outbox")}
        members_of = {r[0] for r in q(f"SELECT user_id FROM memberships WHERE org_id = '{org}'")}
        membership_role = {r[0]: r[1] for r in q(f"SELECT user_id, role FROM memberships WHERE org_id = '{org}'")}
        user_ids = {r[0] for r in q("SELECT id FROM users")}
        title_to_ws = {t: w for w, t in self.workspaces.items()}

        acked = collections.Counter()
        inflight = collections.Counter()
        committed = collections.Counter()
        failed = collections.Counter()
        failed_status = collections.Counter()
        for op in all_ops:
            if op.outcome == "ack":
                acked[op.kind] += 1
            elif op.outcome == "inflight":
                inflight[op.kind] += 1
            elif op.outcome == "fail":
                failed[op.kind] += 1
                failed_status[op.status] += 1

        # Role changes and workspace roles: per target, the stored value is the
        # last acknowledged one or that of a request left without an answer after it.
        new_role_audit = collections.defaultdict(list)  # user -> [after]
        new_ws_audit = collections.defaultdict(list)  # (ws, user) -> [after role]
        for aid, action, target, before, after in new_audit:
            if action == "member.role_changed":
                new_role_audit[target].append(after)
            else:
                text = after if after is not None else before
                title, _, role = (text or "").rpartition(": ")
                new_ws_audit[(title_to_ws.get(title), target)].append(role if after is not None else "none")

        by_target = collections.defaultdict(list)
        for per in ops_by_thread:
            for op in per:
                if op.kind in ("role", "ws"):
                    by_target[(op.kind, op.key)].append(op)
        touched_users_role = set()
        touched_ws = set()
        for (kind, key), seq in by_target.items():
            if kind == "role":
                mid = key
                uid = self.user_of[mid]
                touched_users_role.add(uid)
                initial = self.role_now[mid]
                stored = roles.get(mid)
                audit_after = new_role_audit.get(uid, [])
                label = f"member {mid}"
            else:
                wid, mid = key
                uid = self.user_of[mid]
                touched_ws.add((wid, uid))
                initial = self.ws_now[key]
                stored = ws_direct.get((wid, uid), "none")
                audit_after = new_ws_audit.get((wid, uid), [])
                label = f"member {mid} in workspace {self.workspaces[wid]}"
            last_ack = max((i for i, op in enumerate(seq) if op.outcome == "ack"), default=-1)
            base = seq[last_ack].value if last_ack >= 0 else initial
            tail_inflight = [op for op in seq[last_ack + 1:] if op.outcome == "inflight"]
            candidates = {base} | {op.value for op in tail_inflight}
            if stored not in candidates:
                tail_failed = [f"{op.value} ({op.status})" for op in seq[last_ack + 1:] if op.outcome == "fail"]
                bad(f"{kind}: {label} is {stored!r}; the last acknowledged value is {base!r} "
                    f"(request #{last_ack + 1} of {len(seq)}), in flight after it: "
                    f"{[op.value for op in tail_inflight]}, answered with an error after it: {tail_failed}")
            if stored != base and stored in {op.value for op in tail_inflight}:
                committed[kind] += 1
            for op in tail_inflight:
                op.committed = stored == op.value and stored != base
            # The audit rows written this run for this target.
            want = collections.Counter(op.value for op in seq if op.outcome == "ack")
            maybe = collections.Counter(op.value for op in seq if op.outcome == "inflight")
            have = collections.Counter(audit_after)
            missing = want - have
            extra = have - want - maybe
            if missing:
                bad(f"{kind}: {label}: no audit row for acknowledged change(s) to {dict(missing)} "
                    f"(acknowledged {dict(want)}, audit rows {dict(have)})")
            if extra:
                bad(f"{kind}: {label}: audit rows for changes nobody acknowledged or sent: {dict(extra)}")
        for uid in new_role_audit:
            if uid not in touched_users_role:
                bad(f"role: {len(new_role_audit[uid])} new member.role_changed rows about user {uid}, who was not changed")
        for (wid, uid) in new_ws_audit:
            if (wid, uid) not in touched_ws:
                bad(f"ws: new workspace role audit rows about user {uid} in {wid}, not changed this run")

        # Invitations.
        for op in all_ops:
            if op.kind != "invite" or op.outcome not in ("ack", "inflight", "fail"):
                continue
            row = inv_by_email.get(op.key)
            if op.outcome == "ack":
                if row is None:
                    bad(f"invite: the acknowledged invitation of {op.key} ({op.value}) is missing")
                    continue
                if row[2] != op.value or (row[7] or "") != op.extra["workspace_id"] or \
                        (row[8] or "") != op.extra["workspace_role"]:
                    bad(f"invite: {op.key} stored as {row[2]}/{row[7]}/{row[8]}, acknowledged as {op.value}/"
                        f"{op.extra}")
            elif op.outcome == "inflight":
                op.committed = row is not None
                committed["invite"] += row is not None
            elif op.outcome == "fail" and row is not None:
                bad(f"invite: {op.key} answered {op.status} but the invitation was stored")
        # Accepts.
        for op in all_ops:
            if op.kind != "accept" or op.outcome not in ("ack", "inflight"):
                continue
            row = inv_by_hash.get(op.key)
            if row is None:
                bad(f"accept: the invitation behind an accepted link is gone ({op.key[:12]})")
                continue
            if op.outcome == "ack":
                if row[3] != "accepted" or not row[4] or row[4] not in members_of:
                    bad(f"accept: acknowledged acceptance of {row[1]} but state={row[3]}, accepted_by={row[4]}, "
                        f"membership {'present' if row[4] in members_of else 'missing'}")
            else:
                op.committed = row[3] == "accepted"
                committed["accept"] += row[3] == "accepted"

        # Invariants, over the whole database.
        for oid, n in q("SELECT o.id, (SELECT COUNT(*) FROM memberships m WHERE m.org_id = o.id AND m.role = 'owner') "
                        "FROM organizations o"):
            if int(n) != 1:
                bad(f"invariant: organization {oid} has {n} Owners")
        for wid, n in q("SELECT w.id, (SELECT COUNT(*) FROM workspace_members x WHERE x.workspace_id = w.id "
                        "AND x.role = 'owner') FROM workspaces w"):
            if int(n) != 1:
                bad(f"invariant: workspace {wid} has {n} owners")
        n = q("SELECT COUNT(*) FROM memberships m WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.id = m.user_id)")
        if int(n[0][0]):
            bad(f"invariant: {n[0][0]} memberships without their user")
        n = q("SELECT COUNT(*) FROM users u WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.user_id = u.id)")
        if int(n[0][0]):
            bad(f"invariant: {n[0][0]} users without any membership (a half-done sign-up)")
        for r in invs:
            iid, addr, role, state, by, _h, msg, wid, wrole = r
            if audit_inv[("invitation.sent", iid)] != 1:
                bad(f"invariant: invitation {addr} has {audit_inv[('invitation.sent', iid)]} invitation.sent audit rows")
            if not msg or msg not in outbox_ids:
                bad(f"invariant: invitation {addr} has no outbox message ({msg})")
            if state == "accepted":
                if not by or by not in members_of:
                    bad(f"invariant: accepted invitation {addr} without its membership (accepted_by={by})")
                elif membership_role.get(by) is None:
                    bad(f"invariant: accepted invitation {addr}: no membership role")
                if by not in user_ids:
                    bad(f"invariant: accepted invitation {addr}: user {by} missing")
                if audit_inv[("invitation.accepted", iid)] != 1:
                    bad(f"invariant: accepted invitation {addr} has {audit_inv[('invitation.accepted', iid)]} "
                        f"invitation.accepted audit rows")
                if wid and ws_direct.get((wid, by)) is None:
                    bad(f"invariant: accepted workspace invitation {addr} without its workspace role")
            elif state == "pending":
                if audit_inv[("invitation.accepted", iid)]:
                    bad(f"invariant: pending invitation {addr} has an invitation.accepted audit row")
        pending_with_user = q("SELECT i.email_normalized FROM invitations i WHERE i.state = 'pending' AND EXISTS "
                              "(SELECT 1 FROM users u WHERE u.email_normalized = i.email_normalized)")
        if pending_with_user:
            bad(f"invariant: {len(pending_with_user)} pending invitations whose address already has an account "
                f"(half-done acceptance), e.g. {pending_with_user[0][0]}")
        stored_counts = {(o, r): int(n) for o, r, n in q("SELECT org_id, role, members FROM member_counts")}
        real_counts = {(o, r): int(n) for o, r, n in q("SELECT org_id, role, COUNT(*) FROM memberships "
                                                      "GROUP BY org_id, role")}
        for key in set(stored_counts) | set(real_counts):
            if stored_counts.get(key, 0) != real_counts.get(key, 0):
                bad(f"invariant: member_counts {key} = {stored_counts.get(key, 0)}, real {real_counts.get(key, 0)}")
        stored_waiting = {o: int(n) for o, n in q("SELECT org_id, waiting FROM invitation_counts")}
        real_waiting = {o: int(n) for o, n in q("SELECT org_id, COUNT(*) FROM invitations "
                                                "WHERE state = 'pending' GROUP BY org_id")}
        for key in set(stored_waiting) | set(real_waiting):
            if stored_waiting.get(key, 0) != real_waiting.get(key, 0):
                bad(f"invariant: invitation_counts {key} = {stored_waiting.get(key, 0)}, "
                    f"real {real_waiting.get(key, 0)}")

        # Carry the stored state into the next run.
        for mid in self.members:
            self.role_now[mid] = roles.get(mid, self.role_now[mid])
            for wid in self.workspaces:
                self.ws_now[(wid, mid)] = ws_direct.get((wid, self.user_of[mid]), "none")
        self.seen_audit = {a[0] for a in audit}

        out.update({"acked": dict(acked), "inflight": dict(inflight), "inflight_committed": dict(committed),
                    "failed": dict(failed), "failed_status": {str(k): v for k, v in failed_status.items()},
                    "db_violations": len(self.violations) - v0})
        return out

    # ----- report -----------------------------------------------------

    def print_run(self, info):
        kinds = ("role", "ws", "invite", "accept")
        a = info["acked"]
        f = info["inflight"]
        c = info["inflight_committed"]
        line = (f"run {info['run']:2d}/{self.args.runs}: {self.args.mode} after {info['load_s']:.2f} s | acked "
                + " ".join(f"{k}={a.get(k, 0)}" for k in kinds)
                + " | in flight " + " ".join(f"{k}={f.get(k, 0)}" for k in kinds if f.get(k))
                + (f" (committed {sum(c.values())}/{sum(f.values())})" if f else "none")
                + (f" | error answers {sum(info['failed'].values())} {info['failed']} by status "
                   f"{info['failed_status']}" if info["failed"] else "")
                + f" | restart {info['restart_s']:.2f} s"
                + (f" | integrity {'ok' if info['integrity_ok'] else 'FAILED'}" if info["integrity_ok"] is not None
                   else ""))
        if self.args.mode == "term":
            line += (f" | exit {info.get('exit_code')} in {info.get('exit_s')} s | before SIGTERM answered "
                     f"{info['term_before_answered']}, unanswered {info['term_before_unanswered']} "
                     f"({info['term_before_unanswered_fresh_conn']} on fresh connections, "
                     f"{info['term_before_unanswered_writes']} writes) | after: answered "
                     f"{info['term_after_answered']}, no answer {info['term_after_no_answer']}, refused "
                     f"{info['term_after_refused']} | mail {info['mail_delivered']} delivered for "
                     f"{info['mail_messages']} queued ({info['mail_pending_at_restart']} pending at restart), drained in "
                     f"{info['mail_drain_s']} s, stuck {info.get('mail_stuck_new', 0)} new + "
                     f"{info.get('mail_stuck_carried', 0)} from earlier runs, delivered but not recorded "
                     f"{info['mail_delivered_not_marked']}, duplicates "
                     f"{info['mail_duplicate_messages']}")
        line += f" | violations {info['violations']}"
        log(line)
        for v in self.violations[len(self.violations) - info["violations"]:][:10]:
            log("    VIOLATION " + v)

    def summary(self):
        runs = self.runs
        kinds = ("role", "ws", "invite", "accept")
        tot = {k: sum(r["acked"].get(k, 0) for r in runs) for k in kinds}
        inf = {k: sum(r["inflight"].get(k, 0) for r in runs) for k in kinds}
        com = {k: sum(r["inflight_committed"].get(k, 0) for r in runs) for k in kinds}
        fail = {k: sum(r["failed"].get(k, 0) for r in runs) for k in kinds}
        restarts = [r["restart_s"] for r in runs]
        s = {
            "backend": self.args.backend, "mode": self.args.mode, "runs": len(runs), "seed": self.args.seed,
            "binary": getattr(self, "binary_info", ""), "threads": self.args.threads,
            "acked": tot, "inflight": inf, "inflight_committed": com, "error_answers": fail,
            "violations": len(self.violations),
            "integrity_ok": sum(1 for r in runs if r["integrity_ok"]) if self.db.backend == "sqlite" else None,
            "restart_s": {"min": min(restarts), "median": round(statistics.median(restarts), 3),
                          "max": max(restarts)} if restarts else None,
        }
        if self.args.mode == "term" and runs:
            exits = [r["exit_s"] for r in runs if r.get("exit_s") is not None]
            s["term"] = {
                "exit_codes": collections.Counter(str(r.get("exit_code")) for r in runs),
                "exit_s": {"min": min(exits), "max": max(exits)} if exits else None,
                "before_answered": sum(r["term_before_answered"] for r in runs),
                "before_unanswered": sum(r["term_before_unanswered"] for r in runs),
                "before_dropped_unprocessed": sum(r["term_before_dropped_unprocessed"] for r in runs),
                "before_unread_at_signal": sum(r["term_before_unread_at_signal"] for r in runs),
                "before_unanswered_fresh_conn": sum(r["term_before_unanswered_fresh_conn"] for r in runs),
                "before_unanswered_writes": sum(r["term_before_unanswered_writes"] for r in runs),
                "after_answered": sum(r["term_after_answered"] for r in runs),
                "after_no_answer": sum(r["term_after_no_answer"] for r in runs),
                "after_refused": sum(r["term_after_refused"] for r in runs),
                "mail_queued_total": runs[-1]["mail_messages"],
                "mail_delivered_total": runs[-1]["mail_delivered"],
                "mail_duplicate_messages": runs[-1]["mail_duplicate_messages"],
                "mail_drain_s_max": max(r["mail_drain_s"] for r in runs),
                "mail_stuck_new_total": sum(r.get("mail_stuck_new", 0) for r in runs),
                "mail_delivered_not_marked_last": runs[-1]["mail_delivered_not_marked"],
                "lease_wait": getattr(self, "lease_wait", None),
            }
        return s


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--backend", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--mode", choices=("kill", "term"), default="kill")
    p.add_argument("--runs", type=int, default=20)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--members", type=int, default=48, help="members under test (split among the threads)")
    p.add_argument("--pool", type=int, default=40, help="pending invitations made at set-up for accepts")
    p.add_argument("--min-load", type=float, default=1.5)
    p.add_argument("--max-load", type=float, default=5.0)
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--binary", default=DEFAULT_BINARY)
    p.add_argument("--term-timeout", type=float, default=45, help="how long the server may take to exit after SIGTERM")
    p.add_argument("--mail-timeout", type=float, default=60, help="how long the outbox may take to drain after restart")
    p.add_argument("--http-timeout", type=float, default=45)
    p.add_argument("--lease-wait", action="store_true",
                   help="term mode: at the end, wait out the outbox lease (10 min) for stuck messages and recount "
                        "duplicates")
    p.add_argument("--max-minutes", type=float, default=90, help="stop starting new runs after this long")
    p.add_argument("--results", default=None, help="JSON summary (default bench/results/crash-BACKEND-MODE.json)")
    p.add_argument("--rust-log", default="warn", help="RUST_LOG of the server (its logs stay in the work directory)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (and the PostgreSQL database)")
    args = p.parse_args()
    if args.seed is None:
        args.seed = random.randrange(1 << 30)
    results = args.results or os.path.join(ROOT, "bench", "results", f"crash-{args.backend}-{args.mode}.json")

    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_term)
    crash = Crash(args)
    log(f"crash.py --backend {args.backend} --mode {args.mode} --runs {args.runs} --seed {args.seed}")
    started = time.monotonic()
    failed = False
    try:
        crash.setup()
        for i in range(1, args.runs + 1):
            if time.monotonic() - started > args.max_minutes * 60:
                crash.violation(f"stopped after {i - 1} runs: --max-minutes {args.max_minutes} reached")
                break
            crash.run(i)
        if args.mode == "term" and args.lease_wait and crash.stuck_mail:
            crash.wait_leases()
        rc, secs = crash.server.stop(timeout=args.term_timeout)
        if rc != 0:
            crash.violation(f"the final SIGTERM: exit status {rc} after {secs:.1f} s")
    except KeyboardInterrupt:
        log("interrupted")
        failed = True
    except Exception:  # noqa: BLE001 - report and fail
        log("ERROR: " + traceback.format_exc())
        if crash.server is not None:
            log("server log tail:\n" + crash.server.log_tail())
        failed = True
    finally:
        kill_all_started()
        if crash.sink is not None:
            crash.sink.close()
        if not args.keep:
            crash.db.drop()
            shutil.rmtree(crash.workdir, ignore_errors=True)
        else:
            log(f"kept {crash.workdir}")

    summary = crash.summary()
    summary["violation_samples"] = crash.violations[:40]
    summary["completed"] = not failed
    log("")
    log("summary: " + json.dumps({k: v for k, v in summary.items() if k != "violation_samples"}))
    for v in crash.violations[:40]:
        log("VIOLATION " + v)
    try:
        os.makedirs(os.path.dirname(results), exist_ok=True)
        with open(results, "w") as f:
            json.dump(summary, f, indent=1)
        log(f"wrote {results}")
    except OSError as err:
        log(f"could not write {results}: {err}")
    ok = not failed and not crash.violations and len(crash.runs) == args.runs
    log("RESULT: " + ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    finally:
        kill_all_started()
