"""canary_split_api_version: the apiVersion the canary role reads (and writes) the split at, from discovery.

The role used to read a TrafficSplit at split.smi-spec.io/v1alpha3 whatever the cluster served. linkerd-smi
1.0.4 serves only v1alpha1 (storage) and v1alpha2, so the read found nothing, the run decided "start" with
no resourceVersion and a rerun's write failed with a 409.
"""

import itertools

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._split_api import choose_version
from ansible_collections.meshlab.canary.plugins.module_utils._weights import GATEWAY_VERSIONS, SMI_VERSIONS
from filter_loader import load_filter_module

module = load_filter_module("canary_split_api_version")
version_of = module.canary_split_api_version

CORE = {"v1": {"Service": {}, "Pod": {}}, "apps/v1": {"Deployment": {}}}


def apis(*group_versions, kind=None):
    """k8s_cluster_info's apis: each group/version serving its split kind (or ``kind``), beside the core groups."""
    found = dict(CORE)
    for group_version in group_versions:
        own = kind or ("TrafficSplit" if group_version.startswith("split.") else "HTTPRoute")
        found[group_version] = {own: {"name": own.lower() + "s", "namespaced": True, "preferred": False}}
    return found


LINKERD_SMI = apis("split.smi-spec.io/v1alpha1", "split.smi-spec.io/v1alpha2")
NSM = apis("split.smi-spec.io/v1alpha1", "split.smi-spec.io/v1alpha2", "split.smi-spec.io/v1alpha3")
GATEWAY_STANDARD = apis("gateway.networking.k8s.io/v1", "gateway.networking.k8s.io/v1beta1")


def test_linkerd_smi_is_read_at_v1alpha2_not_v1alpha3():
    assert version_of(LINKERD_SMI, "smi") == "split.smi-spec.io/v1alpha2"


def test_nsm_is_read_at_v1alpha3_as_before():
    assert version_of(NSM, "smi") == "split.smi-spec.io/v1alpha3"


def test_gateway_is_read_at_the_newest_served_version():
    assert version_of(GATEWAY_STANDARD, "gateway") == "gateway.networking.k8s.io/v1"
    assert version_of(apis("gateway.networking.k8s.io/v1beta1"), "gateway") == "gateway.networking.k8s.io/v1beta1"


def test_the_other_api_does_not_count():
    both = dict(LINKERD_SMI, **GATEWAY_STANDARD)
    assert version_of(both, "smi") == "split.smi-spec.io/v1alpha2"
    assert version_of(both, "gateway") == "gateway.networking.k8s.io/v1"


def test_a_version_of_the_group_without_the_kind_is_not_chosen():
    found = dict(LINKERD_SMI, **apis("split.smi-spec.io/v1alpha4", kind="SomethingElse"))
    assert version_of(found, "smi") == "split.smi-spec.io/v1alpha2"


@pytest.mark.parametrize("api,versions", [("smi", SMI_VERSIONS), ("gateway", GATEWAY_VERSIONS)])
def test_the_same_choice_as_traffic_split_for_every_served_set(api, versions):
    group = {"smi": "split.smi-spec.io", "gateway": "gateway.networking.k8s.io"}[api]
    for size in range(1, len(versions) + 1):
        for served in itertools.permutations(versions, size):
            found = apis(*("%s/%s" % (group, version) for version in served))
            assert version_of(found, api) == "%s/%s" % (group, choose_version(api, list(served))), served


def test_canary_api_version_wins_when_served():
    assert version_of(LINKERD_SMI, "smi", "v1alpha1") == "split.smi-spec.io/v1alpha1"
    assert version_of(LINKERD_SMI, "smi", "split.smi-spec.io/v1alpha1") == "split.smi-spec.io/v1alpha1"
    assert version_of(GATEWAY_STANDARD, "gateway", "v1beta1") == "gateway.networking.k8s.io/v1beta1"


def test_a_canary_api_version_the_cluster_does_not_serve_is_named_with_what_it_serves():
    with pytest.raises(AnsibleFilterError) as err:
        version_of(LINKERD_SMI, "smi", "v1alpha3")
    text = str(err.value)
    assert "canary_api_version='v1alpha3'" in text and "v1alpha2, v1alpha1" in text, text
    assert "Leave canary_api_version empty" in text


def test_a_canary_api_version_of_another_group_is_refused():
    with pytest.raises(AnsibleFilterError) as err:
        version_of(LINKERD_SMI, "smi", "gateway.networking.k8s.io/v1")
    assert "canary_api_version" in str(err.value) and "split.smi-spec.io" in str(err.value)


def test_only_unknown_versions_served_asks_for_canary_api_version():
    found = apis("split.smi-spec.io/v1beta9")
    with pytest.raises(AnsibleFilterError) as err:
        version_of(found, "smi")
    assert "canary_api_version" in str(err.value) and "v1beta9" in str(err.value)
    assert version_of(found, "smi", "v1beta9") == "split.smi-spec.io/v1beta9"


def test_smi_not_served_names_canary_api_the_group_and_what_to_install():
    with pytest.raises(AnsibleFilterError) as err:
        version_of(GATEWAY_STANDARD, "smi")
    text = str(err.value)
    for part in ("canary_api=smi", "TrafficSplit", "split.smi-spec.io", "linkerd-smi", "NGINX Service Mesh",
                 "canary_api=gateway"):
        assert part in text, (part, text)


def test_gateway_not_served_names_canary_api_the_group_and_the_crds():
    with pytest.raises(AnsibleFilterError) as err:
        version_of(LINKERD_SMI, "gateway", "v1")
    text = str(err.value)
    for part in ("canary_api=gateway", "HTTPRoute", "gateway.networking.k8s.io", "Gateway API CRDs"):
        assert part in text, (part, text)


def test_not_required_gives_an_empty_string_when_not_served():
    assert version_of(CORE, "smi", required=False) == ""
    assert version_of(CORE, "gateway", required=False) == ""
    assert version_of(LINKERD_SMI, "smi", required=False) == "split.smi-spec.io/v1alpha2"


def test_bad_input_is_a_filter_error():
    with pytest.raises(AnsibleFilterError) as err:
        version_of(LINKERD_SMI, "istio")
    assert "canary_api must be one of gateway, smi" in str(err.value)
    with pytest.raises(AnsibleFilterError):
        version_of(None, "smi")


def test_registered_under_its_name():
    assert module.FilterModule().filters() == {"canary_split_api_version": version_of}
