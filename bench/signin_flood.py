#!/usr/bin/env python3
"""Memory and answers under a flood of parallel sign-ins.

Starts `target/release/roster` on a fresh SQLite database (or the one given
by --database-url), reads its RSS, fires N sign-ins at once for unknown
accounts (each would cost an argon2id hash of 19 MiB), and prints the
answers by status, the time to answer them all and the server's RSS and
peak RSS (VmHWM) afterwards. With --addresses K the requests come from K
client addresses (the server trusts X-Forwarded-For for this run).

Python's standard library only; everything on 127.0.0.1; the server and its
data directory are removed on exit.
"""

import argparse
import collections
import http.cookiejar
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--addresses", type=int, default=1)
    parser.add_argument("--binary", default="target/release/roster")
    args = parser.parse_args()

    work = tempfile.mkdtemp(prefix="roster-flood-")
    port = free_port()
    env = dict(os.environ)
    env.update(
        ROSTER_BIND=f"127.0.0.1:{port}",
        ROSTER_DATA_DIR=work,
        ROSTER_TRUST_PROXY="true" if args.addresses > 1 else "false",
        RUST_LOG="warn",
    )
    server = subprocess.Popen([args.binary, "serve"], env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(jar), NoRedirect
        )
        page = opener.open(base + "/signin").read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
        before = rss_kib(server.pid, "VmRSS")

        answers = collections.Counter()
        lock = threading.Lock()
        gate = threading.Barrier(args.requests)

        def one(i):
            body = urllib.parse.urlencode(
                {
                    "email": f"nobody-{i}@example.com",
                    "password": "wrong password",
                    "csrf_token": token,
                }
            ).encode()
            request = urllib.request.Request(base + "/signin", data=body, method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded")
            request.add_header("Cookie", cookie)
            request.add_header("X-Forwarded-For", f"198.51.100.{i % args.addresses}")
            gate.wait()
            try:
                status = urllib.request.urlopen(request, timeout=60).status
            except urllib.error.HTTPError as err:
                status = err.code
            with lock:
                answers[status] += 1

        threads = [threading.Thread(target=one, args=(i,)) for i in range(args.requests)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        after = rss_kib(server.pid, "VmRSS")
        peak = rss_kib(server.pid, "VmHWM")
        print(
            f"{args.requests} sign-ins from {args.addresses} address(es): "
            f"{dict(sorted(answers.items()))} in {elapsed:.2f} s; "
            f"RSS {before / 1024:.0f} MB before, {after / 1024:.0f} MB after, "
            f"peak {peak / 1024:.0f} MB"
        )
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
