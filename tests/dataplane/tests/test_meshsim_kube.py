"""Which TrafficSplit / HTTPRoute version meshsim lists: the one the API server serves (discovery), never a fixed one.

The API is replaced by recording fakes: the discovery document (``/apis``) and the list call.
"""

import pytest
from kubernetes import client

from meshsim_lib import kube, routing

from meshsim_objects import CLOSED_PORT_KUBECONFIG

# The versions of split.smi-spec.io and the preferred one, as an API server publishes them for each TrafficSplit
# CRD: linkerd-smi 1.0.4 (templates/trafficsplit-crd.yaml: v1alpha1 storage, v1alpha2, both served, no v1alpha3;
# Kubernetes prefers the highest by its version priority, v1alpha2) and NSM 2.0.0 (v1alpha3 preferred).
LINKERD_SMI = (["v1alpha2", "v1alpha1"], "v1alpha2")
NSM = (["v1alpha3", "v1alpha2", "v1alpha1"], "v1alpha3")


def _group(name, versions, preferred):
    def gv(version):
        return client.V1GroupVersionForDiscovery(group_version="%s/%s" % (name, version), version=version)
    return client.V1APIGroup(name=name, versions=[gv(v) for v in versions], preferred_version=gv(preferred))


class _Apis:
    def __init__(self, groups):
        self.groups = groups
        self.calls = 0

    def get_api_versions(self, **_kw):
        self.calls += 1
        return client.V1APIGroupList(groups=list(self.groups))


@pytest.fixture
def api(tmp_path, monkeypatch):
    """``(Kube, discovery, list calls)``; a list at a version the discovery does not serve answers 404."""
    path = tmp_path / "kubeconfig"
    path.write_text(CLOSED_PORT_KUBECONFIG)
    k = kube.Kube(str(path), "lab")
    apis = _Apis([])
    monkeypatch.setattr(kube.client, "ApisApi", lambda _api: apis)
    listed = []

    def list_namespaced_custom_object(group, version, namespace, plural, **_kw):
        listed.append((group, version, namespace, plural))
        if not any(g.name == group and version in [v.version for v in g.versions] for g in apis.groups):
            raise kube.ApiException(status=404, reason="Not Found")
        return {"items": [{"apiVersion": "%s/%s" % (group, version), "metadata": {"name": "backend-ts"}}]}
    monkeypatch.setattr(k.custom, "list_namespaced_custom_object", list_namespaced_custom_object)
    return k, apis, listed


@pytest.mark.parametrize("served", [LINKERD_SMI, NSM], ids=["linkerd-smi", "nsm"])
def test_traffic_splits_are_listed_at_the_preferred_served_version(api, served):
    k, apis, listed = api
    apis.groups = [_group("gateway.networking.k8s.io", ["v1", "v1beta1"], "v1"), _group(routing.SPLIT_GROUP, *served)]
    items = k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL)
    assert listed == [(routing.SPLIT_GROUP, served[1], "lab", "trafficsplits")]
    assert items[0]["apiVersion"] == "split.smi-spec.io/" + served[1]


def test_a_split_group_that_is_not_served_lists_nothing_and_is_looked_up_again(api, monkeypatch):
    k, apis, listed = api
    assert k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL) == [] and listed == []
    apis.groups = [_group(routing.SPLIT_GROUP, *LINKERD_SMI)]  # linkerd-smi installed while meshsim runs
    monkeypatch.setattr(kube, "DISCOVERY_RETRY", 0.0)
    k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL)
    assert listed == [(routing.SPLIT_GROUP, "v1alpha2", "lab", "trafficsplits")]


def test_a_version_that_goes_away_is_discovered_again(api):
    """NSM's CRD (v1alpha3) replaced by linkerd-smi's (v1alpha1/v1alpha2) under a running meshsim."""
    k, apis, listed = api
    apis.groups = [_group(routing.SPLIT_GROUP, *NSM)]
    assert k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL)
    apis.groups = [_group(routing.SPLIT_GROUP, *LINKERD_SMI)]
    assert k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL) == []  # v1alpha3 answers 404: forgotten
    assert k._custom(routing.SPLIT_GROUP, routing.SPLIT_PLURAL)[0]["apiVersion"] == "split.smi-spec.io/v1alpha2"
    assert [v for _g, v, _n, _p in listed] == ["v1alpha3", "v1alpha3", "v1alpha2"]
