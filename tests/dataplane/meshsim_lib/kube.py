"""Thin access to the apiserver for meshsim (kubernetes Python client)."""

import json
import logging
import time

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from .routing import GATEWAY_GROUP, ROUTE_PLURAL, SPLIT_GROUP, SPLIT_PLURAL

LOG = logging.getLogger("meshsim.kube")
KWOK = ("kwok.x-k8s.io", "v1alpha1")
TIMEOUT = 5
DISCOVERY_RETRY = 5.0  # seconds between discovery attempts for a group that is not served


class Kube:
    """Lists one namespace's objects as API JSON dicts and writes kwok Logs/Exec objects."""

    def __init__(self, kubeconfig, namespace):
        self.namespace = namespace
        self.api = config.new_client_from_config(config_file=kubeconfig)
        self.core = client.CoreV1Api(self.api)
        self.custom = client.CustomObjectsApi(self.api)
        self._versions = {}  # API group -> (version to list, or None, monotonic time of the lookup)
        self.kwok_mode = None  # "namespaced" (Logs/Exec) or "cluster" (ClusterLogs/ClusterExec)

    def _raw(self, fn, *args):
        resp = fn(*args, _preload_content=False, _request_timeout=TIMEOUT)
        return json.loads(resp.data)["items"]

    def served_version(self, group):
        """The group's preferred served version (any TrafficSplit version lists every object), or None."""
        cached = self._versions.get(group)
        if cached and (cached[0] or time.monotonic() - cached[1] < DISCOVERY_RETRY):
            return cached[0]
        version = None
        for item in client.ApisApi(self.api).get_api_versions(_request_timeout=TIMEOUT).groups or []:
            if item.name == group and item.preferred_version is not None:
                version = item.preferred_version.version
        if version != (cached or (None,))[0]:
            LOG.info("%s: %s", group, "version %s served" % version if version else "not served (CRD absent)")
        self._versions[group] = (version, time.monotonic())
        return version

    def _custom(self, group, plural):
        version = self.served_version(group)
        if version is None:
            return []
        try:
            return self.custom.list_namespaced_custom_object(
                group, version, self.namespace, plural, _request_timeout=TIMEOUT)["items"]
        except ApiException as exc:
            if exc.status == 404:  # the CRD (or this version) went away: look again next time
                LOG.info("%s.%s/%s no longer served", plural, group, version)
                self._versions.pop(group, None)
                return []
            raise

    def list_all(self):
        """``dict(pods, services, splits, routes)`` of the namespace."""
        objs = {
            "pods": self._raw(self.core.list_namespaced_pod, self.namespace),
            "splits": self._custom(SPLIT_GROUP, SPLIT_PLURAL),
        }
        objs.update(self.list_route_inputs())
        return objs

    def list_route_inputs(self):
        """``dict(services, routes)`` of the namespace: what the HTTPRoute status is computed from."""
        return {
            "services": self._raw(self.core.list_namespaced_service, self.namespace),
            "routes": self._custom(GATEWAY_GROUP, ROUTE_PLURAL),
        }

    def configmap_data(self, name):
        resp = self.core.read_namespaced_config_map(name, self.namespace, _preload_content=False,
                                                    _request_timeout=TIMEOUT)
        return json.loads(resp.data).get("data") or {}

    def record_restart(self, pod_name, container, restarts, started_at, finished_at):
        """Write what the kubelet records on a container restart into the pod status.

        restartCount, lastState.terminated and a new containerID, so clients that
        detect restarts from the pod status (and then read ``--previous``) see it.
        """
        pod = json.loads(self.core.read_namespaced_pod_status(
            pod_name, self.namespace, _preload_content=False, _request_timeout=TIMEOUT).data)
        statuses = (pod.get("status") or {}).get("containerStatuses") or []
        for status in statuses:
            if status.get("name") == container:
                previous_id = status.get("containerID")
                status["restartCount"] = restarts
                status["lastState"] = {"terminated": {"exitCode": 143, "reason": "Error", "startedAt": started_at,
                                                      "finishedAt": finished_at, "containerID": previous_id}}
                status["state"] = {"running": {"startedAt": finished_at}}
                status["containerID"] = "meshsim://%s/%s/%s/%d" % (self.namespace, pod_name, container, restarts)
                status["ready"] = True
                status["started"] = True
        body = {"metadata": {"resourceVersion": pod["metadata"]["resourceVersion"]},
                "status": {"containerStatuses": statuses}}
        self.core.patch_namespaced_pod_status(pod_name, self.namespace, body, _request_timeout=TIMEOUT)

    def write_route_status(self, route, parents):
        """Replace an HTTPRoute's ``status.parents`` (optimistic: fails on a concurrent change)."""
        group, plural = GATEWAY_GROUP, ROUTE_PLURAL
        version = route.get("apiVersion", "").rpartition("/")[2] or self.served_version(group)
        body = {"apiVersion": "%s/%s" % (group, version), "kind": "HTTPRoute",
                "metadata": {"name": route["metadata"]["name"], "namespace": self.namespace,
                             "resourceVersion": route["metadata"]["resourceVersion"]},
                "spec": route["spec"], "status": {"parents": parents}}
        self.custom.replace_namespaced_custom_object_status(
            group, version, self.namespace, plural, route["metadata"]["name"], body, _request_timeout=TIMEOUT)

    # kwok Logs / Exec -----------------------------------------------------------------

    def detect_kwok(self):
        """Which kwok CRDs are served: per-pod Logs/Exec, else ClusterLogs/ClusterExec."""
        for mode, plural in (("namespaced", "logs"), ("cluster", "clusterlogs")):
            try:
                if mode == "namespaced":
                    self.custom.list_namespaced_custom_object(*KWOK, self.namespace, plural, _request_timeout=TIMEOUT)
                else:
                    self.custom.list_cluster_custom_object(*KWOK, plural, _request_timeout=TIMEOUT)
                self.kwok_mode = mode
                return mode
            except ApiException as exc:
                if exc.status != 404:
                    raise
        self.kwok_mode = None
        return None

    def _put(self, plural, body, namespaced):
        name = body["metadata"]["name"]
        try:
            if namespaced:
                current = self.custom.get_namespaced_custom_object(
                    *KWOK, self.namespace, plural, name, _request_timeout=TIMEOUT)
            else:
                current = self.custom.get_cluster_custom_object(*KWOK, plural, name, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise
            current = None
        if current is None:
            if namespaced:
                self.custom.create_namespaced_custom_object(*KWOK, self.namespace, plural, body,
                                                            _request_timeout=TIMEOUT)
            else:
                self.custom.create_cluster_custom_object(*KWOK, plural, body, _request_timeout=TIMEOUT)
            return "created"
        if current.get("spec") == body["spec"]:
            return "unchanged"
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if namespaced:
            self.custom.replace_namespaced_custom_object(*KWOK, self.namespace, plural, name, body,
                                                         _request_timeout=TIMEOUT)
        else:
            self.custom.replace_cluster_custom_object(*KWOK, plural, name, body, _request_timeout=TIMEOUT)
        return "replaced"

    def _delete(self, plural, name, namespaced):
        try:
            if namespaced:
                self.custom.delete_namespaced_custom_object(*KWOK, self.namespace, plural, name,
                                                            _request_timeout=TIMEOUT)
            else:
                self.custom.delete_cluster_custom_object(*KWOK, plural, name, _request_timeout=TIMEOUT)
        except ApiException as exc:
            if exc.status != 404:
                raise

    def apply_pod_hooks(self, pod, logs_spec, exec_spec):
        """Create/replace the kwok Logs and Exec objects that serve ``pod``."""
        if self.kwok_mode is None and self.detect_kwok() is None:
            raise RuntimeError("kwok Logs/ClusterLogs CRDs are not served; enable them in the kwok config")
        meta = pod["metadata"]
        if self.kwok_mode == "namespaced":
            owner = [{"apiVersion": "v1", "kind": "Pod", "name": meta["name"], "uid": meta["uid"]}]
            for kind, plural, spec in (("Logs", "logs", logs_spec), ("Exec", "execs", exec_spec)):
                body = {"apiVersion": "%s/%s" % KWOK, "kind": kind,
                        "metadata": {"name": meta["name"], "namespace": self.namespace,
                                     "labels": {"app.kubernetes.io/managed-by": "meshsim"},
                                     "ownerReferences": owner},
                        "spec": spec}
                LOG.info("%s %s/%s: %s", kind, self.namespace, meta["name"], self._put(plural, body, True))
        else:
            selector = {"matchNamespaces": [self.namespace], "matchNames": [meta["name"]]}
            name = "meshsim-%s-%s" % (self.namespace, meta["name"])
            for kind, plural, spec in (("ClusterLogs", "clusterlogs", logs_spec),
                                       ("ClusterExec", "clusterexecs", exec_spec)):
                body = {"apiVersion": "%s/%s" % KWOK, "kind": kind,
                        "metadata": {"name": name, "labels": {"app.kubernetes.io/managed-by": "meshsim"}},
                        "spec": dict(spec, selector=selector)}
                LOG.info("%s %s: %s", kind, name, self._put(plural, body, False))

    def delete_pod_hooks(self, pod_name):
        if self.kwok_mode == "namespaced":
            self._delete("logs", pod_name, True)
            self._delete("execs", pod_name, True)
        elif self.kwok_mode == "cluster":
            name = "meshsim-%s-%s" % (self.namespace, pod_name)
            self._delete("clusterlogs", name, False)
            self._delete("clusterexecs", name, False)
