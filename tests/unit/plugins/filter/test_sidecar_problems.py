import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("sidecar_problems")
problems = mod.sidecar_problems


def _pod(name, containers, deleting=False, owner="backend-v1-5cdbf9586"):
    meta = {"name": name, "namespace": "default", "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "spec": {"containers": [{"name": c} for c in containers]}}


def test_all_injected():
    assert problems([_pod("a", ["backend-v1", "nginx-mesh-sidecar"]), _pod("b", ["frontend", "nginx-mesh-sidecar"])]) == []


def test_missing_sidecar_is_explained():
    result = problems([_pod("backend-v1-abc", ["backend-v1"]), _pod("ok", ["x", "nginx-mesh-sidecar"])])
    assert result == [
        "pod default/backend-v1-abc (ReplicaSet backend-v1-5cdbf9586) has containers [backend-v1] but no "
        "nginx-mesh-sidecar: the namespace lacks the label injector.nsm.nginx.com/auto-inject=enabled or the pod "
        "was created before it was set; label the namespace, then restart the workload (kubectl rollout restart)"
    ]


def test_terminating_pods_ignored_and_custom_container():
    assert problems([_pod("old", ["frontend"], deleting=True)]) == []
    assert len(problems([_pod("a", ["app", "nginx-mesh-sidecar"])], container="istio-proxy")) == 1


def test_not_a_list():
    with pytest.raises(AnsibleFilterError, match="list of Pod"):
        problems({"resources": []})
