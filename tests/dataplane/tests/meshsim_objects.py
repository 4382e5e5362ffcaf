"""API objects of the tutorial as the apiserver returns them (JSON dicts), for meshsim tests."""

from meshsim_lib import routing
from meshsim_lib.tutorial import FRONTEND_ARGS

# A kubeconfig whose apiserver is a closed loopback port: meshsim starts, then finds no API (tests that need a
# kubeconfig file but no cluster; some point it at a socket of their own instead).
CLOSED_PORT_KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:9"}}]
users: [{name: u, user: {token: x}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
"""


def service(name, selector, annotations=None):
    return {"metadata": {"name": name, "namespace": "default", "annotations": annotations or {}},
            "spec": {"selector": dict(selector), "ports": [{"port": 80, "targetPort": 80}]}}


def pod(name, labels, ready=True, uid=None, containers=None, volumes=None, annotations=None, deleting=False):
    meta = {"name": name, "namespace": "default", "uid": uid or ("uid-" + name), "labels": dict(labels),
            "annotations": annotations or {}, "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    return {"metadata": meta,
            "spec": {"containers": containers or [], "volumes": volumes or []},
            "status": {"phase": "Running", "podIP": "10.0.0.9",
                       "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


def backend_pod(name, version):
    container = {"name": "backend-v" + version, "image": "nginx", "ports": [{"containerPort": 80}],
                 "volumeMounts": [{"mountPath": "/etc/nginx", "name": "nginx-config"}]}
    volume = {"name": "nginx-config", "configMap": {"name": "backend-v" + version}}
    return pod(name, {"app": "backend", "version": version}, containers=[container], volumes=[volume])


def frontend_pod(name, args=FRONTEND_ARGS, annotations=None):
    container = {"name": "frontend", "image": "curlimages/curl:7.72.0",
                 "command": ["/bin/sh", "-c", "--"], "args": [args]}
    return pod(name, {"app": "frontend"}, containers=[container], annotations=annotations)


def traffic_split(v1, v2, name="backend-ts"):
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"service": "backend-svc",
                     "backends": [{"service": "backend-v1", "weight": v1}, {"service": "backend-v2", "weight": v2}]}}


def http_route(v1, v2, name="backend-route"):
    return {"metadata": {"name": name, "namespace": "default", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"parentRefs": [{"group": "", "kind": "Service", "name": "backend-svc", "port": 80}],
                     "rules": [{"backendRefs": [{"name": "backend-v1", "port": 80, "weight": v1},
                                                {"name": "backend-v2", "port": 80, "weight": v2}]}]}}


def tutorial_services(root_annotations=None):
    return [service("backend-svc", {"app": "backend"}, root_annotations),
            service("backend-v1", {"app": "backend", "version": "1"}),
            service("backend-v2", {"app": "backend", "version": "2"})]


def tutorial_snapshot(splits=(), routes=(), pods=None, root_annotations=None, ports=None):
    pods = pods if pods is not None else [backend_pod("backend-v1-a", "1"), backend_pod("backend-v2-a", "2")]
    ports = ports if ports is not None else {p["metadata"]["name"]: 20000 + i for i, p in enumerate(pods)}
    return routing.Snapshot("default", tutorial_services(root_annotations), pods, splits, routes, ports)
