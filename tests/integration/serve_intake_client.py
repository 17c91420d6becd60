#!/usr/bin/env python3
"""serve_intake_client.py: raw-socket HTTP client for the kiln serve intake tests.

Sends requests byte for byte (so the dd-trace-js capture is replayed exactly as it was
on the wire, chunked) and checks the answers. Used by serve_intake.sh; every check
prints what it expected and fails the run with a message.
"""
import gzip
import json
import os
import socket
import sys
import urllib.parse

FX = os.path.join(os.environ.get("KILN_FIXTURES", "tests/fixtures"),
                  "dd-trace-js/node22-gzip-periodic")


def connect(addr):
    if addr.startswith("unix:"):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(addr[5:])
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    s.settimeout(30)
    return s


def read_response(s):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            raise RuntimeError("connection closed before a response: %r" % data[:200])
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        headers[k.strip().lower()] = v.strip()
    n = int(headers.get("content-length", "0"))
    while len(rest) < n:
        chunk = s.recv(65536)
        if not chunk:
            break
        rest += chunk
    return status, headers, rest[:n]


def raw(addr, data, sock=None):
    s = sock or connect(addr)
    try:
        s.sendall(data)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered early (413) and closed: read that answer
    r = read_response(s)
    if sock is None:
        s.close()
    return r


def request(addr, method, path, body=b"", headers=None, chunked=False, send_max=None):
    h = {"Host": "kiln-test"}
    h.update(headers or {})
    if chunked:
        h["Transfer-Encoding"] = "chunked"
        pieces = []
        for i in range(0, len(body), 1000):
            piece = body[i:i + 1000]
            pieces.append(b"%x\r\n" % len(piece) + piece + b"\r\n")
        payload = b"".join(pieces) + b"0\r\n\r\n"
    else:
        h["Content-Length"] = str(len(body))
        payload = body
    head = "%s %s HTTP/1.1\r\n" % (method, path)
    head += "".join("%s: %s\r\n" % kv for kv in h.items()) + "Connection: close\r\n\r\n"
    data = head.encode() + payload
    return raw(addr, data if send_max is None else data[:send_max])


def multipart(boundary, parts):
    out = b""
    for name, filename, ctype, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        cd = 'Content-Disposition: form-data; name="%s"' % name
        if filename:
            cd += '; filename="%s"' % filename
        out += cd.encode() + b"\r\n"
        if ctype:
            out += b"Content-Type: " + ctype.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    return out + b"--" + boundary.encode() + b"--\r\n"


def upload(addr, parts, boundary="kilnb", headers=None, chunked=True, send_max=None):
    h = {"Content-Type": "multipart/form-data; boundary=%s" % boundary}
    h.update(headers or {})
    return request(addr, "POST", "/profiling/v1/input", multipart(boundary, parts), h, chunked,
                   send_max)


def v4_parts(service, attachments=None):
    wall = open(os.path.join(FX, "parts/wall.pprof"), "rb").read()
    atts = attachments if attachments is not None else [("wall.pprof", wall)]
    event = {"attachments": [a[0] for a in atts], "start": "2026-11-24T22:00:00.000Z",
             "end": "2026-11-24T22:00:10.000Z", "family": "node", "version": "4",
             "tags_profiler": "service:%s,env:it,language:javascript" % service}
    parts = [("event", "event.json", "application/json", json.dumps(event).encode())]
    parts += [(n, n, "application/octet-stream", d) for n, d in atts]
    return parts


class Checker:
    def __init__(self):
        self.failed = 0

    def eq(self, what, got, want):
        if got != want:
            print("FAIL %s: got %r, want %r" % (what, got, want))
            self.failed += 1
        else:
            print("ok   %s" % what)

    def true(self, what, cond, detail=""):
        if not cond:
            print("FAIL %s %s" % (what, detail))
            self.failed += 1
        else:
            print("ok   %s" % what)


def api(addr, path, headers=None):
    st, _, body = request(addr, "GET", path, headers=headers)
    return st, json.loads(body) if body else None


def search(addr, q, headers=None):
    st, d = api(addr, "/api/v1/search?q=" + urllib.parse.quote(q), headers)
    return d if st == 200 else {"total": -st, "profiles": []}


def good_upload(c, addr, what, service="after-bad"):
    st, _, body = upload(addr, v4_parts(service))
    c.eq(what + ": a following good upload gets 200", st, 200)


def main_suite(addr):
    c = Checker()
    hdr = open(os.path.join(FX, "request-headers.txt"), "rb").read()
    wire = open(os.path.join(FX, "request.wire"), "rb").read()

    # 1. The dd-trace-js capture, byte for byte, twice on one keep-alive connection.
    s = connect(addr)
    for i in range(2):
        st, h, body = raw(addr, hdr + wire, sock=s)
        c.eq("fixture replay %d: status" % i, st, 200)
        c.eq("fixture replay %d: body" % i, body, b"{}")
    s.close()
    d = search(addr, "service:capture-svc")
    c.eq("fixture searchable by service", d["total"], 2)
    p = d["profiles"][0] if d["profiles"] else {}
    c.eq("fixture env", p.get("env"), "test")
    c.eq("fixture version", p.get("version"), "1.2.3")
    c.eq("fixture origin header recorded", p.get("origin"), "dd-trace-js")
    c.eq("fixture entity id recorded", p.get("entity_id"), "in-1")
    cores = (p.get("measures") or {}).get("cpu_cores") or 0
    c.true("fixture cpu_cores ~1.08", abs(cores - 1.0778) < 0.001, repr(cores))
    st, top = api(addr, "/api/v1/profiles/%d/top?type=wall/nanoseconds" % p.get("id", 0))
    shares = {t["name"]: t["self_share"] for t in (top or {}).get("top", [])}
    c.true("fixture wall: hotA self share 62.5 %", abs(shares.get("hotA", 0) - 0.6253) < 0.001,
           repr(shares.get("hotA")))
    c.true("fixture wall: hotB self share 27.0 %", abs(shares.get("hotB", 0) - 0.2704) < 0.001,
           repr(shares.get("hotB")))

    # 2. Malformed uploads: 4xx with a JSON message; the server keeps serving.
    body = open(os.path.join(FX, "request.body"), "rb").read()
    ct = {"Content-Type": "multipart/form-data; boundary=0543be709ca4dd10"}
    st, _, b = request(addr, "POST", "/profiling/v1/input", body[:len(body) // 2], ct)
    c.eq("truncated multipart: 400", st, 400)
    c.true("truncated multipart: message", b"truncated" in b, b[:200])
    good_upload(c, addr, "truncated")
    st, _, b = request(addr, "POST", "/profiling/v1/input", body,
                       {"Content-Type": "multipart/form-data; boundary=wrongwrong"}, chunked=True)
    c.eq("wrong boundary: 400", st, 400)
    c.true("wrong boundary: message", b"boundary" in b, b[:200])
    good_upload(c, addr, "wrong boundary")
    st, _, b = upload(addr, v4_parts("x", [("wall.pprof", b"\x1f\x8b\x08\x00garbage-gzip")]))
    c.eq("bad gzip: 400", st, 400)
    c.true("bad gzip: message", b"gzip" in b, b[:200])
    st, _, b = upload(addr, v4_parts("x", [("wall.pprof", b"\x28\xb5\x2f\xfd\x00\x99\x99")]))
    c.eq("bad zstd: 400", st, 400)
    st, _, b = upload(addr, v4_parts("x", [("wall.pprof", gzip.compress(b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"))]))
    c.eq("pprof garbage: 400", st, 400)
    c.true("pprof garbage: message", b"not a valid pprof" in b, b[:200])
    st, _, b = upload(addr, [("wall.pprof", "wall.pprof", None, b"x")])
    c.eq("missing event: 400", st, 400)
    c.true("missing event: message", b"event" in b, b[:200])
    good_upload(c, addr, "missing event")
    big = b"A" * (2 << 20)
    # Announced by Content-Length: answered before the body is read (only its start is sent).
    st, _, b = upload(addr, v4_parts("x", [("big.pprof", big)]), chunked=False, send_max=65536)
    c.eq("huge part (Content-Length): 413", st, 413)
    st, _, b = upload(addr, v4_parts("x", [("big.pprof", big)]), chunked=True)
    c.eq("huge part (chunked): 413", st, 413)
    good_upload(c, addr, "huge")
    c.eq("bad uploads stored nothing", search(addr, "service:x")["total"], 0)
    c.eq("good uploads after bad ones stored", search(addr, "service:after-bad")["total"], 4)

    # 3. Legacy formats.
    wall = open(os.path.join(FX, "parts/wall.pprof"), "rb").read()
    v3 = [("version", None, None, b"3"), ("family", None, None, b"dotnet"),
          ("start", None, None, b"2021-05-01T10:00:00Z"), ("end", None, None, b"2021-05-01T10:01:00Z"),
          ("tags[]", None, None, b"service:legacy-v3"), ("tags[]", None, None, b"env:old"),
          ("data[auto.pprof]", "auto.pprof", "application/octet-stream", wall)]
    st, _, b = upload(addr, v3, chunked=False)
    c.eq("legacy v3: 200", st, 200)
    c.eq("legacy v3: searchable", search(addr, "service:legacy-v3")["total"], 1)
    v1 = [("format", None, None, b"pprof"), ("runtime", None, None, b"go"),
          ("recording-start", None, None, b"2019-12-01T00:00:00Z"),
          ("recording-end", None, None, b"2019-12-01T00:01:00Z"),
          ("tags[]", None, None, b"service:legacy-v1"), ("types[0]", None, None, b"samples,cpu"),
          ("data[0]", "pprof-data", "application/octet-stream", wall)]
    st, _, b = upload(addr, v1, chunked=False)
    c.eq("legacy v1: 200", st, 200)
    d = search(addr, "service:legacy-v1")
    c.eq("legacy v1: searchable", d["total"], 1)
    c.eq("legacy v1: language from runtime", (d["profiles"] or [{}])[0].get("language"), "go")

    # 4. What tracers call besides profiling.
    st, _, b = request(addr, "GET", "/info")
    info = json.loads(b)
    c.eq("/info: 200", st, 200)
    c.true("/info lists the intake", "/profiling/v1/input" in info.get("endpoints", []))
    st, _, b = request(addr, "PUT", "/v0.4/traces", b"\x90", {"Content-Type": "application/msgpack"})
    c.eq("/v0.4/traces", (st, json.loads(b)), (200, {"rate_by_service": {}}))
    st, _, b = request(addr, "POST", "/v0.7/config", b"{}", {"Content-Type": "application/json"})
    c.eq("/v0.7/config", st, 200)
    st, _, b = request(addr, "POST", "/telemetry/proxy/api/v2/apmtelemetry", b"{}")
    c.eq("/telemetry", st, 200)
    st, _, b = request(addr, "POST", "/dogstatsd/v2/proxy", b"a:1|c")
    c.eq("/dogstatsd/v2/proxy", st, 200)
    st, _, b = request(addr, "GET", "/profiling/v1/input")
    c.true("GET on the intake path is not 404", st != 404 and st >= 400, st)
    st, _, b = request(addr, "GET", "/healthz")
    c.eq("/healthz", (st, json.loads(b).get("status")), (200, "ok"))
    st, h, b = request(addr, "GET", "/")
    c.eq("/ is HTML", (st, h.get("content-type", "").split(";")[0]), (200, "text/html"))
    st, _, b = request(addr, "GET", "/no/such/thing")
    c.eq("unknown path: 404", st, 404)
    return c.failed


def key_suite(addr, key, ui_key):
    c = Checker()
    st, _, b = upload(addr, v4_parts("keyed"))
    c.eq("API key required: 401 without", st, 401)
    st, _, b = upload(addr, v4_parts("keyed"), headers={"DD-API-KEY": key + "x"})
    c.eq("API key required: 401 with a wrong key", st, 401)
    st, _, b = upload(addr, v4_parts("keyed"), headers={"DD-API-KEY": key})
    c.eq("API key required: 200 with it", st, 200)
    st, _ = api(addr, "/api/v1/search?q=service:keyed")
    c.eq("UI key required: 401 without", st, 401)
    st, d = api(addr, "/api/v1/search?q=service:keyed", {"Authorization": "Bearer " + ui_key})
    c.eq("UI key: 200 with a bearer token", (st, d and d.get("total")), (200, 1))
    st, _, b = request(addr, "GET", "/healthz")
    c.eq("/healthz needs no key", st, 200)
    return c.failed


def unix_suite(addr):
    c = Checker()
    hdr = open(os.path.join(FX, "request-headers.txt"), "rb").read()
    wire = open(os.path.join(FX, "request.wire"), "rb").read()
    st, _, body = raw(addr, hdr + wire)
    c.eq("fixture over the unix socket", (st, body), (200, b"{}"))
    return c.failed


if __name__ == "__main__":
    suite = sys.argv[1]
    if suite == "main":
        sys.exit(1 if main_suite(sys.argv[2]) else 0)
    if suite == "keys":
        sys.exit(1 if key_suite(sys.argv[2], sys.argv[3], sys.argv[4]) else 0)
    if suite == "unix":
        sys.exit(1 if unix_suite("unix:" + sys.argv[2]) else 0)
    sys.exit("unknown suite " + suite)
