import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("sidecar_problems")
problems = mod.sidecar_problems

NSM = "nginx-mesh-sidecar"
LINKERD = "linkerd-proxy"
NSM_HINT = "label the namespace injector.nsm.nginx.com/auto-inject=enabled, then kubectl rollout restart"
LINKERD_HINT = "annotate the namespace linkerd.io/inject: enabled, then kubectl rollout restart"


def _pod(name, containers, deleting=False, owner="backend-v1-5cdbf9586", init=None):
    """init: [(name, restartPolicy or None)] for spec.initContainers."""
    meta = {"name": name, "namespace": "default", "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    spec = {"containers": [{"name": c} for c in containers]}
    if init is not None:
        spec["initContainers"] = [dict({"name": n}, **({"restartPolicy": p} if p else {})) for n, p in init]
    return {"metadata": meta, "spec": spec}


def test_all_injected():
    pods = [_pod("a", ["backend-v1", NSM]), _pod("b", ["frontend", NSM])]
    assert problems(pods, NSM, NSM_HINT) == []


def test_missing_sidecar_is_explained_with_the_hint_given():
    result = problems([_pod("backend-v1-abc", ["backend-v1"]), _pod("ok", ["x", NSM])], NSM, NSM_HINT)
    assert result == [
        "pod default/backend-v1-abc (ReplicaSet backend-v1-5cdbf9586) has containers [backend-v1] but no "
        "nginx-mesh-sidecar: " + NSM_HINT
    ]


def test_the_hint_is_the_providers():
    pod = _pod("backend-v1-abc", ["backend-v1"])
    nsm, = problems([pod], NSM, NSM_HINT)
    linkerd, = problems([pod], LINKERD, LINKERD_HINT)
    assert nsm.endswith(": " + NSM_HINT) and "linkerd" not in nsm
    assert linkerd.endswith(": " + LINKERD_HINT) and "injector.nsm.nginx.com" not in linkerd
    assert "but no linkerd-proxy:" in linkerd


def test_native_sidecar_init_container_counts():
    # Linkerd edge-26.8 default: linkerd-init (plain) then linkerd-proxy as a native sidecar.
    pod = _pod("frontend-abc", ["frontend"], init=[("linkerd-init", None), (LINKERD, "Always")])
    assert problems([pod], LINKERD, LINKERD_HINT) == []


def test_sidecar_in_containers_counts_for_linkerd_too():
    # Linkerd with proxy.nativeSidecar=false: the proxy is an ordinary container.
    pod = _pod("frontend-abc", ["frontend", LINKERD], init=[("linkerd-init", None)])
    assert problems([pod], LINKERD, LINKERD_HINT) == []


@pytest.mark.parametrize("policy", [None, "Never", "OnFailure"])
def test_plain_init_container_does_not_count(policy):
    pod = _pod("frontend-abc", ["frontend"], init=[(LINKERD, policy)])
    result = problems([pod], LINKERD, LINKERD_HINT)
    assert result == [
        "pod default/frontend-abc (ReplicaSet backend-v1-5cdbf9586) has containers [frontend] and init containers "
        "[linkerd-proxy] but no linkerd-proxy (linkerd-proxy is a plain init container, without restartPolicy: "
        "Always, so it ran to completion before the application and proxies nothing): " + LINKERD_HINT
    ]


def test_other_native_sidecars_do_not_count():
    pod = _pod("frontend-abc", ["frontend"], init=[("log-shipper", "Always")])
    result = problems([pod], LINKERD, LINKERD_HINT)
    assert len(result) == 1
    assert "has containers [frontend] and init containers [log-shipper] but no linkerd-proxy: " in result[0]


def test_terminating_pods_ignored_and_custom_container():
    assert problems([_pod("old", ["frontend"], deleting=True)], NSM, NSM_HINT) == []
    assert len(problems([_pod("a", ["app", NSM])], "istio-proxy", "label istio-injection=enabled")) == 1


def test_not_a_list():
    with pytest.raises(AnsibleFilterError, match="list of Pod"):
        problems({"resources": []}, NSM, NSM_HINT)


@pytest.mark.parametrize("args, field", [
    ((), "container"),
    ((NSM,), "hint"),
    ((NSM, ""), "hint"),
    (("", NSM_HINT), "container"),
    ((NSM, ["a"]), "hint"),
])
def test_container_and_hint_are_required(args, field):
    with pytest.raises(AnsibleFilterError, match="sidecar_problems: %s is required" % field):
        problems([_pod("a", ["app"])], *args)
