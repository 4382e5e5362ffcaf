"""module_utils._kube.Cluster with the real kubernetes client against a stand-in HTTP API on 127.0.0.1.

The stand-in answers a handful of Kubernetes REST paths with canned JSON (it is not an API server); it checks
that the adapter builds the requests it should (paths, query parameters, resourceVersion on replace) and reads
the answers right with the pinned client (raw log text, 404 as "absent", 409 as a clear message).
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs, urlparse

import pytest
from module_args import split_params

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._kube import auth_argument_spec, connect, kubeconfig_secrets
from ansible_collections.meshlab.canary.plugins.module_utils._split_api import ensure_split

TS_PATH = "/apis/split.smi-spec.io/v1alpha3/namespaces/default/trafficsplits"
LOG_TEXT = '2026-11-27T18:30:00.000000001Z {"name":"backend","version":"1"} \n'


def status(code, reason):
    return {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": reason, "reason": reason,
            "code": code}


class Api(object):
    def __init__(self):
        self.requests = []
        self.objects = {}
        self.rv = 1
        self.smi_served = True

    def handle(self, method, path, query, body):
        self.requests.append((method, path, query, body))
        if path == "/version":
            return 200, {"major": "1", "minor": "30", "gitVersion": "v1.30.0"}
        if path == "/api":
            return 200, {"kind": "APIVersions", "versions": ["v1"]}
        if path == "/apis" and not self.smi_served:
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []}
        if path == "/apis":
            return 200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [{
                "name": "split.smi-spec.io", "versions": [{"groupVersion": "split.smi-spec.io/v1alpha3",
                                                           "version": "v1alpha3"}],
                "preferredVersion": {"groupVersion": "split.smi-spec.io/v1alpha3", "version": "v1alpha3"}}]}
        if path == "/apis/split.smi-spec.io/v1alpha3":
            return 200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "split.smi-spec.io/v1alpha3",
                         "resources": [{"name": "trafficsplits", "singularName": "trafficsplit", "namespaced": True,
                                        "kind": "TrafficSplit", "verbs": ["get", "list", "create", "update",
                                                                          "delete"]}]}
        if path.startswith("/api/v1/namespaces/default/services/"):
            name = path.rsplit("/", 1)[1]
            if name in ("backend-svc", "backend-v1", "backend-v2"):
                return 200, {"kind": "Service", "apiVersion": "v1", "metadata": {"name": name, "namespace": "default"},
                             "spec": {"ports": [{"port": 80, "protocol": "TCP"}]}}
            return 404, status(404, "NotFound")
        if path.startswith(TS_PATH):
            return self.trafficsplit(method, path, body)
        if path == "/api/v1/namespaces/default/pods":
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": [{
                "metadata": {"name": "frontend-a", "uid": "u1", "namespace": "default"},
                "spec": {"containers": [{"name": "frontend", "image": "curl"}]},
                "status": {"phase": "Running", "containerStatuses": [{
                    "name": "frontend", "restartCount": 0, "ready": True, "image": "curl", "imageID": "x",
                    "containerID": "containerd://abc", "state": {"running": {"startedAt": "2026-11-27T18:00:00Z"}}}]}}]}
        if path == "/api/v1/namespaces/default/pods/frontend-a/log":
            return 200, LOG_TEXT
        return 404, status(404, "NotFound")

    def trafficsplit(self, method, path, body):
        name = path[len(TS_PATH) + 1:] if len(path) > len(TS_PATH) else None
        if method == "POST":
            obj = json.loads(body)
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[obj["metadata"]["name"]] = obj
            return 201, obj
        if name not in self.objects:
            return 404, status(404, "NotFound")
        if method == "GET":
            return 200, self.objects[name]
        if method == "PUT":
            obj = json.loads(body)
            if obj["metadata"].get("resourceVersion") != self.objects[name]["metadata"]["resourceVersion"]:
                return 409, status(409, "Conflict")
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            self.objects[name] = obj
            return 200, obj
        if method == "DELETE":
            del self.objects[name]
            return 200, status(200, "Success")
        return 405, status(405, "MethodNotAllowed")


@pytest.fixture()
def api():
    state = Api()

    class Handler(BaseHTTPRequestHandler):
        def _any(self):
            url = urlparse(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else None
            path = url.path.rstrip("/") or "/"  # the API server answers with or without a trailing slash
            code, payload = state.handle(self.command, path, parse_qs(url.query), body)
            data = payload if isinstance(payload, str) else json.dumps(payload)
            self.send_response(code)
            self.send_header("Content-Type", "text/plain" if isinstance(payload, str) else "application/json")
            self.send_header("Content-Length", str(len(data.encode())))
            self.end_headers()
            self.wfile.write(data.encode())

        do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _any

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = "http://127.0.0.1:{0}".format(server.server_address[1])
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class StubModule(object):
    """What kubernetes.core's get_api_client reads from an AnsibleK8SModule."""

    server_side_dry_run = False

    def __init__(self, params):
        self.params = params

    def requires(self, dependency, minimum=None, reason=None):
        pass


def cluster_for(api):
    return connect(StubModule({"host": api.url, "api_key": "stand-in-token"}))


def test_discovery_services_and_objects(api):
    cluster = cluster_for(api)
    assert cluster.served_versions("split.smi-spec.io", "trafficsplits") == ["v1alpha3"]
    assert cluster.served_versions("gateway.networking.k8s.io", "httproutes") == []
    assert cluster.get_service("backend-v1", "default")["spec"]["ports"][0]["port"] == 80
    assert cluster.get_service("nope", "default") is None
    assert cluster.get_object("split.smi-spec.io", "v1alpha3", "trafficsplits", "x", "default") is None
    # discovery is kubernetes.core's LazyDiscoverer: the group list, then only the group asked for
    assert [r for r in api.requests if r[1] == "/apis"]
    assert [r for r in api.requests if r[1] == "/apis/split.smi-spec.io/v1alpha3"]


def test_a_removed_crd_is_not_served_in_the_next_run(api):
    # kubernetes.core's discovery cache outlives the task (a file per host and OS user): each run refreshes it
    assert cluster_for(api).served_versions("split.smi-spec.io", "trafficsplits") == ["v1alpha3"]
    api.smi_served = False
    assert cluster_for(api).served_versions("split.smi-spec.io", "trafficsplits") == []


def test_ensure_split_through_the_real_client(api):
    cluster = cluster_for(api)
    p = split_params(name="backend-ts", service="backend-svc",
                     backends=[{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}])
    first = ensure_split(cluster, p)
    assert first["changed"] is True
    posted = json.loads([r for r in api.requests if r[0] == "POST"][0][3])
    assert posted["spec"]["backends"] == [{"service": "backend-v1", "weight": 90},
                                          {"service": "backend-v2", "weight": 10}]
    assert ensure_split(cluster, p)["changed"] is False
    p["backends"][0]["weight"] = 20
    p["backends"][1]["weight"] = 80
    assert ensure_split(cluster, p)["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    put = json.loads([r for r in api.requests if r[0] == "PUT"][-1][3])
    assert put["metadata"]["resourceVersion"] == "2"
    gone = ensure_split(cluster, dict(p, state="absent"))
    assert gone["changed"] is True and api.objects == {}


def test_conflict_is_reported_clearly(api):
    cluster = cluster_for(api)
    body = {"apiVersion": "split.smi-spec.io/v1alpha3", "kind": "TrafficSplit",
            "metadata": {"name": "t", "namespace": "default"}, "spec": {"service": "s", "backends": []}}
    cluster.create_object("split.smi-spec.io", "v1alpha3", "trafficsplits", "default", body)
    stale = dict(body, metadata={"name": "t", "namespace": "default", "resourceVersion": "1"})
    with pytest.raises(CanaryError) as err:
        cluster.replace_object("split.smi-spec.io", "v1alpha3", "trafficsplits", "t", "default", stale)
    assert "the object was changed by someone else meanwhile: run the task again" in str(err.value)
    assert err.value.fields["status"] == 409


def test_pods_and_raw_log_with_query_parameters(api):
    cluster = cluster_for(api)
    pods = cluster.list_pods("default", "app=frontend")
    assert [p["metadata"]["name"] for p in pods] == ["frontend-a"]
    assert pods[0]["status"]["containerStatuses"][0]["state"]["running"]
    assert [r[2] for r in api.requests if r[1] == "/api/v1/namespaces/default/pods"][-1] == {
        "labelSelector": ["app=frontend"]}
    text = cluster.read_log("frontend-a", "default", "frontend", since_seconds=30, previous=True)
    assert text == LOG_TEXT  # raw text: never JSON-decoded or re-quoted
    query = [r[2] for r in api.requests if r[1].endswith("/log")][-1]
    assert query == {"container": ["frontend"], "previous": ["true"], "sinceSeconds": ["30"],
                     "timestamps": ["true"]}
    cluster.read_log("frontend-a", "default", "frontend", tail_lines=1)
    query = [r[2] for r in api.requests if r[1].endswith("/log")][-1]
    assert query == {"container": ["frontend"], "tailLines": ["1"], "timestamps": ["true"]}


def test_kubeconfig_secrets_are_the_credentials_only():
    kubeconfig = {"apiVersion": "v1", "kind": "Config",
                  "users": [{"name": "u", "user": {"token": "t0k", "client-key-data": "a2V5",
                                                   "client-certificate-data": "Y2VydA==",
                                                   "auth-provider": {"config": {"refresh-token": "r",
                                                                                "client-secret": "s"}},
                                                   "exec": {"command": "aws", "env": [{"name": "AWS_SECRET",
                                                                                       "value": "e"}]}}}],
                  "clusters": [{"name": "c", "cluster": {"server": "https://x", "certificate-authority-data": "Y2E="}}]}
    assert kubeconfig_secrets(kubeconfig) == {"t0k", "a2V5", "Y2VydA==", "r", "s", "e"}
    assert kubeconfig_secrets("/home/me/.kube/config") == set()
    assert kubeconfig_secrets(None) == set()


def test_auth_argument_spec_copies_and_unmarks_kubeconfig_only():
    from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

    spec = auth_argument_spec(AUTH_ARG_SPEC)
    assert spec["kubeconfig"]["no_log"] is False and spec["api_key"]["no_log"] is True
    assert AUTH_ARG_SPEC["kubeconfig"] is not spec["kubeconfig"]
    spec["proxy_headers"]["options"]["basic_auth"]["no_log"] = False
    assert AUTH_ARG_SPEC["proxy_headers"]["options"]["basic_auth"]["no_log"] is True
