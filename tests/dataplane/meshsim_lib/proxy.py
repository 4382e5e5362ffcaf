"""The stand-in mesh's router: an HTTP proxy on 127.0.0.1.

Clients reach it through ``http_proxy`` (curl sends ``GET http://backend-svc/``)
or directly with a ``Host:`` header. Every request is routed afresh from the
current Snapshot: weighted random backend Service, then a uniform ready pod,
forwarded to that pod's local nginx. ``GET /_meshsim/status`` (Host 127.0.0.1 or
localhost) returns counters as JSON.
"""

import collections
import http.client
import http.server
import json
import logging
import random
import threading
import urllib.parse

from . import faults
from .routing import RouteError, service_name_from_host

LOG = logging.getLogger("meshsim.router")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
              "te", "trailer", "transfer-encoding", "upgrade"}
LOCAL_NAMES = ("127.0.0.1", "localhost")
UPSTREAM_TIMEOUT = 5.0
MAX_BODY = 1 << 20


class Router:
    """Routing state shared by the handler threads."""

    def __init__(self, snapshot_fn, switches=faults.NO_SWITCHES, seed=None):
        self._snapshot_fn = snapshot_fn
        self.switches = switches
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self.counts = collections.Counter()  # (root, service, pod, status) -> n
        self._leaked = collections.Counter()  # (root, annotation value, service, count) -> requests leaked

    def decide(self, host):
        snap = self._snapshot_fn()
        if snap is None:
            raise RouteError(503, "meshsim has not read the API yet")
        root = service_name_from_host(host, snap.namespace)
        if root is None:
            raise RouteError(502, "host %r is not a Service in namespace %r" % (host, snap.namespace))
        with self._lock:
            leak = snap.leak(root)
            if leak is not None:
                key = (root,) + leak
                if self._leaked[key] < leak[2]:
                    self._leaked[key] += 1
                    return snap.decide(root, self._rng, self.switches, force_service=leak[1])
            return snap.decide(root, self._rng, self.switches)

    def record(self, root, service, pod, status):
        with self._lock:
            self.counts[(root, service, pod, status)] += 1

    def status(self):
        with self._lock:
            # A 502/503 has no service or pod (None): sort on strings so None never meets a name.
            items = sorted(self.counts.items(), key=lambda item: tuple("" if v is None else str(v) for v in item[0]))
        return {"requests": [{"root": r, "service": s, "pod": p, "status": st, "count": n}
                             for (r, s, p, st), n in items]}


class Handler(http.server.BaseHTTPRequestHandler):
    """Proxy handler; ``self.server.router`` is the Router."""

    protocol_version = "HTTP/1.1"
    server_version = "meshsim-standin"
    timeout = 30  # seconds an idle keep-alive connection may hold a handler thread

    def log_message(self, format, *args):
        LOG.debug("%s %s", self.address_string(), format % args)

    def _reply(self, status, body, content_type="text/plain", extra=None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _target(self):
        parsed = urllib.parse.urlsplit(self.path)
        if parsed.scheme:
            if parsed.scheme != "http":
                return None, None
            path = parsed.path or "/"
            if parsed.query:
                path += "?" + parsed.query
            return parsed.netloc, path
        return self.headers.get("Host", ""), self.path

    def _handle(self):
        host, path = self._target()
        if host is None:
            self._reply(501, b"meshsim: only plain http is proxied\n")
            return
        if host.split(":", 1)[0] in LOCAL_NAMES:
            if path.startswith("/_meshsim/status"):
                body = json.dumps(self.server.router.status(), sort_keys=True).encode()
                self._reply(200, body, "application/json")
            else:
                self._reply(404, b"meshsim: no route for a loopback host\n")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._reply(413, b"meshsim: request body too large\n")
            return
        body = self.rfile.read(length) if length else None
        router = self.server.router
        try:
            decision = router.decide(host)
        except RouteError as exc:
            router.record(host, None, None, exc.status)
            self._reply(exc.status, ("meshsim: %s\n" % exc).encode())
            return
        except faults.SwitchError as exc:
            LOG.error("bad fault switch: %s", exc)
            router.record(host, None, None, 502)
            self._reply(502, ("meshsim: bad fault switch: %s\n" % exc).encode())
            return
        tag = {"X-Meshsim-Pod": decision.pod, "X-Meshsim-Route": decision.source}
        if decision.fault == "http500":
            router.record(decision.root, decision.service, decision.pod, 500)
            self._reply(500, faults.HTTP500_BODY, "text/html", tag)
            return
        try:
            status, headers, payload = self._forward(decision.port, path, body, host)
        except OSError as exc:
            router.record(decision.root, decision.service, decision.pod, 502)
            self._reply(502, ("meshsim: upstream %s failed: %s\n" % (decision.pod, exc)).encode())
            return
        if decision.fault == "empty":
            payload = b""
        router.record(decision.root, decision.service, decision.pod, status)
        self.send_response(status)
        for key, value in headers:
            if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                self.send_header(key, value)
        for key, value in tag.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _forward(self, port, path, body, host):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=UPSTREAM_TIMEOUT)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["Host"] = host
            headers["Connection"] = "close"
            conn.request(self.command, path, body=body, headers=headers)
            resp = conn.getresponse()
            payload = resp.read()
            return resp.status, resp.getheaders(), payload
        finally:
            conn.close()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _handle


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, router, port=0):
        super().__init__(("127.0.0.1", port), Handler)
        self.router = router


def serve_in_thread(router, port=0):
    """Start the proxy on 127.0.0.1:``port`` (0 = any free port); return (server, thread)."""
    server = Server(router, port)
    thread = threading.Thread(target=server.serve_forever, name="meshsim-router", daemon=True)
    thread.start()
    return server, thread
