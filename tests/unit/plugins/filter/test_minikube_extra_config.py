import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("minikube_extra_config")
extra = mod.minikube_extra_config

TUTORIAL = dict(
    issuer="kubernetes/serviceaccount",
    signing_key_file="/var/lib/minikube/certs/sa.key",
    key_file="/var/lib/minikube/certs/sa.pub",
    audiences=["api"],
)


@pytest.mark.parametrize("version", ["v1.22.17", "1.24.17", "v1.24.0-rc.1", "v1.18"])
def test_old_kubernetes_keeps_tutorial_flag(version):
    flags = extra(version, **TUTORIAL)
    assert "apiserver.service-account-api-audiences=api" in flags
    assert not any(f.startswith("apiserver.api-audiences=") for f in flags)


@pytest.mark.parametrize("version", ["v1.25.0", "v1.26.15", "1.30.2", "v2.0.0"])
def test_new_kubernetes_uses_api_audiences(version):
    flags = extra(version, **TUTORIAL)
    assert "apiserver.api-audiences=api" in flags
    assert not any("service-account-api-audiences" in f for f in flags)


def test_full_tutorial_set_on_126_in_order():
    assert extra("v1.26.15", **TUTORIAL) == [
        "apiserver.service-account-signing-key-file=/var/lib/minikube/certs/sa.key",
        "apiserver.service-account-key-file=/var/lib/minikube/certs/sa.pub",
        "apiserver.service-account-issuer=kubernetes/serviceaccount",
        "apiserver.api-audiences=api",
    ]


def test_empty_settings_are_omitted_and_audiences_joined():
    assert extra("v1.26.1", audiences=["api", "spire-server"]) == ["apiserver.api-audiences=api,spire-server"]
    assert extra("v1.26.1") == []


def test_user_extra_appended_and_checked():
    assert extra("v1.26.1", extra=["kubelet.max-pods=150"]) == ["kubelet.max-pods=150"]
    with pytest.raises(AnsibleFilterError, match="component.key=value"):
        extra("v1.26.1", extra=["--kubelet.max-pods=150"])


def test_removed_flag_in_user_extra_rejected_on_new_versions():
    with pytest.raises(AnsibleFilterError, match="removed in Kubernetes 1.25"):
        extra("v1.26.1", extra=["apiserver.service-account-api-audiences=api"])
    assert extra("v1.24.1", extra=["apiserver.service-account-api-audiences=api"]) == [
        "apiserver.service-account-api-audiences=api"
    ]


@pytest.mark.parametrize("version", ["latest", "", "1", None, 126])
def test_bad_version_is_explained(version):
    with pytest.raises(AnsibleFilterError, match="minikube_kubernetes_version"):
        extra(version, **TUTORIAL)
