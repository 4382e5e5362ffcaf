# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""The canary rollout's state, kept on the split object, and the decision taken from it at the start of a run.

The canary role writes the state as one annotation (``STATE_ANNOTATION``) in the same request as the weights
(``traffic_split``'s ``annotations`` option), so the weights and the state never disagree. At the start of a
run it reads the live split and calls :func:`decide`, which says where the run begins (stage 1, re-verify the
live stage and go on, nothing to do) or why it must not run (another run holds the split, the live weights are
not in the plan). Pure functions: no Ansible, no kubernetes import; the filters ``canary_rollout_decision`` and
``canary_rollout_state`` expose them to the role.

State document, schema version 1 (compact JSON, sorted keys)::

    {"version": 1,                      # schema version; a newer one is never overwritten
     "run_id": "20261202T004512Z-3f9a1c",
     "status": "running",              # running | paused | promoted | completed | rolled_back | failed
     "plan": [10, 80, 100],            # the canary share of every stage of the run's plan
     "stage": 2, "label": "20/80",     # the plan stage whose weights are live (0 = stable only, 100/0)
     "weights": {"backend-v1": 20, "backend-v2": 80},
     "verdict": "pending",             # of the live weights: pending | pass | fail | applied | none
     "failed_stage": null,             # the stage that failed (rolled_back, failed)
     "paused_before": null,            # the stage a stop gate held back (paused)
     "started": "2026-12-02T00:45:12Z",    # when the run started
     "heartbeat": "2026-12-02T00:47:03Z"}  # when the run wrote this (every write is a heartbeat)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import json
import re
import time

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError

STATE_ANNOTATION = "meshlab.canary/rollout"
SCHEMA_VERSION = 1
STATUSES = ("running", "paused", "promoted", "completed", "rolled_back", "failed")
VERDICTS = ("pending", "pass", "fail", "applied", "none")
GATE_ACTIONS = ("prompt", "wait", "stop")

_STAMP = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?Z$")


def parse_time(text):
    """Seconds since the epoch of an RFC 3339 UTC stamp ('2026-12-02T00:45:12Z', fraction optional), or None."""
    match = _STAMP.match(text or "") if isinstance(text, str) else None
    if not match:
        return None
    seconds = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
    return seconds + (float(match.group(2)) if match.group(2) else 0.0)


def parse_state(obj):
    """(state dict or None, problem or None) from a split object's annotation."""
    annotations = ((obj or {}).get("metadata") or {}).get("annotations") or {}
    text = annotations.get(STATE_ANNOTATION)
    if text is None:
        return None, None
    try:
        state = json.loads(text)
    except ValueError:
        return None, "the annotation {0} is not JSON; it is ignored".format(STATE_ANNOTATION)
    if not isinstance(state, dict) or not isinstance(state.get("version"), int):
        return None, "the annotation {0} has no schema version; it is ignored".format(STATE_ANNOTATION)
    if state["version"] > SCHEMA_VERSION:
        raise CanaryError("the rollout state on the split has schema version {0}, newer than this collection's {1}: "
                          "it was written by a newer meshlab.canary. Use that version (nothing was written)."
                          .format(state["version"], SCHEMA_VERSION))
    return state, None


def split_weights(obj):
    """{service: weight} of a TrafficSplit or of an HTTPRoute's first rule ({} for none)."""
    spec = (obj or {}).get("spec") or {}
    if "backends" in spec:
        return dict((b.get("service"), b.get("weight")) for b in spec.get("backends") or [])
    rules = spec.get("rules") or []
    if not rules:
        return {}
    return dict((r.get("name"), r.get("weight", 1)) for r in rules[0].get("backendRefs") or [])


def canary_share(weights, stable, canary):
    """The canary's share in percent (float) if the split is exactly the two services with whole weights, else None."""
    if set(weights) != set([stable, canary]):
        return None
    values = [weights[stable], weights[canary]]
    if any(not isinstance(v, int) or isinstance(v, bool) or v < 0 for v in values) or sum(values) == 0:
        return None
    return 100.0 * weights[canary] / sum(values)


def stage_weights(stage):
    return dict((b["service"], b["weight"]) for b in stage["backends"])


def validate_gates(gates, plan):
    """``canary_pause`` as a list of {stage, action, seconds}: the stage number the gate holds back.

    Accepts a list of mappings ``{stage: N, action: prompt|wait|stop, seconds: S}`` (``seconds`` only for
    ``wait``; ``action`` defaults to ``prompt``, or ``wait`` when ``seconds`` is given).
    """
    if gates is None or gates == [] or gates == {}:
        return []
    if not isinstance(gates, list):
        raise CanaryError("canary_pause must be a list of gates such as [{{stage: 2, action: stop}}, {{stage: 3, "
                          "action: wait, seconds: 60}}], got {0}".format(type(gates).__name__))
    numbers = [stage["number"] for stage in plan]
    result = []
    for index, gate in enumerate(gates):
        where = "canary_pause[{0}]".format(index)
        if not isinstance(gate, dict):
            raise CanaryError("{0} must be a mapping with stage and action, got {1!r}".format(where, gate))
        unknown = sorted(set(gate) - set(["stage", "action", "seconds", "prompt"]))
        if unknown:
            raise CanaryError("{0}: unknown key(s) {1}; a gate has stage, action, seconds and prompt".format(
                where, ", ".join(unknown)))
        number = gate.get("stage")
        if not isinstance(number, int) or isinstance(number, bool) or number not in numbers:
            raise CanaryError("{0}.stage must be the number of a stage of the plan ({1}), got {2!r}".format(
                where, ", ".join(str(n) for n in numbers), number))
        action = gate.get("action") or ("wait" if gate.get("seconds") is not None else "prompt")
        if action not in GATE_ACTIONS:
            raise CanaryError("{0}.action must be one of {1}, got {2!r}".format(where, ", ".join(GATE_ACTIONS), action))
        seconds = gate.get("seconds")
        if action == "wait":
            if not isinstance(seconds, int) or isinstance(seconds, bool) or seconds < 1:
                raise CanaryError("{0}.seconds must be a whole number of seconds >= 1 for action wait, got {1!r}"
                                  .format(where, seconds))
        elif seconds is not None:
            raise CanaryError("{0}.seconds is only used with action wait (action is {1})".format(where, action))
        if any(item["stage"] == number for item in result):
            raise CanaryError("{0}: stage {1} has a gate already; give each stage at most one".format(where, number))
        text = gate.get("prompt")
        if text is not None and not isinstance(text, str):
            raise CanaryError("{0}.prompt must be a string".format(where))
        result.append({"stage": number, "action": action, "seconds": seconds, "prompt": text})
    return sorted(result, key=lambda item: item["stage"])


def _fmt_weights(weights):
    return ", ".join("{0}={1}".format(name, weights[name]) for name in sorted(weights)) or "none"


def _plan_text(plan):
    return " -> ".join(stage["label"] for stage in plan)


def _age(state, now):
    beat = parse_time((state or {}).get("heartbeat"))
    return None if beat is None else max(0.0, now - beat)


def busy_message(where, state, age, stale_after):
    return ("Another canary rollout of {0} is in progress: run {1} (started {2}, stage {3} {4}, last heartbeat "
            "{5:.0f} s ago). Nothing was written. Wait for it to finish; a run without a heartbeat for more than "
            "{6} s is stale and taken over automatically, or rerun with -e canary_takeover=true if you know that run "
            "is gone (killed).".format(where, state.get("run_id", "?"), state.get("started", "?"),
                                       state.get("stage", "?"), state.get("label", "?"), age, stale_after))


def decide(live, plan, stable_service, canary_service, now, stale_after, run_id="", restart=False, reverify=False,
           takeover=False, verify=True, gates=None, name="split", namespace="default"):
    """Where this run starts, from the live split object (None when there is none) and its state.

    Returns a mapping: ``action`` (``start`` | ``resume`` | ``none`` | ``refuse``), ``reason`` (for refuse:
    ``busy`` or ``unknown_weights``), ``message`` (one paragraph for humans), ``stages`` (the plan, each stage with
    ``mode`` ``skip`` (passed before, left alone) | ``reverify`` (live: measured again, weights not rewritten) |
    ``apply`` (weights written, then measured) and the ``gate`` before it), ``read_only`` (nothing may be written:
    the re-verification of a promoted split), ``resource_version`` (the first write's precondition: the version
    read, or "" for no split), ``live`` (weights, share, matching stage, state) and ``took_over`` (the stale or
    killed run taken over, or None).
    """
    where = "{0}/{1}".format(namespace, name)
    now, stale_after = float(now), int(stale_after)
    gates = validate_gates(gates, plan)
    gate_at = dict((gate["stage"], gate) for gate in gates)
    state, problem = parse_state(live)
    weights = split_weights(live) if live is not None else None
    share = canary_share(weights, stable_service, canary_service) if live is not None else None
    matching = None
    if live is not None:
        for stage in plan:
            if stage_weights(stage) == weights:
                matching = stage
                break
    decision = {
        "action": None,
        "reason": None,
        "message": "",
        "read_only": False,
        "took_over": None,
        "resource_version": ((live or {}).get("metadata") or {}).get("resourceVersion") or "" if live else "",
        "live": {"exists": live is not None, "weights": weights, "canary_share": share,
                 "stage": matching["number"] if matching else None, "state": state, "state_problem": problem},
        "gates": gates,
        "stages": [],
        "preview": [],
    }
    notes = [problem] if problem else []

    def stages(first_apply, reverify_number=None, released=None):
        result = []
        for stage in plan:
            entry = dict(stage)
            if reverify_number is not None and stage["number"] == reverify_number:
                entry["mode"] = "reverify"
            elif stage["number"] >= first_apply:
                entry["mode"] = "apply"
            else:
                entry["mode"] = "skip"
            gate = gate_at.get(stage["number"])
            entry["gate"] = gate if entry["mode"] == "apply" and stage["number"] != released else None
            result.append(entry)
        return result

    # one rollout at a time: a running one with a fresh heartbeat holds the split
    if state and state.get("status") == "running" and state.get("run_id") != run_id:
        age = _age(state, now)
        if age is not None and age <= stale_after:
            if not takeover:
                decision.update(action="refuse", reason="busy", message=busy_message(where, state, age, stale_after))
                return decision
            why = "canary_takeover, last heartbeat {0:.0f} s ago".format(age)
        else:
            why = "no heartbeat for {0}, more than {1} s: stale".format(
                "an unknown time" if age is None else "{0:.0f} s".format(age), stale_after)
        decision["took_over"] = state.get("run_id")
        notes.append("Run {0} is taken over ({1}).".format(state.get("run_id", "?"), why))

    if live is None:
        decision.update(action="start", stages=stages(1),
                        message="No split {0} yet: start at stage 1 ({1}).".format(where, plan[0]["label"]))
    elif restart:
        decision.update(action="start", stages=stages(1), message=(
            "canary_restart: start the plan again at stage 1 ({0}) from the live weights {1}.".format(
                plan[0]["label"], _fmt_weights(weights))))
    elif matching is None and share == 0:
        decision.update(action="start", stages=stages(1), message=(
            "All traffic is on {0} ({1}): start at stage 1 ({2}).".format(
                stable_service, _fmt_weights(weights), plan[0]["label"])))
    elif matching is None:
        shares = [stage["canary_weight"] for stage in plan]
        suggestion = None
        if share is not None and share == int(share):
            suggestion = [int(share)] + [s for s in shares if s > share]
        decision.update(action="refuse", reason="unknown_weights", message=(
            "The live weights of {0} ({1}) match no stage of the plan {2} (canary shares {3}), so this run cannot "
            "tell where the rollout stands. Nothing was written. Either rerun with -e canary_restart=true to start the "
            "plan again at stage 1 ({4}, which moves traffic{5}), or run a plan that contains the live weights{6}."
            .format(where, _fmt_weights(weights), _plan_text(plan), ", ".join(str(s) for s in shares),
                    plan[0]["label"],
                    " back to the stable version" if share is not None and share > plan[0]["canary_weight"] else "",
                    ", e.g. -e '{{\"canary_stages\": {0}}}'".format(json.dumps(suggestion)) if suggestion else "")))
        return decision
    else:
        final = matching["number"] == plan[-1]["number"]
        passed = bool(state) and state.get("weights") == weights and (
            state.get("verdict") == "pass" or (state.get("verdict") == "applied" and not verify))
        if final and passed:
            outcome = "promoted" if matching["canary_weight"] == 100 else "completed"
            if reverify:
                decision.update(action="none", read_only=True, stages=stages(len(plan) + 1, matching["number"]),
                                message="Already {0}: the final stage {1} is live and passed (run {2}); "
                                        "canary_reverify: measure it again, read-only.".format(
                                            outcome, matching["label"], state.get("run_id", "?")))
            else:
                decision.update(action="none", stages=stages(len(plan) + 1), message=(
                    "Already {0}: the final stage {1} is live and passed (run {2}). Nothing to do, nothing "
                    "written.".format(outcome, matching["label"], state.get("run_id", "?"))))
        else:
            how = "passed" if passed else (
                "interrupted" if not state or state.get("verdict") == "pending" else state.get("verdict"))
            released = None
            if state and state.get("status") == "paused" and state.get("weights") == weights:
                released = state.get("paused_before")
            decision.update(action="resume", stages=stages(matching["number"] + 1, matching["number"], released),
                            message="Stage {0} ({1}) is live ({2}): re-verify it without rewriting the weights, "
                                    "then {3}.".format(matching["number"], matching["label"], how,
                                                       "finish" if final else "go on with " + ", ".join(
                                                           s["label"] for s in plan[matching["number"]:])))
            if released:
                decision["message"] += " The stop gate before stage {0} is released.".format(released)
    if notes:
        decision["message"] += " Note: " + " ".join(notes)
    decision["preview"] = preview(decision)
    return decision


def preview(decision):
    """One line per stage: what this run does with it (also the check-mode preview)."""
    lines = []
    for stage in decision["stages"]:
        head = "stage {0} {1}: ".format(stage["number"], stage["label"])
        if stage["mode"] == "skip":
            live = decision["live"]["stage"]
            lines.append(head + ("live and passed, nothing to do" if live == stage["number"]
                                 else "before the live stage, left alone"))
            continue
        gate = stage.get("gate")
        before = ""
        if gate:
            before = {"prompt": "wait for the operator, then ", "stop": "STOP here (state paused), next run: ",
                      "wait": "wait {0} s, then ".format(gate.get("seconds"))}[gate["action"]]
        if stage["mode"] == "reverify":
            what = "live: measure again, weights not rewritten" + (
                ", read-only" if decision["read_only"] else " (the rollout state is updated)")
        else:
            what = "write {0}, then measure".format(_fmt_weights(stage_weights(stage)))
        lines.append(head + before + what)
    return lines


def state_document(run_id, plan, status, stage, weights, verdict, started, now, failed_stage=None,
                   paused_before=None):
    """The state to write (a mapping; traffic_split writes it as compact JSON)."""
    if status not in STATUSES:
        raise CanaryError("rollout state: status must be one of {0}, got {1!r}".format(", ".join(STATUSES), status))
    if verdict not in VERDICTS:
        raise CanaryError("rollout state: verdict must be one of {0}, got {1!r}".format(", ".join(VERDICTS), verdict))
    return {
        "version": SCHEMA_VERSION,
        "run_id": run_id,
        "status": status,
        "plan": [item["canary_weight"] for item in plan],
        "stage": stage["number"],
        "label": stage["label"],
        "weights": stage_weights(stage) if weights is None else dict(weights),
        "verdict": verdict,
        "failed_stage": failed_stage,
        "paused_before": paused_before,
        "started": started,
        "heartbeat": now,
    }
