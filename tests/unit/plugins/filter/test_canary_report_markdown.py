import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("canary_report_markdown")
render = mod.canary_report_markdown


def _report(**over):
    report = {
        "split": {"name": "backend-ts", "namespace": "default", "api": "smi", "service": "backend-svc"},
        "stable_version": "1",
        "canary_version": "2",
        "planned": ["90/10", "20/80", "0/100"],
        "verify_ratio": True,
        "outcome": "rolled_back",
        "started": "2026-11-27T18:00:00Z",
        "finished": "2026-11-27T18:05:00Z",
        "rollback": {"stage": 1, "label": "90/10", "applied": True},
        "stages": [
            {"number": 1, "label": "90/10", "samples": 212, "shares": {"1": 0.8962, "2": 0.1038},
             "intervals": {"1": [0.85, 0.93], "2": [0.07, 0.15]}, "errors": 3, "error_rate": 0.0139,
             "decision": "pass", "reason": "shares within tolerance", "duration": 34.06},
            {"number": 2, "label": "20/80", "samples": 150, "shares": {"1": 0.5, "2": 0.5},
             "intervals": {"1": [0.4, 0.6], "2": [0.4, 0.6]}, "errors": 0, "error_rate": 0.0,
             "decision": "fail", "reason": "v2 share 0.50 | outside [0.75, 0.85]", "duration": 61.0},
        ],
    }
    report.update(over)
    return report


def test_table_rows_and_values():
    text = render(_report())
    lines = text.splitlines()
    header = [line for line in lines if line.startswith("| Stage")][0]
    assert header.count("|") == 10
    assert "Weights (v1/v2)" in header
    assert "| 1 | 90/10 | 212 | 0.896 [0.850, 0.930] | 0.104 [0.070, 0.150] | 3 (1.4 %) | pass | 34.1 s |" in text
    assert "| 2 | 20/80 | 150 |" in text
    # a pipe inside a reason must not break the table
    row = [line for line in lines if line.startswith("| 2 |")][0]
    assert row.count("|") - row.count("\\|") == 10
    assert "- Outcome: **rolled_back**" in text
    assert "- Rolled back to 90/10 (stage 1)" in text
    assert text.endswith("\n")


def test_unverified_stages_and_no_rollback():
    stage = {"number": 1, "label": "90/10", "decision": "applied", "reason": "ratio check off"}
    text = render(_report(verify_ratio=False, rollback=None, outcome="promoted", stages=[stage]))
    assert "| 1 | 90/10 | - | - | - | - | applied | - | ratio check off |" in text
    assert "Ratio verification was switched off" in text
    assert "Rolled back" not in text


def test_failed_rollback_is_loud_and_rollback_to_stable():
    text = render(_report(rollback={"stage": 0, "label": "100/0", "applied": False, "error": "timeout"}))
    assert "Rolled back to 100/0 (stage none, all traffic to stable): ROLLBACK FAILED: timeout" in text


def test_no_stages():
    assert "no stage ran" in render(_report(stages=[]))


def test_versions_follow_report():
    text = render(_report(stable_version="blue", canary_version="green", stages=[]))
    assert "Weights (vblue/vgreen)" in text


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="report mapping"):
        render([])
    with pytest.raises(AnsibleFilterError, match="stages"):
        render(_report(stages="x"))


def test_schema_2_run_decision_reverify_and_in_progress():
    report = _report(run_id="20261202T004512Z-3f9a1c", finished=None, outcome="in_progress",
                     decision={"message": "Stage 2 (20/80) is live (interrupted): re-verify it"}, rollback=None)
    report["stages"][1]["mode"] = "reverify"
    text = render(report)
    assert "- Run: 20261202T004512Z-3f9a1c\n" in text
    assert "- Decision: Stage 2 (20/80) is live (interrupted): re-verify it" in text
    assert "finished: - (in progress)" in text
    assert "| 2 | 20/80 (re-verified) |" in text
    assert "| 1 | 90/10 |" in text
    paused = render(_report(paused_before=3, check_mode=True, run_id="r"))
    assert "- Paused before stage 3 (canary_pause)" in paused
    assert "- Run: r (check mode: nothing written or measured)" in paused


def test_links_the_html_page():
    text = render(_report(), html="canary-report-20261203T124810Z-3f53d6.html")
    lines = text.splitlines()
    link = "- Report page (charts): [canary-report-20261203T124810Z-3f53d6.html](canary-report-20261203T124810Z-3f53d6.html)"
    assert lines[lines.index("- Outcome: **rolled_back**") + 3] == link
    # a name that is not a plain URL path is percent-encoded in the target, escaped in the label
    text = render(_report(), html="my [report] 1.html")
    assert "- Report page (charts): [my \\[report\\] 1.html](my%20%5Breport%5D%201.html)" in text
    assert "Report page" not in render(_report())
