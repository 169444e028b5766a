#!/usr/bin/env python3
"""Opens many TCP connections to a RESP server and reports how it treated them.

Used by tests/tcl/unit/limits.tcl for the maxclients test (10,000 clients).

Usage: manyclients.py HOST PORT COUNT

Phases:
  1. connect COUNT sockets (non-blocking, in batches, so a full accept queue
     only delays us);
  2. collect what the server sends unprompted until it has been quiet for a
     while: a connection past maxclients gets "-ERR max number of clients
     reached" and is closed; accepted connections receive nothing;
  3. send PING on every connection that is still open and silent, and read
     one reply from each.
Then prints one JSON line with the counts, keeps every connection open until
a line (or EOF) arrives on stdin so the caller can inspect the server (INFO)
meanwhile, closes everything and exits 0. Exit 2 on bad usage or when the fd
limit cannot be raised high enough.

Only the standard library is used (no redis-py), so the helper works with
any python3.
"""
import errno
import json
import resource
import selectors
import socket
import sys
import time

REJECT_PREFIX = b"-ERR max number of clients reached"
BATCH = 256            # connects in flight at once; well under the listen backlog
QUIET_SECONDS = 1.5    # phase 2 ends after this long without unprompted data
PHASE_TIMEOUT = 30.0   # seconds; upper bound for each phase


def raise_fd_limit(need):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= need:
        return True
    if hard != resource.RLIM_INFINITY and hard < need:
        return False
    resource.setrlimit(resource.RLIMIT_NOFILE, (need, hard))
    return True


def connect_all(host, port, count, stats):
    socks = []
    sel = selectors.DefaultSelector()
    pending = {}
    todo = count
    deadline = time.monotonic() + PHASE_TIMEOUT
    while (todo > 0 or pending) and time.monotonic() < deadline:
        while todo > 0 and len(pending) < BATCH:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            err = s.connect_ex((host, port))
            todo -= 1
            if err not in (0, errno.EINPROGRESS):
                stats["connect_failed"] += 1
                s.close()
                continue
            pending[s.fileno()] = s
            sel.register(s, selectors.EVENT_WRITE)
        for key, _ in sel.select(timeout=1.0):
            s = key.fileobj
            sel.unregister(s)
            del pending[s.fileno()]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                stats["connect_failed"] += 1
                s.close()
            else:
                socks.append(s)
    for s in pending.values():
        stats["connect_failed"] += 1
        sel.unregister(s)
        s.close()
    sel.close()
    return socks


def collect_unprompted(socks, stats):
    """Returns the sockets that stayed open and silent."""
    sel = selectors.DefaultSelector()
    data = {}
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
        data[s] = b""
    closed = set()
    last_event = time.monotonic()
    deadline = last_event + PHASE_TIMEOUT
    while time.monotonic() - last_event < QUIET_SECONDS and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.2):
            s = key.fileobj
            last_event = time.monotonic()
            try:
                chunk = s.recv(4096)
            except ConnectionError:
                chunk = b""
            if chunk:
                data[s] += chunk
                continue
            sel.unregister(s)
            closed.add(s)
    sel.close()
    alive = []
    for s in socks:
        d = data[s]
        if s in closed:
            if d.startswith(REJECT_PREFIX):
                stats["rejected_with_error"] += 1
            elif d:
                stats["closed_other_reply"] += 1
                stats["sample_other"] = d[:120].decode("latin1")
            else:
                stats["closed_silently"] += 1
            s.close()
        elif d:
            stats["unexpected_data_open"] += 1
            stats["sample_other"] = d[:120].decode("latin1")
            alive.append(s)
        else:
            alive.append(s)
    return alive


def ping_all(socks, stats):
    sel = selectors.DefaultSelector()
    buf = {}
    for s in socks:
        s.setblocking(True)
        try:
            s.sendall(b"PING\r\n")
        except OSError:
            stats["ping_failed"] += 1
            continue
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
        buf[s] = b""
    waiting = len(buf)
    deadline = time.monotonic() + PHASE_TIMEOUT
    while waiting and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            try:
                chunk = s.recv(4096)
            except ConnectionError:
                chunk = b""
            if chunk:
                buf[s] += chunk
                if not buf[s].endswith(b"\r\n"):
                    continue
            sel.unregister(s)
            waiting -= 1
            if buf[s] == b"+PONG\r\n":
                stats["pong_ok"] += 1
            else:
                stats["ping_failed"] += 1
                stats["sample_ping"] = buf[s][:120].decode("latin1")
    stats["ping_failed"] += waiting
    sel.close()


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    if not raise_fd_limit(count + 64):
        print(json.dumps({"error": "fd limit too low"}), flush=True)
        return 2
    stats = dict(connected=0, connect_failed=0, rejected_with_error=0, closed_silently=0,
                 closed_other_reply=0, unexpected_data_open=0, pong_ok=0, ping_failed=0)
    t0 = time.monotonic()
    socks = connect_all(host, port, count, stats)
    stats["connected"] = len(socks)
    alive = collect_unprompted(socks, stats)
    ping_all(alive, stats)
    stats["seconds"] = round(time.monotonic() - t0, 2)
    print(json.dumps(stats), flush=True)
    sys.stdin.readline()
    for s in alive:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
