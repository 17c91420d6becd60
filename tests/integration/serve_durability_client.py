#!/usr/bin/env python3
"""serve_durability_client.py: uploads a stream of profiles from several threads and records
which ones kiln serve acknowledged (200), then checks after a crash and restart that every
acknowledged upload is stored.

  upload ADDR ACKFILE   upload until the server stops answering; one acked id per line
  check ADDR ACKFILE    every id in ACKFILE is searchable (version:<id>)
"""
import json
import os
import socket
import sys
import threading
import time
import urllib.request

FX = os.path.join(os.environ.get("KILN_FIXTURES", "tests/fixtures"),
                  "dd-trace-js/node22-gzip-periodic")


def body(seq, boundary):
    events = open(os.path.join(FX, "parts/events.pprof"), "rb").read()
    event = json.dumps({"attachments": ["events.pprof"], "start": "2026-11-24T22:00:00Z",
                        "end": "2026-11-24T22:00:10Z", "family": "node", "version": "4",
                        "tags_profiler": "service:durable,version:%d" % seq}).encode()
    b = boundary.encode()
    out = b"--" + b + b'\r\nContent-Disposition: form-data; name="event"; filename="event.json"\r\n\r\n'
    out += event + b"\r\n--" + b
    out += b'\r\nContent-Disposition: form-data; name="events.pprof"; filename="events.pprof"\r\n\r\n'
    return out + events + b"\r\n--" + b + b"--\r\n"


def upload_one(addr, seq):
    host, port = addr.rsplit(":", 1)
    data = body(seq, "dur%d" % seq)
    head = ("POST /profiling/v1/input HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            "Content-Type: multipart/form-data; boundary=dur%d\r\nContent-Length: %d\r\n\r\n"
            % (seq, len(data))).encode()
    s = socket.create_connection((host, int(port)), timeout=10)
    try:
        s.sendall(head + data)
        resp = b""
        while b"\r\n" not in resp:
            chunk = s.recv(4096)
            if not chunk:
                return None
            resp += chunk
        return int(resp.split()[1])
    finally:
        s.close()


def upload(addr, ackfile, nthreads=4, limit=5000):
    lock = threading.Lock()
    counter = [0]
    out = open(ackfile, "w")
    stop = threading.Event()

    def worker():
        failures = 0
        while not stop.is_set():
            with lock:
                seq = counter[0]
                counter[0] += 1
            if seq >= limit:
                return
            try:
                st = upload_one(addr, seq)
            except OSError:
                st = None
            if st == 200:
                failures = 0
                with lock:
                    out.write("%d\n" % seq)
                    out.flush()
            else:
                failures += 1
                if failures > 20:
                    return
                time.sleep(0.05)

    threads = [threading.Thread(target=worker) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.close()


def check(addr, ackfile):
    acked = {int(l) for l in open(ackfile) if l.strip()}
    stored = set()
    cursor = "0"
    while cursor is not None:
        url = "http://%s/api/v1/search?q=service:durable&limit=1000&cursor=%s" % (addr, cursor)
        d = json.load(urllib.request.urlopen(url, timeout=30))
        stored |= {int(p["version"]) for p in d["profiles"]}
        cursor = d["next_cursor"]
    missing = sorted(acked - stored)
    print("acknowledged %d, stored %d (acknowledged but missing: %d)"
          % (len(acked), len(stored), len(missing)))
    if not acked:
        print("FAIL: nothing was acknowledged before the crash")
        return 1
    if missing:
        print("FAIL: lost acknowledged uploads: %s" % missing[:20])
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "upload":
        upload(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "check":
        sys.exit(check(sys.argv[2], sys.argv[3]))
