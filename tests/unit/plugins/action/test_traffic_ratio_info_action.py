"""The traffic_ratio_info action plugin: rounds until finished, a progress line per round, internal keys dropped."""

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.meshlab.canary.plugins.action import traffic_ratio_info as action

PROGRESS = dict(expected="90/10", samples=120, needed=100, max_samples=5000, errors=0, error_rate=0.0,
                versions=[["1", 0.9, [0.8, 0.95], 0.9], ["2", 0.1, [0.05, 0.2], 0.1]],
                tests=[["v2 high", None], ["v2 low", "accept"]], decision=None, elapsed=12.0, timeout=600, pods=1)


def make_action(args, rounds):
    task = mock.MagicMock()
    task.args = dict(args)
    task.async_val = 0
    plugin = action.ActionModule(task, mock.MagicMock(), mock.MagicMock(), loader=None, templar=None,
                                 shared_loader_obj=None)
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        return rounds[len(calls) - 1]
    plugin._execute_module = execute
    return plugin, calls


def run(plugin):
    with mock.patch("ansible.plugins.action.ActionBase.run", return_value={}), \
            mock.patch.object(action.display, "display") as shown:
        result = plugin.run(task_vars={"inventory_hostname": "lab"})
    assert all(c.kwargs == {"stderr": True} for c in shown.call_args_list)  # stdout stays the callback's
    return result, [c.args[0] for c in shown.call_args_list]


def test_rounds_resume_from_the_state_until_finished_and_print_progress():
    final = dict(decision="pass", samples=480, finished=True, invocation={"module_args": {"resume": {"x": 1},
                                                                                          "expected": {"1": 9}}})
    rounds = [dict(finished=False, state={"n": 1}, progress=dict(PROGRESS)),
              dict(finished=False, state={"n": 2}, progress=dict(PROGRESS, samples=300)), final]
    plugin, calls = make_action({"expected": {"1": 90, "2": 10}}, rounds)
    result, lines = run(plugin)
    assert [c[0] for c in calls] == ["meshlab.canary.traffic_ratio_info"] * 3
    assert "resume" not in calls[0][1] and calls[1][1]["resume"] == {"n": 1} and calls[2][1]["resume"] == {"n": 2}
    assert all(c[1]["expected"] == {"1": 90, "2": 10} for c in calls)
    assert len(lines) == 2
    assert lines[0].startswith("[lab] traffic_ratio_info round 1: 90/10: 120 samples (at least 100, at most 5000)")
    assert "v2 high open, v2 low accepted" in lines[0] and "588 s left of timeout 600" in lines[0]
    assert "300 samples" in lines[1]
    assert result["decision"] == "pass" and result["rounds"] == 3
    assert "state" not in result and "progress" not in result and "finished" not in result
    assert result["invocation"]["module_args"] == {"expected": {"1": 9}}


def test_an_operational_failure_ends_the_rounds():
    rounds = [dict(finished=False, state={"n": 1}, progress=dict(PROGRESS)),
              dict(failed=True, msg="selector 'app=x' matches no pods")]
    plugin, calls = make_action({"expected": {"1": 1}}, rounds)
    result, lines = run(plugin)
    assert len(calls) == 2 and len(lines) == 1
    assert result["failed"] is True and result["msg"].startswith("selector") and result["rounds"] == 2


def test_one_call_when_progress_is_off():
    plugin, calls = make_action({"expected": {"1": 1}, "progress_interval": 0},
                                [dict(decision="fail", finished=True)])
    result, lines = run(plugin)
    assert len(calls) == 1 and lines == [] and result["rounds"] == 1 and result["decision"] == "fail"


def test_resume_given_by_the_user_is_refused():
    plugin, calls = make_action({"expected": {"1": 1}, "resume": {"n": 1}}, [])
    with pytest.raises(AnsibleActionFail) as err:
        run(plugin)
    assert "remove it from the task" in str(err.value) and calls == []
