"""The role-facing wrappers of module_utils._rollout_state: errors become AnsibleFilterError, types are coerced."""

import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

decision_filter = load_filter_module("canary_rollout_decision").canary_rollout_decision
state_filter = load_filter_module("canary_rollout_state").canary_rollout_state
expand = load_filter_module("expand_stages").expand_stages

PLAN = expand([10, 80, 100], "backend-v1", "backend-v2")


def test_decision_from_templated_strings():
    # Jinja hands numbers and flags over as they were templated
    d = decision_filter(None, PLAN, "backend-v1", "backend-v2", now="1796000000.5", stale_after="1200",
                        restart=False, gates=[{"stage": 2, "action": "stop"}])
    assert d["action"] == "start" and d["stages"][1]["gate"]["action"] == "stop"


def test_decision_errors_are_filter_errors():
    with pytest.raises(AnsibleFilterError) as err:
        decision_filter(None, PLAN, "backend-v1", "backend-v2", now=0, stale_after=1, gates=[{"stage": 9}])
    assert "canary_pause[0].stage" in str(err.value)
    with pytest.raises(AnsibleFilterError):
        decision_filter("not an object", PLAN, "backend-v1", "backend-v2", now=0, stale_after=1)


def test_state_document_and_its_errors():
    doc = state_filter(PLAN[0], "r1", PLAN, "paused", "pass", "2026-12-02T00:00:00Z", "2026-12-02T00:01:00Z",
                       paused_before="2")
    assert doc["paused_before"] == 2 and doc["weights"] == {"backend-v1": 90, "backend-v2": 10}
    with pytest.raises(AnsibleFilterError) as err:
        state_filter(PLAN[0], "r1", PLAN, "sleeping", "pass", "a", "b")
    assert "status must be one of" in str(err.value)
    with pytest.raises(AnsibleFilterError):
        state_filter({"label": "x"}, "r1", PLAN, "running", "pass", "a", "b")
