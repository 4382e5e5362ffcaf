"""A small in-memory stand-in for module_utils._kube.Cluster (same method names and shapes).

It records every call, so tests can assert that bad input never reached the cluster and that a change is one
write. Time is simulated: ``FakeClock`` drives both the module's monotonic clock and the nodes' log clock
(offset by a skew, to show the boundary logic does not depend on controller/node clock agreement).
"""

import copy
import threading

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError

NS = 1000000000


class FakeClock(object):
    def __init__(self, start=1000.0, node_epoch=1795000000.0):
        self.t = start
        self.node_offset = node_epoch - start  # node wall time = t + offset (any skew)
        self.sleeps = []

    def monotonic(self):
        return self.t

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.t += seconds

    def node_ns(self, t=None):
        return int(round(((self.t if t is None else t) + self.node_offset) * NS))


class FakeCluster(object):
    def __init__(self, served=None, services=None, objects=None):
        self.served = served or {}  # (group, plural) -> [versions]
        self.services = services or {}  # (namespace, name) -> service dict
        self.objects = objects or {}  # (group, plural, namespace, name) -> obj
        self.namespaces = {"default"}  # namespaces that exist besides those holding a Service
        self.calls = []
        self.writes = []
        self.rv = 100
        self.on_write = None  # callable(obj) -> obj, e.g. to add a status
        self.on_get = None

    # discovery / objects
    def served_versions(self, group, plural):
        self.calls.append(("served_versions", group, plural))
        return list(self.served.get((group, plural), []))

    def namespace_exists(self, name):
        self.calls.append(("namespace_exists", name))
        return any(key[0] == name for key in self.services) or name in self.namespaces

    def get_service(self, name, namespace):
        self.calls.append(("get_service", name, namespace))
        svc = self.services.get((namespace, name))
        return copy.deepcopy(svc)

    def get_object(self, group, version, plural, name, namespace):
        self.calls.append(("get_object", group, version, plural, name, namespace))
        obj = self.objects.get((group, plural, namespace, name))
        if obj is not None and self.on_get:
            obj = self.on_get(obj)
            self.objects[(group, plural, namespace, name)] = obj
        return copy.deepcopy(obj)

    def _store(self, group, plural, namespace, body, create):
        key = (group, plural, namespace, body["metadata"]["name"])
        if create and key in self.objects:
            raise CanaryError("conflict: exists", status=409)
        if not create:
            current = self.objects.get(key)
            if current is None:
                raise CanaryError("not found", status=404)
            if body["metadata"].get("resourceVersion") != current["metadata"].get("resourceVersion"):
                raise CanaryError("Kubernetes API error: the object was changed by someone else", status=409)
        obj = copy.deepcopy(body)
        self.rv += 1
        obj["metadata"]["resourceVersion"] = str(self.rv)
        obj["metadata"]["generation"] = (obj["metadata"].get("generation") or 0) + 1
        if self.on_write:
            obj = self.on_write(obj)
        self.objects[key] = obj
        self.writes.append(copy.deepcopy(obj))
        return copy.deepcopy(obj)

    def create_object(self, group, version, plural, namespace, body):
        self.calls.append(("create_object", group, version, plural, namespace))
        return self._store(group, plural, namespace, body, True)

    def replace_object(self, group, version, plural, name, namespace, body):
        self.calls.append(("replace_object", group, version, plural, name, namespace))
        return self._store(group, plural, namespace, body, False)

    def delete_object(self, group, version, plural, name, namespace):
        self.calls.append(("delete_object", group, version, plural, name, namespace))
        self.writes.append(("deleted", name))
        self.objects.pop((group, plural, namespace, name), None)

    def write_calls(self):
        return [c for c in self.calls if c[0] in ("create_object", "replace_object", "delete_object")]


def service(name, namespace="default", ports=(80,)):
    return {"metadata": {"name": name, "namespace": namespace}, "spec": {"ports": [{"port": p} for p in ports]}}


class LogPod(object):
    """One client pod: its container's log lines (node time in ns) per instance, and its status."""

    def __init__(self, name, container="frontend", containers=None, uid=None):
        self.name = name
        self.uid = uid or "uid-" + name
        self.container = container
        self.containers = containers or [container, "nginx-mesh-sidecar"]
        self.instances = [[]]  # list of instances, each a list of (ts_ns, text)
        self.running = True
        self.status_restarts = None  # restarts published in the pod status; None: up to date (no lag)

    def log(self, ts_ns, text):
        self.instances[-1].append((ts_ns, text))

    def restart(self):
        self.instances.append([])

    def as_dict(self):
        restarts = len(self.instances) - 1 if self.status_restarts is None else self.status_restarts
        return {
            "metadata": {"name": self.name, "uid": self.uid},
            "spec": {"containers": [{"name": c} for c in self.containers]},
            "status": {
                "phase": "Running" if self.running else "Pending",
                "containerStatuses": [{
                    "name": self.container,
                    "restartCount": restarts,
                    "containerID": "containerd://{0}-{1}".format(self.name, restarts),
                    "state": {"running": {}} if self.running else {"waiting": {}},
                }],
            },
        }


def fmt_ns(ns):
    import time
    seconds, frac = divmod(ns, NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".{0:09d}Z".format(frac)


class FakeLogCluster(object):
    """Pods whose logs grow with simulated time; read_log behaves like the kubelet (sinceSeconds, previous,
    tailLines, timestamps)."""

    def __init__(self, clock, pods, generator=None, cri=False):
        self.clock = clock
        self.pods = dict((p.name, p) for p in pods)
        self.generator = generator  # callable(cluster, from_t, to_t) appending lines for the elapsed time
        self.generated_until = clock.t
        self.cri = cri
        self.reads = []
        self.execs = []
        self.exec_handler = None
        self.namespaces = {"default"}
        self.after_read = None  # callable(cluster, read tuple), e.g. to rotate a log between two reads
        self._lock = threading.Lock()  # the module reads pods from a thread pool: generate lines once

    def namespace_exists(self, name):
        return name in self.namespaces

    def _advance(self):
        with self._lock:
            if self.generator and self.clock.t > self.generated_until:
                self.generator(self, self.generated_until, self.clock.t)
                self.generated_until = self.clock.t

    def list_pods(self, namespace, selector):
        self._advance()
        return [p.as_dict() for p in self.pods.values()]

    def read_log(self, name, namespace, container, since_seconds=None, previous=False, tail_lines=None):
        self._advance()
        self.reads.append((name, since_seconds, previous, tail_lines))
        try:
            return self._read(name, container, since_seconds, previous, tail_lines)
        finally:
            if self.after_read:
                self.after_read(self, self.reads[-1])

    def _read(self, name, container, since_seconds, previous, tail_lines):
        pod = self.pods[name]
        if container not in pod.containers:
            raise CanaryError("container not found")
        if previous:
            if len(pod.instances) < 2:
                return ""
            lines = pod.instances[-2]
        else:
            lines = pod.instances[-1]
        now = self.clock.node_ns()
        lines = [(ts, text) for ts, text in lines if ts <= now]
        if since_seconds is not None:
            lines = [(ts, text) for ts, text in lines if ts >= now - since_seconds * NS]
        if tail_lines is not None:
            lines = lines[-tail_lines:]
        if self.cri:
            return "".join("{0} stdout F {1}\n".format(fmt_ns(ts), text) for ts, text in lines)
        return "".join("{0} {1}\n".format(fmt_ns(ts), text) for ts, text in lines)

    def exec_sh(self, name, namespace, container, script, timeout):
        self.execs.append((name, container, script, timeout))
        return self.exec_handler(self, name, container, script, timeout)
