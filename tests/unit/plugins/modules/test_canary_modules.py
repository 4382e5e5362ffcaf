"""The two modules as Ansible runs them: argument spec, check mode, diff, failure fields.

The cluster is the in-memory fake of module_utils._kube.Cluster (no API server here); a real API server is
exercised by the integration tests.
"""

import json
from unittest import mock

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from fake_cluster import FakeClock, FakeCluster, FakeLogCluster, LogPod, service

from ansible_collections.meshlab.canary.plugins.modules import traffic_ratio_info, traffic_split

SMI = ("split.smi-spec.io", "trafficsplits")


def run_module(module, args, capsys, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            module.main()
    return json.loads(capsys.readouterr().out)


def lab():
    services = dict((("default", n), service(n)) for n in ("backend-svc", "backend-v1", "backend-v2"))
    return FakeCluster(served={SMI: ["v1alpha3"]}, services=services)


SPLIT = dict(name="backend-ts", service="backend-svc",
             backends=[{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}])


def test_split_check_mode_then_apply_then_idempotent(capsys):
    cluster = lab()
    with mock.patch.object(traffic_split, "connect", return_value=cluster):
        checked = run_module(traffic_split, SPLIT, capsys, check=True, diff=True)
        assert checked["changed"] is True and cluster.write_calls() == []
        assert checked["diff"] == {"before": {"weights": {}},
                                   "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}
        applied = run_module(traffic_split, SPLIT, capsys)
        assert applied["changed"] is True and applied["api_version"] == "split.smi-spec.io/v1alpha3"
        assert applied["changed_at"].endswith("Z")
        again = run_module(traffic_split, SPLIT, capsys)
        assert again["changed"] is False and again["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert len(cluster.write_calls()) == 1


def test_split_bool_weight_is_rejected_by_the_module(capsys):
    cluster = lab()
    args = dict(SPLIT, backends=[{"service": "backend-v1", "weight": True}, {"service": "backend-v2", "weight": 1}])
    with mock.patch.object(traffic_split, "connect", return_value=cluster):
        result = run_module(traffic_split, args, capsys)
    assert result["failed"] is True
    assert "backends[0].weight" in result["msg"]
    assert cluster.calls == []


def test_split_non_numeric_weight_is_rejected_by_the_argument_spec(capsys):
    cluster = lab()
    args = dict(SPLIT, backends=[{"service": "backend-v1", "weight": "ninety"}])
    with mock.patch.object(traffic_split, "connect", return_value=cluster):
        result = run_module(traffic_split, args, capsys)
    assert result["failed"] is True and "weight" in result["msg"]
    assert cluster.calls == []


def test_split_requires_service_and_backends_when_present(capsys):
    result = run_module(traffic_split, dict(name="x"), capsys)
    assert result["failed"] is True and "service, backends" in result["msg"]


def test_split_unreachable_cluster_message(capsys):
    args = dict(SPLIT, kubeconfig="/nonexistent/kubeconfig")
    result = run_module(traffic_split, args, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("cannot configure the Kubernetes client (the kubeconfig option): ")
    assert "Invalid kube-config file" in result["msg"]


def test_split_malformed_kubeconfig_message(capsys, tmp_path):
    path = tmp_path / "kubeconfig.yaml"
    path.write_text("clusters: [this is not a kubeconfig\n")
    result = run_module(traffic_split, dict(SPLIT, kubeconfig=str(path)), capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("cannot configure the Kubernetes client (the kubeconfig option): ")
    assert result["msg"].endswith("Check kubeconfig, context and host.")


def test_split_refused_connection_message(capsys):
    # the real client against a closed loopback port: nothing listens on 127.0.0.1:9
    args = dict(SPLIT, host="https://127.0.0.1:9", api_key="not-a-real-token", validate_certs=False)
    result = run_module(traffic_split, args, capsys)
    assert result["failed"] is True
    assert result["msg"].startswith("cannot reach the Kubernetes API (host=https://127.0.0.1:9): ")
    assert "Connection refused" in result["msg"]


TOKEN = "unit-test-token-3f9a1c7e"
KEY_DATA = "dW5pdC10ZXN0LWNsaWVudC1rZXk="


def dict_kubeconfig(server="https://127.0.0.1:9"):
    return {"apiVersion": "v1", "kind": "Config", "current-context": "lab",
            "clusters": [{"name": "lab-cluster", "cluster": {"server": server, "insecure-skip-tls-verify": True}}],
            "contexts": [{"name": "lab", "context": {"cluster": "lab-cluster", "user": "lab-user"}}],
            "users": [{"name": "lab-user", "user": {"token": TOKEN, "client-key-data": KEY_DATA}}]}


@pytest.mark.parametrize("module, args", [(traffic_split, SPLIT), (traffic_ratio_info, dict(expected={"1": 1}))])
def test_dict_kubeconfig_secrets_are_redacted_and_the_rest_stays_readable(module, args, capsys):
    result = run_module(module, dict(args, kubeconfig=dict_kubeconfig()), capsys)
    assert result["failed"] is True and "cannot reach the Kubernetes API" in result["msg"]
    text = json.dumps(result)
    assert TOKEN not in text and KEY_DATA not in text
    shown = result["invocation"]["module_args"]["kubeconfig"]
    assert shown["users"][0]["user"] == {"token": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER",
                                         "client-key-data": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}
    # only the secrets: names and the server stay readable, and so does the message
    assert shown["clusters"][0] == {"name": "lab-cluster", "cluster": {"server": "https://127.0.0.1:9",
                                                                       "insecure-skip-tls-verify": True}}
    assert "127.0.0.1" in result["msg"] and "********" not in result["msg"]


def test_dict_kubeconfig_secrets_are_redacted_from_a_validation_failure(capsys):
    result = run_module(traffic_split, dict(name="x", kubeconfig=dict_kubeconfig()), capsys)
    assert result["failed"] is True and "service, backends" in result["msg"]
    assert TOKEN not in json.dumps(result) and KEY_DATA not in json.dumps(result)


def _run_ratio(capsys, args):
    clock = FakeClock()
    cluster = FakeLogCluster(clock, [LogPod("frontend-a")])
    real = traffic_ratio_info.measure_ratio

    def measure(cluster_, params):
        return real(cluster_, params, clock=clock.monotonic, sleep=clock.sleep, wall=lambda: clock.t)
    with mock.patch.object(traffic_ratio_info, "connect", return_value=cluster), \
            mock.patch.object(traffic_ratio_info, "measure_ratio", side_effect=measure):
        return run_module(traffic_ratio_info, args, capsys, check=True)


def test_ratio_rejected_verdict_is_reported_not_failed(capsys):
    result = _run_ratio(capsys, dict(expected={"1": 90, "2": 10}, timeout=20, settle_seconds=0, progress_interval=0))
    assert "failed" not in result and result["changed"] is False
    assert result["decision"] == "fail" and result["method"] == "too-few-samples"
    assert result["reason"] == "collected 0 of at least 100 samples in 20 s from 1 pod"
    for key in ("counts", "shares", "intervals", "errors", "error_rate", "samples", "duration", "decision",
                "reason", "method", "pods", "boundary", "trace"):
        assert key in result, key


def test_ratio_round_returns_state_and_progress_until_finished(capsys):
    first = _run_ratio(capsys, dict(expected={"1": 90, "2": 10}, timeout=20, settle_seconds=0, progress_interval=5,
                                    poll_interval=1))
    assert "failed" not in first and first["finished"] is False
    assert first["progress"]["elapsed"] <= 5 and first["progress"]["timeout"] == 20
    assert first["state"]["elapsed"] == first["progress"]["elapsed"] or abs(
        first["state"]["elapsed"] - first["progress"]["elapsed"]) < 0.1


def test_ratio_bad_pattern(capsys):
    with mock.patch.object(traffic_ratio_info, "connect", return_value=FakeLogCluster(FakeClock(), [])):
        result = run_module(traffic_ratio_info, dict(expected={"1": 1}, pattern="(\\d+)"), capsys)
    assert result["failed"] is True and "has no named group 'version'" in result["msg"]


# ---- documentation matches the argument spec ------------------------------------------------

def doc_options(module):
    doc = yaml.safe_load(module.DOCUMENTATION)
    options = dict(doc["options"])
    assert doc["extends_documentation_fragment"][0] == "kubernetes.core.k8s_auth_options"
    from ansible_collections.kubernetes.core.plugins.doc_fragments.k8s_auth_options import ModuleDocFragment
    options.update(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"])
    return options


def compare(spec, options, where):
    assert set(spec) == set(options), where
    for name, arg in spec.items():
        doc = options[name]
        assert arg.get("type", "str") == doc.get("type", "str"), (where, name)
        assert arg.get("default") == doc.get("default"), (where, name)
        assert arg.get("choices") == doc.get("choices"), (where, name)
        assert bool(arg.get("required")) == bool(doc.get("required")), (where, name)
        if "options" in arg:
            compare(arg["options"], doc["suboptions"], where + "." + name)


@pytest.mark.parametrize("module", [traffic_split, traffic_ratio_info])
def test_documentation_matches_argument_spec(module):
    compare(module.argument_spec(), doc_options(module), module.__name__)


@pytest.mark.parametrize("module", [traffic_split, traffic_ratio_info])
def test_examples_use_fqcn(module):
    for task in yaml.safe_load(module.EXAMPLES):
        assert task["name"]
        assert any(key.startswith("meshlab.canary.") for key in task), task


def test_action_group_attribute_matches_meta_runtime():
    import os

    from ansible_collections.meshlab.canary.plugins.modules import minikube, minikube_preflight_info

    runtime = os.path.join(os.path.dirname(traffic_split.__file__), "..", "..", "meta", "runtime.yml")
    with open(runtime) as handle:
        group = yaml.safe_load(handle)["action_groups"]["k8s"]
    members = set(entry for entry in group if isinstance(entry, str) and "." not in entry)
    assert members == {"traffic_split", "traffic_ratio_info"}
    # other collections' modules that must reach the same cluster
    assert set(entry for entry in group if isinstance(entry, str) and "." in entry) == {"kubernetes.core.k8s_cluster_info"}
    assert group[0] == {"metadata": {"extend_group": ["kubernetes.core.k8s", "kubernetes.core.helm"]}}
    for module in (traffic_split, traffic_ratio_info, minikube, minikube_preflight_info):
        doc = yaml.safe_load(module.DOCUMENTATION)
        name = module.__name__.rsplit(".", 1)[1]
        fragments = doc.get("extends_documentation_fragment") or []
        assert "meshlab.canary._attributes" in fragments, name
        assert ("meshlab.canary._attributes.actiongroup_k8s" in fragments) == (name in members), name
