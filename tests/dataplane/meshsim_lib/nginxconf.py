"""Rewrite a backend pod's nginx.conf (as deployed in its ConfigMap) to run locally.

Only what is needed to run it unprivileged on loopback is changed:
- ``listen <containerPort>`` (bare port, ``*:port`` or ``0.0.0.0:port``) becomes
  ``listen 127.0.0.1:<local port>``; ``[::]:port`` listeners are dropped (no IPv6 here);
- ``pid``, ``daemon off``, ``error_log`` in the main context and the temp/access-log
  paths in the ``http`` block are pointed at the pod's run directory.
Anything else (another address, another port) is rejected with ConfigError.

One addition serves meshsim's fault switch (``meshsim.test/fault``): each ``server``
block starts with ``if (-f <run dir>/fault-<mode>) { return ...; }`` lines, so
creating or removing a flag file makes this pod answer HTTP 500 (nginx's error page
on one line) or an empty 200, without a reload; no flag file, no change.
"""

import os
import re

from . import faults


class ConfigError(ValueError):
    """The nginx.conf cannot be run on loopback as is."""


_COMMENT = re.compile(r"#[^\n]*")
_LISTEN = re.compile(r"(?P<indent>\blisten\s+)(?P<addr>[^\s;]+)(?P<rest>[^;]*);")
_HTTP_OPEN = re.compile(r"\bhttp\s*\{")
_SERVER_OPEN = re.compile(r"\bserver\s*\{")
_TEMP_PATHS = (
    "client_body_temp_path",
    "proxy_temp_path",
    "fastcgi_temp_path",
    "uwsgi_temp_path",
    "scgi_temp_path",
)
# mode -> (status, body) that nginx returns while the mode's flag file exists
FAULT_RESPONSES = {
    "http500": (500, faults.HTTP500_BODY.decode()),
    "empty": (200, ""),
    "bad": (502, "meshsim: bad fault switch on this pod (see meshsim.log)"),
}
FAULT_MODES = tuple(sorted(FAULT_RESPONSES))


def fault_flag(run_dir, mode):
    """The flag file that switches fault ``mode`` on for the pod whose run dir is ``run_dir``."""
    return os.path.join(run_dir, "fault-%s" % mode)


def _fault_lines(run_dir):
    lines = ["# meshsim fault switches (meshsim.test/fault): a flag file per mode"]
    for mode in FAULT_MODES:
        status, body = FAULT_RESPONSES[mode]
        lines.append("if (-f %s) { return %d '%s'; }" % (fault_flag(run_dir, mode), status, body))
    return lines


def _strip_comments(text):
    # nginx comments run from '#' to end of line; quoted '#' is rare in these
    # configs and only matters for directive detection, never for output.
    return _COMMENT.sub("", text)


def _listen_target(addr, container_ports):
    """Return True to rewrite, False to drop (IPv6), raise for anything else."""
    if addr.startswith("[") or addr.startswith("unix:"):
        if addr.startswith("[::]:") and addr[5:].isdigit() and int(addr[5:]) in container_ports:
            return False
        raise ConfigError("listen %s: only IPv4 ports %s can run on loopback" % (addr, sorted(container_ports)))
    host, port = addr.rpartition(":")[::2]
    if host not in ("", "*", "0.0.0.0"):
        raise ConfigError("listen %s: a fixed address cannot run on loopback; listen on a port only" % addr)
    if not port.isdigit() or int(port) not in container_ports:
        raise ConfigError(
            "listen %s: port is not a declared containerPort %s" % (addr, sorted(container_ports)))
    return True


def rewrite(conf, local_port, run_dir, container_ports=(80,), worker_user=None):
    """Return the nginx.conf text to run locally.

    ``local_port``: the 127.0.0.1 port this pod gets; ``run_dir``: absolute
    directory for pid, logs and temp files; ``container_ports``: the ports the
    container declares (the tutorial: 80); ``worker_user``: the ``user`` of the
    worker processes when the master runs as root (else nginx's default ``nobody``
    could not see the fault flag files in a private run dir).
    """
    if not run_dir.startswith("/"):
        raise ConfigError("run_dir must be absolute, got %r" % run_dir)
    ports = set(int(p) for p in container_ports) or {80}
    code = _strip_comments(conf)
    if not _LISTEN.search(code):
        raise ConfigError("nginx.conf has no 'listen' directive; nothing would serve the pod's port")
    if not _HTTP_OPEN.search(code):
        raise ConfigError("nginx.conf has no 'http {' block")

    def _sub(match):
        if _listen_target(match.group("addr"), ports):
            rest = match.group("rest")
            # reuseport/ipv6only options tied to the original socket are dropped
            rest = re.sub(r"\s+(ipv6only=\S+|reuseport)", "", rest)
            return "%s127.0.0.1:%d%s;" % (match.group("indent"), local_port, rest)
        return ""  # an IPv6 listener: dropped, loopback here is IPv4 only

    out = _LISTEN.sub(_sub, conf)

    main = []
    if re.search(r"(^|[;{}\s])pid\s", code):
        out = re.sub(r"(^|(?<=[;{}\s]))pid\s+[^;]+;", "pid %s/nginx.pid;" % run_dir, out, count=1)
    else:
        main.append("pid %s/nginx.pid;" % run_dir)
    if re.search(r"(^|[;{}\s])daemon\s", code):
        out = re.sub(r"(^|(?<=[;{}\s]))daemon\s+[^;]+;", "daemon off;", out, count=1)
    else:
        main.append("daemon off;")
    main.append("error_log %s/error.log;" % run_dir)
    if worker_user:
        if re.search(r"(^|[;{}\s])user\s", code):
            out = re.sub(r"(^|(?<=[;{}\s]))user\s+[^;]+;", "user %s;" % worker_user, out, count=1)
        else:
            main.append("user %s;" % worker_user)

    http = ["access_log %s/access.log;" % run_dir]
    for directive in _TEMP_PATHS:
        if re.search(r"\b%s\s" % directive, code):
            raise ConfigError("%s is set in nginx.conf; meshsim must own temp paths" % directive)
        http.append("%s %s/%s;" % (directive, run_dir, directive.replace("_temp_path", "_temp")))

    header = "# meshsim (loopback stand-in for the mesh): run-time paths\n%s\n" % "\n".join(main)
    out = _HTTP_OPEN.sub(lambda m: "http {\n    # meshsim run-time paths\n    %s\n" % "\n    ".join(http), out, count=1)
    hooks = "\n        ".join(_fault_lines(run_dir))

    def _server(match):
        line_start = out.rfind("\n", 0, match.start()) + 1
        if "#" in out[line_start:match.start()]:  # commented out
            return match.group(0)
        return "server {\n        %s\n" % hooks
    out = _SERVER_OPEN.sub(_server, out)
    return header + out
