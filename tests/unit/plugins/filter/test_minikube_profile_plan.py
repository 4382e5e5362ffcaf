import json

import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("minikube_profile_plan")
plan = mod.minikube_profile_plan

DESIRED = {
    "driver": "docker",
    "cpus": 4,
    "memory_mb": 8192,
    "kubernetes_version": "v1.26.15",
    "extra_config": [
        "apiserver.service-account-issuer=kubernetes/serviceaccount",
        "apiserver.api-audiences=api",
    ],
}


def _profile(name="meshlab", status="Running", **over):
    config = {
        "Name": name,
        "Driver": "docker",
        "CPUs": 4,
        "Memory": 8192,
        "KubernetesConfig": {
            "KubernetesVersion": "v1.26.15",
            "ContainerRuntime": "docker",
            "ExtraOptions": [
                {"Component": "apiserver", "Key": "service-account-issuer", "Value": "kubernetes/serviceaccount"},
                {"Component": "apiserver", "Key": "api-audiences", "Value": "api"},
                {"Component": "kubeadm", "Key": "pod-network-cidr", "Value": "10.244.0.0/16"},
            ],
        },
    }
    kube_over = over.pop("kube", {})
    config.update(over)
    config["KubernetesConfig"].update(kube_over)
    return {"Name": name, "Status": status, "Config": config, "Active": True}


def _list(*profiles, invalid=()):
    return json.dumps({"invalid": list(invalid), "valid": list(profiles)})


@pytest.mark.parametrize("raw", ["", None, "not json", '{"error": {"Message": "No minikube profile was found."}}'])
def test_no_profile_means_create(raw):
    result = plan(raw, profile="meshlab", desired=DESIRED)
    assert result["action"] == "create"
    assert result["exists"] is False


def test_other_profile_only_means_create():
    assert plan(_list(_profile("minikube")), profile="meshlab", desired=DESIRED)["action"] == "create"


def test_same_settings_running_is_left_alone():
    result = plan(_list(_profile()), profile="meshlab", desired=DESIRED)
    assert result["action"] == "none"
    assert result["drift"] == []
    assert result["running"] is True


def test_newer_minikube_status_ok_counts_as_running():
    assert plan(_list(_profile(status="OK")), profile="meshlab", desired=DESIRED)["action"] == "none"


def test_status_json_wins_over_profile_list():
    stopped = json.dumps({"Name": "meshlab", "Host": "Stopped", "Kubelet": "Stopped", "APIServer": "Stopped"})
    result = plan(_list(_profile()), profile="meshlab", desired=DESIRED, status=stopped)
    assert result["action"] == "start"
    assert "not running (host Stopped, apiserver Stopped)" in result["message"]
    running = [{"Name": "meshlab", "Host": "Running", "Kubelet": "Running", "APIServer": "Running"}]
    assert plan(_list(_profile(status="Stopped")), profile="meshlab", desired=DESIRED, status=running)["action"] == "none"


def test_stopped_with_same_settings_is_started():
    result = plan(_list(_profile(status="Stopped")), profile="meshlab", desired=DESIRED)
    assert result["action"] == "start"
    assert "Stopped" in result["message"]


def test_version_without_v_prefix_matches():
    profile = _profile(kube={"KubernetesVersion": "1.26.15"})
    assert plan(_list(profile), profile="meshlab", desired=DESIRED)["action"] == "none"


def test_different_settings_are_a_conflict_without_recreate():
    profile = _profile(CPUs=2, kube={"KubernetesVersion": "v1.30.0"})
    result = plan(_list(profile), profile="meshlab", desired=DESIRED)
    assert result["action"] == "conflict"
    assert "cpus: profile has 2, wanted 4" in result["drift"]
    assert "kubernetes_version: profile has v1.30.0, wanted v1.26.15" in result["drift"]
    assert "minikube_recreate: true" in result["message"]
    assert "Nothing was changed" in result["message"]


def test_different_settings_recreate_when_asked():
    profile = _profile(Driver="podman")
    result = plan(_list(profile), profile="meshlab", desired=DESIRED, recreate=True)
    assert result["action"] == "recreate"
    assert result["drift"] == ["driver: profile has podman, wanted docker"]


def test_missing_and_unwanted_token_flags_are_drift_but_foreign_options_are_not():
    profile = _profile(kube={"ExtraOptions": [
        {"Component": "apiserver", "Key": "service-account-api-audiences", "Value": "api"},
        {"Component": "kubeadm", "Key": "pod-network-cidr", "Value": "10.244.0.0/16"},
    ]})
    drift = plan(_list(profile), profile="meshlab", desired=DESIRED)["drift"]
    assert "extra-config apiserver.service-account-issuer: not set in profile, wanted kubernetes/serviceaccount" in drift
    assert "extra-config apiserver.api-audiences: not set in profile, wanted api" in drift
    assert "extra-config apiserver.service-account-api-audiences: profile has api, not wanted" in drift
    assert not any("pod-network-cidr" in item for item in drift)


def test_changed_flag_value_is_drift():
    profile = _profile(kube={"ExtraOptions": [
        {"Component": "apiserver", "Key": "service-account-issuer", "Value": "https://kubernetes.default.svc.cluster.local"},
        {"Component": "apiserver", "Key": "api-audiences", "Value": "api"},
    ]})
    drift = plan(_list(profile), profile="meshlab", desired=DESIRED)["drift"]
    assert drift == [
        "extra-config apiserver.service-account-issuer: profile has https://kubernetes.default.svc.cluster.local, "
        "wanted kubernetes/serviceaccount"
    ]


def test_invalid_profile_is_conflict_or_recreate():
    raw = _list(invalid=[_profile(status="Unknown")])
    assert plan(raw, profile="meshlab", desired=DESIRED)["action"] == "conflict"
    assert plan(raw, profile="meshlab", desired=DESIRED, recreate=True)["action"] == "recreate"


def test_parsed_input_accepted():
    assert plan(json.loads(_list(_profile())), profile="meshlab", desired=DESIRED)["action"] == "none"


def test_bad_arguments():
    with pytest.raises(AnsibleFilterError, match="profile"):
        plan("", profile="", desired=DESIRED)
    with pytest.raises(AnsibleFilterError, match="desired"):
        plan("", profile="x", desired=[])
    with pytest.raises(AnsibleFilterError, match="component.key=value"):
        plan(_list(_profile()), profile="meshlab", desired=dict(DESIRED, extra_config=["oops"]))
