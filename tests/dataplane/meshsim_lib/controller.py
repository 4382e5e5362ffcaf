"""The reconcile loop: API objects -> local processes, Envoy configuration, kwok Logs/Exec."""

import json
import logging
import os
import threading
import time

from . import envoy, faults, podspec, procs, routestatus, routing

LOG = logging.getLogger("meshsim")


def _meta(obj):
    return obj.get("metadata") or {}


def _runnable(pod):
    meta = _meta(pod)
    return not meta.get("deletionTimestamp") and (pod.get("status") or {}).get("phase") == "Running"


class Frontend:
    """The containers of one frontend pod, plus its restart bookkeeping."""

    def __init__(self, uid, containers, token):
        self.uid = uid
        self.containers = containers  # name -> procs.ContainerProc
        self.token = token
        self.hooks_applied = False

    def close(self):
        for proc in self.containers.values():
            proc.close()


class Controller:
    def __init__(self, kube, state_dir, switches, options):
        self.kube = kube
        self.namespace = kube.namespace
        self.state_dir = os.path.abspath(state_dir)
        self.switches = switches
        self.opt = options
        self.backend_selector = faults.parse_selector(options.backend_selector)
        self.frontend_selector = faults.parse_selector(options.frontend_selector)
        self.route_controller_name = options.route_controller_name  # controllerName of the HTTPRoute status
        self.backends = {}   # pod name -> (uid, procs.NginxPod)
        self.failed = {}     # pod name -> (uid, monotonic time of the last failure)
        self.frontends = {}  # pod name -> Frontend
        self.snapshot = None
        self.envoy = envoy.Envoy(os.path.join(self.state_dir, "envoy"), options.router_port,
                                 getattr(options, "envoy_admin_port", 0))
        self.envoy_failed_at = None
        self.sources = {}
        self.router_port = None
        self.api_error = None
        self.status_timers = []  # delayed restart records (meshsim.test/restart-status-delay)

    # lifecycle ---------------------------------------------------------------------------

    def start_router(self):
        """Start Envoy, the data plane's proxy (routes nothing but 503 until the first reconcile)."""
        self.envoy.start()
        self.router_port = self.envoy.port
        LOG.info("Envoy (the mesh's proxy) on %s, admin %s", self.envoy.url, self.envoy.admin)
        return self.router_port

    @property
    def proxy_url(self):
        return self.envoy.url

    def shutdown(self):
        for timer in self.status_timers:
            timer.cancel()
        for name in list(self.frontends):
            self._stop_frontend(name, delete_hooks=False)
        for name in list(self.backends):
            self._stop_backend(name)
        self.envoy.stop()

    # one pass ----------------------------------------------------------------------------

    def reconcile(self, objs):
        pods = objs["pods"]
        by_name = {_meta(p)["name"]: p for p in pods}
        self._reconcile_backends(by_name)
        self._reconcile_frontends(by_name)
        self._reconcile_route_status(objs)
        ports = {name: entry[1].port for name, entry in self.backends.items() if entry[1].alive()}
        self.snapshot = routing.Snapshot(self.namespace, objs["services"], pods, objs["splits"], objs["routes"],
                                         ports)
        self._apply_faults(self.snapshot)
        self._push_envoy(self.snapshot)

    def _apply_faults(self, snap):
        """Each backend pod's fault switch -> its nginx flag file (a bad value answers 502)."""
        for name, (_uid, nginx) in self.backends.items():
            try:
                mode = faults.backend_fault(snap.pod(name), snap.services.values(), self.switches)
            except faults.SwitchError as exc:
                if nginx.fault != "bad":
                    LOG.error("backend pod %s: %s", name, exc)
                mode = "bad"
            nginx.set_fault(mode)

    def _push_envoy(self, snap):
        """Keep Envoy running and its routes/clusters files equal to the snapshot's rendering."""
        if not self.envoy.alive():
            if self.envoy_failed_at is None:
                LOG.error("envoy exited with %s; restarting it (see %s)", self.envoy.proc.returncode,
                          self.envoy.log_path)
                self.envoy_failed_at = time.monotonic()
            if time.monotonic() - self.envoy_failed_at < 2.0:
                return
            try:
                self.envoy.start()
                self.envoy_failed_at = None
            except envoy.EnvoyError as exc:
                LOG.error("envoy restart failed: %s", exc)
                self.envoy_failed_at = time.monotonic()
                return
        cds, rds, sources, _routes = self.envoy.push_snapshot(snap, self.switches)
        if cds:
            LOG.info("envoy clusters %s: %s", cds, ", ".join(
                "%s=%s" % (s, ",".join(snap.endpoints(s)) or "-") for s in snap.services))
        if rds or sources != self.sources:
            LOG.info("envoy routes %s: %s", rds, ", ".join("%s <- %s" % kv for kv in sources.items()))
            self.sources = sources

    def _reconcile_route_status(self, objs):
        names = set(_meta(s)["name"] for s in objs["services"])
        for route in objs["routes"]:
            parents = routestatus.desired_parents(route, names, procs.rfc3339_now(),
                                                  controller_name=self.route_controller_name)
            if not routestatus.needs_update(route, parents):
                continue
            try:
                self.kube.write_route_status(route, parents)
                LOG.info("HTTPRoute %s: status written for Service parents as %s", _meta(route)["name"],
                         self.route_controller_name)
            except Exception as exc:  # a concurrent write: next poll retries
                LOG.warning("HTTPRoute %s: status not written: %s", _meta(route)["name"], exc)

    def _is(self, pod, selector):
        return routing.selector_matches(selector, _meta(pod).get("labels"))

    def _reconcile_backends(self, by_name):
        wanted = {n: p for n, p in by_name.items() if self._is(p, self.backend_selector) and _runnable(p)}
        for name in list(self.backends):
            uid, nginx = self.backends[name]
            if name not in wanted or _meta(wanted[name]).get("uid") != uid or not nginx.alive():
                self._stop_backend(name)
        for name, pod in wanted.items():
            if name in self.backends:
                continue
            if self._backing_off(name, pod):
                continue
            uid = _meta(pod).get("uid")
            try:
                self.backends[name] = (uid, self._start_backend(pod))
                self.failed.pop(name, None)
            except Exception as exc:  # API errors (ConfigMap missing), bad config, nginx failing
                LOG.error("backend pod %s not started: %s", name, exc)
                self.failed[name] = (uid, time.monotonic())

    def _backing_off(self, name, pod):
        """True for 5 s after a failed start of this pod (like a short CrashLoopBackOff)."""
        last = self.failed.get(name)
        return bool(last and last[0] == _meta(pod).get("uid") and time.monotonic() - last[1] < 5.0)

    def _start_backend(self, pod):
        name = _meta(pod)["name"]
        container = podspec.backend_container(pod)
        configmap = podspec.configmap_mount(pod, container)[1]
        files = self.kube.configmap_data(configmap)
        run_dir = os.path.join(self.state_dir, "pods", name + "-" + _meta(pod)["uid"][:8])
        nginx = procs.NginxPod(name, run_dir, files, podspec.container_ports(container))
        nginx.start()
        return nginx

    def _stop_backend(self, name):
        nginx = self.backends.pop(name)[1]
        nginx.stop()
        LOG.info("backend pod %s: nginx stopped", name)

    def _reconcile_frontends(self, by_name):
        wanted = {n: p for n, p in by_name.items() if self._is(p, self.frontend_selector) and _runnable(p)}
        for name in list(self.frontends):
            if name not in wanted or _meta(wanted[name]).get("uid") != self.frontends[name].uid:
                self._stop_frontend(name, delete_hooks=name not in by_name)
        for name, pod in wanted.items():
            front = self.frontends.get(name)
            if front is None:
                if self._backing_off(name, pod):
                    continue
                try:
                    front = self.frontends[name] = self._start_frontend(pod)
                    self.failed.pop(name, None)
                except (podspec.SpecError, OSError) as exc:
                    LOG.error("frontend pod %s not started: %s", name, exc)
                    self.failed[name] = (_meta(pod).get("uid"), time.monotonic())
                    continue
            if not front.hooks_applied:
                try:
                    self.kube.apply_pod_hooks(pod, *self._hook_specs(front))
                    front.hooks_applied = True
                except Exception as exc:
                    LOG.error("kwok Logs/Exec for pod %s not written yet: %s", name, exc)
            self._maybe_restart(name, pod, front)

    def _start_frontend(self, pod):
        meta = _meta(pod)
        base = os.path.join(self.state_dir, "pods", meta["name"] + "-" + meta["uid"][:8])
        containers = {}
        specs, skipped = podspec.runnable_containers(pod)
        if skipped:
            LOG.warning("frontend pod %s: containers without a command not run locally: %s", meta["name"], skipped)
        try:
            for spec in specs:
                argv = podspec.container_argv(spec, self.opt.frontend_sleep_scale)
                env = podspec.container_env(spec, meta["name"], self.proxy_url, _base_env())
                proc = procs.ContainerProc(meta["name"], spec["name"], argv, env, os.path.join(base, spec["name"]))
                proc.start()
                containers[spec["name"]] = proc
        except (podspec.SpecError, OSError):
            for proc in containers.values():
                proc.close()
            raise
        return Frontend(meta["uid"], containers, faults.restart_token(pod))

    def _hook_specs(self, front):
        logs = [(c, p.log.path, p.log.previous_path) for c, p in front.containers.items()]
        execs = [(c, p.work_dir, podspec.proxy_env(self.proxy_url)) for c, p in front.containers.items()]
        return podspec.logs_spec(logs), podspec.exec_spec(execs)

    def _maybe_restart(self, name, pod, front):
        token = faults.restart_token(pod)
        try:
            every = faults.restart_every(pod, self.switches)
        except faults.SwitchError as exc:
            LOG.error("pod %s: %s", name, exc)
            every = 0
        for proc in front.containers.values():
            reason = None
            if token != front.token:
                reason = "annotation %s=%r" % (faults.RESTART, token)
            elif every and time.monotonic() - proc.started_at >= every:
                reason = "every %.1fs" % every
            elif not proc.alive() and time.monotonic() - proc.started_at >= 2.0:
                reason = "exited with %s" % proc.proc.returncode
            if reason:
                LOG.info("frontend pod %s/%s: restart (%s)", name, proc.container, reason)
                started = proc.started_wall
                proc.restart()
                self._record_restart(name, pod, proc.container, proc.restarts, started)
        front.token = token

    def _record_restart(self, name, pod, container, restarts, started):
        """Publish the restart in the pod status, at once or after the pod's restart-status-delay."""
        finished = procs.rfc3339_now()
        try:
            delay = faults.restart_status_delay(pod)
        except faults.SwitchError as exc:
            LOG.error("pod %s: %s", name, exc)
            delay = 0.0
        if delay <= 0:
            self._write_restart(name, container, restarts, started, finished)
            return
        LOG.info("frontend pod %s/%s: restart %d published in the pod status in %.2fs", name, container, restarts,
                 delay)
        timer = threading.Timer(delay, self._write_restart, (name, container, restarts, started, finished))
        timer.daemon = True
        self.status_timers = [t for t in self.status_timers if t.is_alive()] + [timer]
        timer.start()

    def _write_restart(self, name, container, restarts, started, finished):
        try:
            self.kube.record_restart(name, container, restarts, started, finished)
        except Exception as exc:  # the restart happened; only its record in the API is missing
            LOG.warning("pod %s: restart not recorded in the pod status: %s", name, exc)

    def _stop_frontend(self, name, delete_hooks):
        front = self.frontends.pop(name)
        front.close()
        LOG.info("frontend pod %s stopped", name)
        if delete_hooks:
            try:
                self.kube.delete_pod_hooks(name)
            except Exception as exc:
                LOG.warning("kwok Logs/Exec of pod %s not deleted: %s", name, exc)

    # status -----------------------------------------------------------------------------

    def status(self):
        return {
            "router": self.proxy_url,
            "namespace": self.namespace,
            "api_error": self.api_error,
            "route_controller_name": self.route_controller_name,
            "backends": {n: {"port": e[1].port, "alive": e[1].alive(), "run_dir": e[1].run_dir}
                         for n, e in sorted(self.backends.items())},
            "frontends": {n: {c: {"pid": p.proc.pid if p.proc else None, "restarts": p.restarts,
                                  "log": p.log.path, "previous_log": p.log.previous_path}
                              for c, p in f.containers.items()}
                          for n, f in sorted(self.frontends.items())},
            "envoy": {"admin": self.envoy.admin, "pid": self.envoy.proc.pid if self.envoy.proc else None,
                      "alive": self.envoy.alive(), "versions": dict(self.envoy.versions),
                      "run_dir": self.envoy.run_dir, "routes": dict(self.sources)},
            "counts": self._counts(),
        }

    def _counts(self):
        """Requests per Service and pod as Envoy counted them (its admin /clusters)."""
        if not self.envoy.alive():
            return []
        pods = {"127.0.0.1:%d" % entry[1].port: name for name, entry in self.backends.items()}
        try:
            stats = self.envoy.host_stats()
        except (OSError, ValueError) as exc:
            return [{"error": "envoy admin: %s" % exc}]
        return [{"service": cluster, "pod": pods.get(addr, addr), "requests": s.get("rq_total", 0),
                 "errors": s.get("rq_error", 0)} for cluster, addr, s in stats if s.get("rq_total")]

    def write_status(self):
        path = os.path.join(self.state_dir, "status.json")
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(self.status(), fh, indent=1, sort_keys=True)
        os.replace(tmp, path)


def _base_env():
    keep = ("PATH", "LANG", "LC_ALL", "TZ")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.setdefault("PATH", "/usr/local/bin:/usr/bin:/bin")
    return env
