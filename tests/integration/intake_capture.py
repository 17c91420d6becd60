#!/usr/bin/env python3
"""intake_capture.py: a Datadog-agent-compatible profiling intake for kiln's tests.

Listens on 127.0.0.1 (a random free port, written to --port-file) or on a Unix socket
(--unix PATH), answers POST /profiling/v1/input with 200 {} and records every request:

  OUT/NNNN.json    method, path, headers (in order), status answered, verification result
  OUT/NNNN.headers the request line and headers as received, CRLF-separated
  OUT/NNNN.body    the request body (de-chunked)
  OUT/NNNN.parts/  each multipart part's content, named by its filename (accepted requests)

The .json file is written last (atomically), so its presence means the request is complete.
NNNN counts every request, accepted or not, from 0001.

Outage simulation, relative to the server's start:
  --refuse-for S   do not listen for the first S seconds (connections are refused); the port
                   is still chosen and written at once
  --fail-for S     answer --fail-status (default 503) for the first S seconds
  --close-for S    read the request, then close the connection without answering
  --stall-for S    read the request and answer nothing until S seconds (then 503): a hung agent
Verification (--verify): checks the Datadog v4 multipart layout, event.json fields and the
attachments' compression; the result is recorded in NNNN.json ("verify": {"ok", "errors"}).
With --strict, a request that fails verification is answered 400.

Other agent endpoints (/info, /v0.4/traces, telemetry…) get harmless stubs.

Helpers for shell tests:
  intake_capture.py wait OUT N [--timeout S]   wait until N requests were accepted (200)
  intake_capture.py show OUT                   one line per recorded request

python3 standard library only.
"""

import argparse
import gzip
import json
import os
import re
import socket
import socketserver
import sys
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, HTTPServer

INTAKE_PATHS = ("/profiling/v1/input", "/api/v2/profile", "/v1/input")
MAX_BODY = 64 << 20
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$")


def sniff(data):
    if data[:2] == b"\x1f\x8b":
        return "gzip"
    if data[:4] == b"\x28\xb5\x2f\xfd":
        return "zstd"
    if data[:4] == b"\x04\x22\x4d\x18":
        return "lz4"
    return "none"


def parse_params(value):
    """Splits 'type; a=b; c="d"' into ('type', {'a': 'b', 'c': 'd'})."""
    parts = value.split(";")
    params = {}
    for p in parts[1:]:
        if "=" not in p:
            continue
        k, v = p.split("=", 1)
        v = v.strip()
        if len(v) >= 2 and v[0] == '"' and v[-1] == '"':
            v = v[1:-1]
        params[k.strip().lower()] = v
    return parts[0].strip().lower(), params


def parse_multipart(content_type, body):
    """Returns (parts, errors); each part is a dict name, filename, headers, data."""
    errors = []
    ctype, params = parse_params(content_type or "")
    if ctype != "multipart/form-data":
        return [], ["Content-Type is %r, not multipart/form-data" % content_type]
    boundary = params.get("boundary")
    if not boundary:
        return [], ["multipart Content-Type without boundary"]
    delim = b"--" + boundary.encode()
    if not body.startswith(delim + b"\r\n"):
        errors.append("body does not start with --boundary CRLF (preamble?)")
    closing = b"\r\n" + delim + b"--"
    end = body.rfind(closing)
    if end < 0:
        return [], errors + ["no closing boundary"]
    epilogue = body[end + len(closing):]
    if epilogue not in (b"\r\n", b""):
        errors.append("unexpected epilogue after the closing boundary: %r" % epilogue[:40])
    segments = body[:end].split(b"\r\n" + delim)
    first = segments[0]
    if first.startswith(delim):
        segments[0] = first[len(delim):]
    parts = []
    for seg in segments:
        if not seg.startswith(b"\r\n"):
            errors.append("boundary not followed by CRLF")
            continue
        seg = seg[2:]
        head, sep, data = seg.partition(b"\r\n\r\n")
        if not sep:
            errors.append("part without header/body separator")
            continue
        headers = {}
        for line in head.split(b"\r\n"):
            if b":" not in line:
                errors.append("bad part header line %r" % line[:60])
                continue
            k, v = line.split(b":", 1)
            headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
        disp, dparams = parse_params(headers.get("content-disposition", ""))
        if disp != "form-data":
            errors.append("part without Content-Disposition: form-data")
        parts.append({"name": dparams.get("name"), "filename": dparams.get("filename"),
                      "headers": headers, "data": data})
    return parts, errors


def verify(headers, body):
    """Checks a v4 profiling upload. Returns (summary dict, parts)."""
    errors = []
    hmap = {k.lower(): v for k, v in headers}
    parts, perr = parse_multipart(hmap.get("content-type"), body)
    errors += perr
    for h in ("dd-evp-origin", "dd-evp-origin-version"):
        if h not in hmap:
            errors.append("missing header %s" % h)
    by_name = {}
    for p in parts:
        if p["name"] in by_name:
            errors.append("duplicate part %r" % p["name"])
        by_name[p["name"]] = p
    event = None
    ev = by_name.get("event")
    if ev is None:
        errors.append("no 'event' part")
    else:
        if ev["filename"] != "event.json":
            errors.append("event part filename is %r, not event.json" % ev["filename"])
        if ev["headers"].get("content-type", "").split(";")[0].strip() != "application/json":
            errors.append("event part Content-Type is not application/json")
        try:
            event = json.loads(ev["data"].decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            errors.append("event.json is not valid JSON: %s" % exc)
    summary_parts = []
    if isinstance(event, dict):
        att = event.get("attachments")
        if not isinstance(att, list) or not all(isinstance(a, str) for a in att) or not att:
            errors.append("attachments is not a non-empty list of strings")
            att = []
        for key in ("start", "end"):
            v = event.get(key)
            if not isinstance(v, str) or not RFC3339.match(v):
                errors.append("%s is not an RFC 3339 time: %r" % (key, v))
        if event.get("version") != "4":
            errors.append("version is %r, not the string \"4\"" % event.get("version"))
        if not isinstance(event.get("family"), str) or not event.get("family"):
            errors.append("family missing")
        tags = event.get("tags_profiler")
        if not isinstance(tags, str):
            errors.append("tags_profiler is not a string")
        else:
            for t in tags.split(","):
                if ":" not in t or t.startswith(":"):
                    errors.append("malformed tag %r" % t)
        if "info" in event and not isinstance(event["info"], dict):
            errors.append("info is not an object")
        for a in att:
            p = by_name.get(a)
            if p is None:
                errors.append("attachment %r listed but no such part" % a)
                continue
            if p["filename"] != a:
                errors.append("part %r has filename %r" % (a, p["filename"]))
            codec = sniff(p["data"])
            info = {"name": a, "size": len(p["data"]), "codec": codec}
            if codec == "gzip":
                try:
                    raw = gzip.decompress(p["data"])
                    info["raw_size"] = len(raw)
                    if a.endswith(".pprof") and raw[:1] not in (b"\x0a", b"\x12", b""):
                        errors.append("%s does not look like a pprof" % a)
                except (OSError, EOFError, zlib.error) as exc:
                    errors.append("%s: bad gzip: %s" % (a, exc))
            elif codec == "none" and a.endswith(".pprof") and p["data"][:1] not in (b"\x0a", b"\x12"):
                errors.append("%s is neither compressed nor a pprof" % a)
            summary_parts.append(info)
        for name in by_name:
            if name != "event" and name not in att:
                errors.append("part %r is not listed in attachments" % name)
    return {"ok": not errors, "errors": errors, "attachments": summary_parts}, parts


class State:
    def __init__(self, args):
        self.args = args
        self.t0 = time.monotonic()
        self.lock = threading.Lock()
        self.n = 0

    def elapsed(self):
        return time.monotonic() - self.t0

    def next_id(self):
        with self.lock:
            self.n += 1
            return self.n


def write_atomic(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "intake_capture/1"
    state = None  # set per server

    def address_string(self):
        return "unix" if not isinstance(self.client_address, tuple) else self.client_address[0]

    def log_message(self, fmt, *a):
        if self.state.args.verbose:
            sys.stderr.write("intake_capture: " + (fmt % a) + "\n")

    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = bytearray()
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ValueError("truncated chunked body")
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(8192) not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                if len(out) + size > MAX_BODY:
                    raise ValueError("body too large")
                out += self.rfile.read(size)
                self.rfile.readline(8)
        n = int(self.headers.get("Content-Length") or 0)
        if n > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(n) if n else b""

    def answer(self, status, body=b"{}", ctype="application/json"):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def record(self, status, body, summary, parts):
        args = self.state.args
        if not args.out:
            return
        rid = self.state.next_id()
        base = os.path.join(args.out, "%04d" % rid)
        write_atomic(base + ".body", body)
        head = "%s %s\r\n" % (self.command, self.path)
        head += "".join("%s: %s\r\n" % (k, v) for k, v in self.headers.items())
        write_atomic(base + ".headers", head.encode("latin-1", "replace"))
        if parts and status == 200:
            pdir = base + ".parts"
            os.makedirs(pdir, exist_ok=True)
            for p in parts:
                fname = os.path.basename(p["filename"] or p["name"] or "unnamed")
                write_atomic(os.path.join(pdir, fname), p["data"])
        meta = {
            "id": rid,
            "time": time.time(),
            "elapsed": self.state.elapsed(),
            "method": self.command,
            "path": self.path,
            "headers": [[k, v] for k, v in self.headers.items()],
            "status": status,
            "body_len": len(body),
            "verify": summary,
        }
        write_atomic(base + ".json", json.dumps(meta, indent=1).encode())

    def handle_any(self):
        try:
            body = self.read_body()
        except (ValueError, OSError) as exc:
            self.close_connection = True
            try:
                self.answer(413 if "large" in str(exc) else 400,
                            json.dumps({"error": str(exc)}).encode())
            except OSError:
                pass
            return
        args = self.state.args
        t = self.state.elapsed()
        path = self.path.split("?")[0]
        is_intake = self.command == "POST" and path in INTAKE_PATHS
        if t < args.stall_for:
            # A hung agent: hold the request until the window ends, then fail it.
            time.sleep(max(0.0, args.stall_for - t))
            self.record(503, body, None, None)
            self.answer(503, b'{"error":"simulated stall"}')
            return
        if t < args.close_for:
            self.record(0, body, None, None)
            self.close_connection = True
            return
        if t < args.fail_for:
            self.record(args.fail_status, body, None, None)
            self.answer(args.fail_status, b'{"error":"simulated outage"}')
            return
        if is_intake:
            summary, parts = verify(list(self.headers.items()), body)
            status = 200
            if args.strict and not summary["ok"]:
                status = 400
            self.record(status, body, summary if args.verify or args.strict else
                        dict(summary, checked=False), parts)
            if status == 200:
                self.answer(200)
            else:
                self.answer(status, json.dumps({"errors": summary["errors"]}).encode())
            return
        if path == "/info":
            self.answer(200, json.dumps({"version": "intake_capture", "endpoints": list(INTAKE_PATHS),
                                         "feature_flags": [], "config": {}}).encode())
            return
        if path.startswith("/v0.") and path.endswith("/traces"):
            self.answer(200, b'{"rate_by_service":{}}')
            return
        self.answer(200)

    do_POST = handle_any
    do_PUT = handle_any
    do_GET = handle_any


class TCPServer(socketserver.ThreadingMixIn, HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def server_bind(self):
        # HTTPServer.server_bind resolves the host name (getfqdn), which can stall for
        # seconds without DNS; the name is not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]


class UnixServer(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


def serve(args):
    state = State(args)
    handler = type("BoundHandler", (Handler,), {"state": state})
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    if args.unix:
        if args.refuse_for > 0:
            time.sleep(args.refuse_for)
        try:
            os.unlink(args.unix)
        except FileNotFoundError:
            pass
        server = UnixServer(args.unix, handler)
        if args.port_file:
            write_atomic(args.port_file, b"0\n")
    else:
        port = args.port
        if args.refuse_for > 0:
            # Pick the port now so the client can be started; listen only later.
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((args.host, port))
            port = s.getsockname()[1]
            s.close()
            if args.port_file:
                write_atomic(args.port_file, b"%d\n" % port)
            time.sleep(args.refuse_for)
        server = TCPServer((args.host, port), handler)
        if args.port_file and args.refuse_for <= 0:
            write_atomic(args.port_file, b"%d\n" % server.server_address[1])
    if args.pid_file:
        write_atomic(args.pid_file, b"%d\n" % os.getpid())
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


def load_records(out):
    recs = []
    for name in sorted(os.listdir(out)):
        if name.endswith(".json") and name[:4].isdigit():
            with open(os.path.join(out, name)) as f:
                recs.append(json.load(f))
    return recs


def wait(args):
    deadline = time.monotonic() + args.timeout
    while True:
        n = 0
        if os.path.isdir(args.out):
            n = sum(1 for r in load_records(args.out) if r["status"] == 200)
        if n >= args.count:
            return 0
        if time.monotonic() > deadline:
            sys.stderr.write("intake_capture: %d of %d uploads after %.0f s\n" % (n, args.count, args.timeout))
            return 1
        time.sleep(0.05)


def show(args):
    for r in load_records(args.out):
        v = r.get("verify") or {}
        print("%04d %s %s status=%d bytes=%d verify=%s %s" % (
            r["id"], r["method"], r["path"], r["status"], r["body_len"],
            "ok" if v.get("ok") else ("-" if not v else "FAIL"), "; ".join(v.get("errors", []))))
    return 0


def main(argv):
    if argv and argv[0] in ("wait", "show"):
        p = argparse.ArgumentParser(prog="intake_capture.py " + argv[0])
        p.add_argument("out")
        if argv[0] == "wait":
            p.add_argument("count", type=int)
            p.add_argument("--timeout", type=float, default=30)
        args = p.parse_args(argv[1:])
        return wait(args) if argv[0] == "wait" else show(args)
    if argv and argv[0] == "serve":
        argv = argv[1:]
    p = argparse.ArgumentParser(description="Datadog-compatible profiling intake for tests")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--unix", help="serve HTTP on this Unix socket instead of TCP")
    p.add_argument("--port-file", help="write the chosen port here (0 for --unix)")
    p.add_argument("--pid-file")
    p.add_argument("--out", help="record requests into this directory")
    p.add_argument("--refuse-for", type=float, default=0)
    p.add_argument("--fail-for", type=float, default=0)
    p.add_argument("--fail-status", type=int, default=503)
    p.add_argument("--close-for", type=float, default=0)
    p.add_argument("--stall-for", type=float, default=0)
    p.add_argument("--verify", action="store_true", help="record the format check")
    p.add_argument("--strict", action="store_true", help="answer 400 when the check fails")
    p.add_argument("--verbose", action="store_true")
    return serve(p.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
