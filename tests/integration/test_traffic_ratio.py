"""Bad input to meshlab.canary.traffic_ratio_info against the real API: a clear message, at once, nothing changed.

The client pod is a kwok-simulated Pod (``app=frontend``, container ``frontend``); nothing has to run in it,
because every case here fails before a log line is read.
"""

import pytest
from kubernetes import client

from conftest import PLAY_TIMEOUT, snapshot
from support import waiting

EXPECTED = {"1": 90, "2": 10}


@pytest.fixture
def frontend_pod(core, namespace):
    """One pod like the tutorial's frontend, Running and Ready (kwok), in the test's namespace."""
    core.create_namespaced_pod(namespace, client.V1Pod(
        metadata=client.V1ObjectMeta(name="frontend-0", labels={"app": "frontend"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="frontend", image="frontend:stand-in")],
                              automount_service_account_token=False),
    ))
    waiting.pods_ready(core.api_client, namespace, "app=frontend", count=1, timeout=60)
    return namespace


def _fails_fast_unchanged(api, play, namespace, extra, *fragments):
    before = snapshot(api, namespace)
    # The module's timeout is longer than the play may take (PLAY_TIMEOUT): a bad input that waited for it
    # instead of failing at once would end the play by force and fail the test, whatever the machine's load.
    data = {"it_namespace": namespace, "it_expected": EXPECTED, "it_settle_seconds": 0, "it_poll_interval": 1,
            "it_timeout": 2 * PLAY_TIMEOUT}
    data.update(extra)
    for check in (True, False):
        run = play("traffic_ratio", data, check=check)
        assert run.rc != 0 and run.failed, run
        for fragment in fragments:
            assert fragment in run.msg, "{0!r} not in the message of {1!r}".format(fragment, run)
        assert run.result.get("changed") is False, run
        assert snapshot(api, namespace) == before, "the cluster changed: {0!r}".format(run)


def test_selector_matches_no_pods(api, frontend_pod, play):
    _fails_fast_unchanged(api, play, frontend_pod, {"it_selector": "app=nobody"},
                          "selector 'app=nobody' matches no pods in namespace {0}: check the selector and that the "
                          "client pods are deployed".format(frontend_pod))


def test_missing_namespace_is_named(api, frontend_pod, play):
    # the snapshot is of an existing namespace (the test's own): nothing may change anywhere
    absent = frontend_pod + "-absent"
    before = snapshot(api, frontend_pod)
    for check in (True, False):
        run = play("traffic_ratio", {"it_namespace": absent, "it_expected": EXPECTED, "it_timeout": 2 * PLAY_TIMEOUT},
                   check=check)
        assert run.rc != 0 and run.failed, run
        assert run.msg == ("namespace {0} does not exist: check the namespace option (the namespace where the pods "
                           "matching 'app=frontend' run)".format(absent)), run
        assert "matches no pods" not in run.msg
        assert run.result.get("changed") is False, run
    assert snapshot(api, frontend_pod) == before


def test_unknown_container(api, frontend_pod, play):
    _fails_fast_unchanged(api, play, frontend_pod, {"it_container": "web"},
                          "container 'web' is not in the pods matching 'app=frontend' in namespace {0}; their "
                          "containers are: frontend".format(frontend_pod))


def test_pattern_without_version_group(api, frontend_pod, play):
    _fails_fast_unchanged(api, play, frontend_pod, {"it_pattern": '"version":"([0-9]+)"'},
                          "pattern '\"version\":\"([0-9]+)\"' has no named group 'version': write it as "
                          "(?P<version>...)")


@pytest.mark.parametrize("expected, message", [
    ({"1": 0, "2": 0}, "expected weights are all zero: at least one version must get traffic"),
    ({"1": -1, "2": 10}, "expected['1'] must be >= 0, got -1"),
], ids=["all-zero", "negative"])
def test_bad_expected_weights(api, frontend_pod, play, expected, message):
    _fails_fast_unchanged(api, play, frontend_pod, {"it_expected": expected}, message)


# The name before 0.2.0. Written at test time: the repository's own playbooks use the canonical name (ansible-lint).
OLD_NAME_PLAYBOOK = """---
- name: Run meshlab.canary.traffic_ratio (the deprecated name) once against the local cluster
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Measure the traffic split under the old name
      meshlab.canary.traffic_ratio:
        namespace: "{{ it_namespace }}"
        selector: "{{ it_selector }}"
        expected: "{{ it_expected }}"
        settle_seconds: 0
        timeout: "{{ it_timeout }}"
"""


def test_the_old_name_still_works_and_warns(api, frontend_pod, play, tmp_path):
    """meshlab.canary.traffic_ratio (before 0.2.0) runs traffic_ratio_info, with a deprecation warning."""
    (tmp_path / "old_name.yml").write_text(OLD_NAME_PLAYBOOK)
    before = snapshot(api, frontend_pod)
    run = play(str(tmp_path / "old_name"), {"it_namespace": frontend_pod, "it_expected": EXPECTED,
                                            "it_selector": "app=nobody", "it_timeout": 2 * PLAY_TIMEOUT})
    assert run.rc != 0 and run.failed, run
    assert "selector 'app=nobody' matches no pods" in run.msg, run
    warned = " ".join((run.stderr + run.stdout).split())
    assert "meshlab.canary.traffic_ratio has been deprecated" in warned, warned[-2000:]
    assert "Use meshlab.canary.traffic_ratio_info" in warned, warned[-2000:]
    assert snapshot(api, frontend_pod) == before
