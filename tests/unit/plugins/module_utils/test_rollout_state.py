"""The rollout decision from the live split and its state: start, resume, nothing to do, refuse; never regress."""

import json

import pytest

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._rollout_state import (
    STATE_ANNOTATION,
    decide,
    parse_time,
    state_document,
    validate_gates,
)

V1, V2 = "backend-v1", "backend-v2"
NOW = parse_time("2026-12-02T01:00:00Z")
STARTED = "2026-12-02T00:50:00Z"


def make_plan(shares):
    return [{"number": i + 1, "canary_weight": s, "stable_weight": 100 - s, "label": "%d/%d" % (100 - s, s),
             "backends": [{"service": V1, "weight": 100 - s}, {"service": V2, "weight": s}],
             "expected": {"1": 100 - s, "2": s}} for i, s in enumerate(shares)]


PLAN = make_plan([10, 80, 100])


def split(v1, v2, state=None, rv="42"):
    obj = {"apiVersion": "split.smi-spec.io/v1alpha3", "kind": "TrafficSplit",
           "metadata": {"name": "backend-ts", "namespace": "default", "resourceVersion": rv},
           "spec": {"service": "backend-svc", "backends": [{"service": V1, "weight": v1}, {"service": V2, "weight": v2}]}}
    if state is not None:
        obj["metadata"]["annotations"] = {STATE_ANNOTATION: state if isinstance(state, str) else json.dumps(state)}
    return obj


def state(stage_number, status="running", verdict="pass", heartbeat="2026-12-02T00:59:00Z", run_id="run-a",
          plan=PLAN, **extra):
    stage = plan[stage_number - 1] if stage_number else {"number": 0, "label": "100/0", "backends": [
        {"service": V1, "weight": 100}, {"service": V2, "weight": 0}]}
    doc = state_document(run_id, plan, status, stage, None, verdict, STARTED, heartbeat, **extra)
    return doc


def run(live, plan=PLAN, **kw):
    kw.setdefault("stale_after", 600)
    kw.setdefault("run_id", "run-b")
    kw.setdefault("name", "backend-ts")
    return decide(live, plan, V1, V2, NOW, **kw)


def modes(decision):
    return [s["mode"] for s in decision["stages"]]


def applied_shares(decision):
    return [s["canary_weight"] for s in decision["stages"] if s["mode"] == "apply"]


def test_no_split_starts_at_stage_one_with_create_precondition():
    d = run(None)
    assert d["action"] == "start" and modes(d) == ["apply", "apply", "apply"]
    assert d["resource_version"] == "" and d["read_only"] is False
    assert "start at stage 1 (90/10)" in d["message"]


def test_promoted_and_passed_is_nothing_to_do():
    d = run(split(0, 100, state(3, status="promoted")))
    assert d["action"] == "none" and modes(d) == ["skip", "skip", "skip"]
    assert "Already promoted" in d["message"] and "nothing written" in d["message"]
    assert d["read_only"] is False and d["live"]["stage"] == 3


def test_promoted_with_reverify_measures_final_stage_read_only():
    d = run(split(0, 100, state(3, status="promoted")), reverify=True)
    assert d["action"] == "none" and d["read_only"] is True
    assert modes(d) == ["skip", "skip", "reverify"]


def test_completed_plan_below_100_is_nothing_to_do():
    plan = make_plan([10, 50])
    d = run(split(50, 50, state(2, status="completed", plan=plan)), plan=plan)
    assert d["action"] == "none" and "Already completed" in d["message"]


@pytest.mark.parametrize("status, verdict, how", [
    ("running", "pending", "interrupted"),
    ("running", "pass", "passed"),
    ("failed", "fail", "fail"),
    ("rolled_back", "pass", "passed"),
])
def test_live_plan_stage_is_reverified_then_continued(status, verdict, how):
    d = run(split(20, 80, state(2, status=status, verdict=verdict, heartbeat="2026-12-02T00:00:00Z")))
    assert d["action"] == "resume", d
    assert modes(d) == ["skip", "reverify", "apply"]
    assert "Stage 2 (20/80) is live ({0})".format(how) in d["message"]
    assert d["resource_version"] == "42"


def test_final_stage_live_but_not_passed_is_reverified_and_finishes():
    d = run(split(0, 100, state(3, status="running", verdict="pending", heartbeat="2026-12-02T00:00:00Z")))
    assert d["action"] == "resume" and modes(d) == ["skip", "skip", "reverify"]
    assert "then finish" in d["message"]


def test_live_stage_without_any_state_resumes():
    d = run(split(20, 80))
    assert d["action"] == "resume" and modes(d) == ["skip", "reverify", "apply"]


@pytest.mark.parametrize("v1, v2, state_stage", [(100, 0, None), (100, 0, 0), (90, 10, 1), (20, 80, 2), (0, 100, 3)])
def test_never_plans_a_share_below_the_live_one(v1, v2, state_stage):
    st = None if state_stage is None else state(state_stage, status="rolled_back", heartbeat="2026-12-02T00:00:00Z")
    d = run(split(v1, v2, st))
    assert all(share >= v2 for share in applied_shares(d)), d


def test_stable_only_starts_at_stage_one_with_its_version():
    d = run(split(100, 0, state(0, status="rolled_back", verdict="none", failed_stage=1)))
    assert d["action"] == "start" and modes(d) == ["apply"] * 3 and d["resource_version"] == "42"


def test_weights_outside_the_plan_are_refused_with_both_ways_on():
    d = run(split(50, 50, state(2, status="promoted")))
    assert d["action"] == "refuse" and d["reason"] == "unknown_weights"
    msg = d["message"]
    assert "backend-v1=50, backend-v2=50" in msg and "90/10 -> 20/80 -> 0/100" in msg
    assert "canary_restart=true" in msg and "moves traffic back to the stable version" in msg
    assert '{"canary_stages": [50, 80, 100]}' in msg
    assert "Nothing was written" in msg
    assert d["stages"] == []


def test_unknown_services_are_refused():
    obj = split(90, 10)
    obj["spec"]["backends"][1]["service"] = "backend-v3"
    d = run(obj)
    assert d["action"] == "refuse" and d["reason"] == "unknown_weights"


def test_restart_starts_over_even_from_unknown_weights():
    d = run(split(50, 50), restart=True)
    assert d["action"] == "start" and modes(d) == ["apply"] * 3
    assert "canary_restart" in d["message"]


def test_running_with_fresh_heartbeat_refuses_naming_the_other_run():
    d = run(split(90, 10, state(1, status="running", verdict="pending", run_id="run-a",
                                heartbeat="2026-12-02T00:59:30Z")))
    assert d["action"] == "refuse" and d["reason"] == "busy"
    assert "Another canary rollout of default/backend-ts is in progress: run run-a" in d["message"]
    assert "last heartbeat 30 s ago" in d["message"] and "canary_takeover=true" in d["message"]


def test_stale_running_is_taken_over():
    d = run(split(90, 10, state(1, status="running", verdict="pending", heartbeat="2026-12-02T00:49:59Z")))
    assert d["action"] == "resume" and d["took_over"] == "run-a"
    assert "no heartbeat for 601 s, more than 600 s: stale" in d["message"]


def test_takeover_of_a_fresh_run_on_request():
    d = run(split(20, 80, state(2, status="running", verdict="pending", heartbeat="2026-12-02T00:59:59Z")),
            takeover=True)
    assert d["action"] == "resume" and d["took_over"] == "run-a" and "canary_takeover" in d["message"]


def test_restart_does_not_bypass_the_lock():
    d = run(split(20, 80, state(2, status="running", verdict="pending", heartbeat="2026-12-02T00:59:59Z")),
            restart=True)
    assert d["action"] == "refuse" and d["reason"] == "busy"


def test_paused_state_is_no_lock_and_its_gate_is_released():
    gates = [{"stage": 2, "action": "stop"}, {"stage": 3, "action": "stop"}]
    d = run(split(90, 10, state(1, status="paused", paused_before=2, heartbeat="2026-12-02T00:59:59Z")), gates=gates)
    assert d["action"] == "resume" and modes(d) == ["reverify", "apply", "apply"]
    assert d["stages"][1]["gate"] is None, "the gate the run stopped at must not stop the next run again"
    assert d["stages"][2]["gate"]["action"] == "stop"
    assert "stop gate before stage 2 is released" in d["message"]


def test_gates_only_on_stages_that_are_applied():
    gates = [{"stage": 1, "action": "wait", "seconds": 5}, {"stage": 3}]
    d = run(None, gates=gates)
    assert [s["gate"] and s["gate"]["action"] for s in d["stages"]] == ["wait", None, "prompt"]
    d = run(split(20, 80), gates=gates)
    assert [s["gate"] and s["gate"]["action"] for s in d["stages"]] == [None, None, "prompt"]


def test_applied_without_verification_counts_as_passed_only_for_unverified_runs():
    st = state(3, status="promoted", verdict="applied")
    assert run(split(0, 100, st), verify=False)["action"] == "none"
    assert run(split(0, 100, st), verify=True)["action"] == "resume"


def test_state_that_disagrees_with_the_weights_is_not_trusted_as_passed():
    # the state says 0/100 passed but someone put 20/80 back by hand: resume at 20/80, never "promoted"
    st = state(3, status="promoted")
    d = run(split(20, 80, st))
    assert d["action"] == "resume" and modes(d) == ["skip", "reverify", "apply"]


def test_broken_annotation_is_ignored_with_a_note_and_newer_schema_is_refused():
    d = run(split(20, 80, "not json"))
    assert d["action"] == "resume" and "is not JSON; it is ignored" in d["message"]
    with pytest.raises(CanaryError) as err:
        run(split(20, 80, {"version": 2}))
    assert "schema version 2, newer than this collection's 1" in str(err.value)


@pytest.mark.parametrize("gates, fragment", [
    ("stop", "canary_pause must be a list"),
    ([{"stage": 4, "action": "stop"}], "canary_pause[0].stage must be the number of a stage of the plan (1, 2, 3)"),
    ([{"stage": 2, "action": "sleep"}], "canary_pause[0].action must be one of prompt, wait, stop"),
    ([{"stage": 2, "action": "wait"}], "canary_pause[0].seconds must be a whole number of seconds >= 1"),
    ([{"stage": 2, "action": "stop", "seconds": 3}], "seconds is only used with action wait"),
    ([{"stage": 2}, {"stage": 2, "action": "stop"}], "stage 2 has a gate already"),
    ([{"stage": 2, "when": "x"}], "unknown key(s) when"),
])
def test_bad_gates(gates, fragment):
    with pytest.raises(CanaryError) as err:
        validate_gates(gates, PLAN)
    assert fragment in str(err.value)


def test_state_document_schema():
    doc = state_document("r1", PLAN, "running", PLAN[1], None, "pending", STARTED, "2026-12-02T00:55:00Z")
    assert doc == {"version": 1, "run_id": "r1", "status": "running", "plan": [10, 80, 100], "stage": 2,
                   "label": "20/80", "weights": {V1: 20, V2: 80}, "verdict": "pending", "failed_stage": None,
                   "paused_before": None, "started": STARTED, "heartbeat": "2026-12-02T00:55:00Z"}
    with pytest.raises(CanaryError):
        state_document("r1", PLAN, "done", PLAN[1], None, "pending", STARTED, STARTED)
    with pytest.raises(CanaryError):
        state_document("r1", PLAN, "running", PLAN[1], None, "ok", STARTED, STARTED)


def test_parse_time():
    assert parse_time("2026-12-02T01:00:00Z") - parse_time("2026-12-02T00:59:30.5Z") == pytest.approx(29.5)
    assert parse_time("yesterday") is None and parse_time(None) is None


def test_preview_says_what_each_stage_does():
    d = run(split(20, 80, state(2, status="running", verdict="pending", heartbeat="2026-12-02T00:00:00Z")),
            gates=[{"stage": 3, "action": "wait", "seconds": 30}])
    assert d["preview"] == [
        "stage 1 90/10: before the live stage, left alone",
        "stage 2 20/80: live: measure again, weights not rewritten (the rollout state is updated)",
        "stage 3 0/100: wait 30 s, then write backend-v1=0, backend-v2=100, then measure",
    ]
    d = run(split(0, 100, state(3, status="promoted")))
    assert d["preview"][-1] == "stage 3 0/100: live and passed, nothing to do"
