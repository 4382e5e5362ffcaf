import copy
import json
import math
import pathlib

import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module
from support import html_dom
from support.report_trace import with_traces

mod = load_filter_module("canary_report_html")
render = mod.canary_report_html

REPORTS = pathlib.Path(__file__).resolve().parents[3] / "fixtures" / "canary-reports"


def _fixture(name):
    with open(str(REPORTS / (name + ".json"))) as handle:
        return json.load(handle)


def _small_trace(**over):
    trace = {
        "checkpoints": [[0, 0, {"1": 0, "2": 0}], [10, 0, {"1": 9, "2": 1}], [20, 1, {"1": 17, "2": 3}]],
        "expected_shares": {"1": 0.9, "2": 0.1},
        "tolerance": 0.05,
        "confidence": 0.95,
        "decided_at": 20,
        "sprt": {"2": [{"p0": 0.1, "p1": 0.2, "lower": -2.0, "upper": 3.0, "state": "accept", "n": 15, "llr": -2.1}]},
        "error_test": {"mode": "sprt", "p0": 0.025, "p1": 0.05, "lower": -2.0, "upper": 3.0, "state": None,
                       "n": 21, "llr": -0.4},
    }
    trace.update(over)
    return trace


# -- the pure parts ----------------------------------------------------------------------------------------------


def test_scale_and_ticks():
    y = mod.scale((0.0, 1.0), (200, 10))
    assert y(0.0) == 200 and y(1.0) == 10 and y(0.5) == 105
    assert mod.scale((3, 3), (0, 10))(3) == 5
    assert mod.ticks(0.0, 1.0, 5) == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert mod.ticks(0, 116, 6) == [0, 20, 40, 60, 80, 100]
    assert mod.ticks(-4.6, 6.7, 5) == [-4, -2, 0, 2, 4, 6]


def test_share_series_is_the_cumulative_share_with_the_wilson_interval():
    series = mod.share_series(_small_trace(), "2")
    assert [point[:2] for point in series] == [(10, 0.1), (20, 0.15)]  # the n=0 checkpoint has no share
    # Wilson score interval of 1 success in 10 at 95 %: [0.0179, 0.4042] (textbook value)
    assert series[0][2] == pytest.approx(0.0179, abs=1e-4)
    assert series[0][3] == pytest.approx(0.4042, abs=1e-4)
    # 3 in 20 at 95 %: [0.0524, 0.3604]
    assert series[1][2] == pytest.approx(0.0524, abs=1e-4)
    assert series[1][3] == pytest.approx(0.3604, abs=1e-4)
    # the band follows the trace's confidence: wider at 99.5 %
    wide = mod.share_series(_small_trace(confidence=0.995), "2")
    assert wide[0][2] < series[0][2] and wide[0][3] > series[0][3]


def test_band_polygon_goes_along_the_upper_bounds_and_back_along_the_lower_ones():
    series = [(10, 0.1, 0.02, 0.4), (20, 0.15, 0.05, 0.36)]
    identity = mod.scale((0, 1), (0, 1))
    points = mod.band_points(series, identity, identity, (0.0, 0.3))
    assert points == [(10, 0.3), (20, 0.3), (20, 0.05), (10, 0.02)]  # upper bounds clamped to the axis' 0.3


def test_llr_path_follows_the_counts_and_freezes_after_the_side_stopped():
    side = {"p0": 0.1, "p1": 0.2, "n": 10, "llr": -0.3669, "state": "accept"}
    path = mod.llr_path(side, [(0, 0), (10, 1), (20, 2)])
    by_hand = math.log(2.0) + 9 * math.log(0.8 / 0.9)  # 1 hit, 9 misses
    assert by_hand == pytest.approx(-0.3669, abs=1e-4)
    assert path[0] == (0, 0.0)
    assert path[1][0] == 10 and path[1][1] == pytest.approx(by_hand, abs=1e-4)
    assert path[2] == (20, path[1][1])
    # stopped between two checkpoints: the path bends at the side's n and stays at its final llr
    side = {"p0": 0.1, "p1": 0.2, "n": 15, "llr": -1.5, "state": "accept"}
    path = mod.llr_path(side, [(0, 0), (10, 1), (20, 2)])
    assert [x for x, _y in path] == [0, 10, 15, 20]
    assert path[2][1] == path[3][1] == -1.5
    # an undecided side runs to the end
    path = mod.llr_path({"p0": 0.1, "p1": 0.05, "n": 20, "llr": None, "state": None}, [(10, 1), (20, 2)])
    assert path[-1][1] == pytest.approx(2 * math.log(0.5) + 18 * math.log(0.95 / 0.9))
    # a vacuous side (H1 outside (0, 1)) has no path
    assert mod.llr_path({"p0": 0.98, "p1": 1.03, "n": 5, "llr": 0.0}, [(5, 5)]) == []


def test_expected_share_falls_back_on_the_stage_weight():
    assert mod.expected_share(_small_trace(), "2", 80) == 0.1
    assert mod.expected_share(_small_trace(expected_shares={"1": 1.0}), "2", 0) == 0.0
    assert mod.expected_share(_small_trace(expected_shares={}), "2") is None


def test_error_observations_count_lines():
    assert mod.error_observations(_small_trace()) == [(0, 0), (10, 0), (21, 1)]


def test_value_at_interpolates():
    series = [(10, 0.1), (20, 0.3)]
    assert mod.value_at(series, 15) == pytest.approx(0.2)
    assert mod.value_at(series, 5) == 0.1 and mod.value_at(series, 30) == 0.3
    assert mod.value_at([], 3) is None


def test_parse_time_takes_nanoseconds():
    assert mod.parse_time("1970-01-01T00:01:00Z") == 60
    assert mod.parse_time("1970-01-01T00:00:01.500000000Z") == pytest.approx(1.5)
    assert mod.parse_time(None) is None and mod.parse_time("yesterday") is None


# -- pages ---------------------------------------------------------------------------------------------------------


def _no_outside_reference(page):
    assert page.startswith("<!DOCTYPE html>")
    for needle in ("http://", "https://", "<script", "src=", "href=", "url(", "@import", "//"):
        assert needle not in page, needle
    assert "content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\"" in page


def _stage_sections(root):
    return root.find_all("section", cls="stage")


def test_passing_report_with_traces():
    report = with_traces(_fixture("correct-logs"))
    page = render(report)
    _no_outside_reference(page)
    root = html_dom.parse(page)
    sections = _stage_sections(root)
    assert [(s.attrs["id"], s.attrs["data-decision"]) for s in sections] == [
        ("stage-1", "pass"), ("stage-2", "pass"), ("stage-3", "pass")]
    for section, stage in zip(sections, report["stages"]):
        assert section.find("span", cls="verdict").text() == "pass"
        assert stage["reason"] in section.find("p", cls="reason").text()
        share = section.find("svg", cls="share-chart")
        assert share is not None
        for tag, cls in (("path", "share-line"), ("polygon", "band"), ("line", "expected"), ("rect", "tolerance"),
                         ("circle", "decided")):
            assert len(share.find_all(tag, cls=cls)) == 1, (stage["number"], cls)
        # one point of the share line per checkpoint with samples
        line = share.find("path", cls="share-line").attrs["d"]
        assert line.count("L") + 1 == len([c for c in stage["trace"]["checkpoints"] if c[0] > 0])
    # stages 1 and 2 have share tests, stage 3 (0/100) none; every stage has the error-rate chart
    assert [len(s.find_all("svg", cls="llr-chart")) - len(s.find_all("svg", cls="error-llr-chart"))
            for s in sections] == [1, 1, 0]
    assert len(sections[1].find("svg", cls="llr-chart").find_all("path", cls="llr-line")) == 2
    # p0 +/- tolerance as a person writes it, not 0.30000000000000004
    sides = [item.text() for item in sections[1].find("ul", cls="sides").find_all("li")]
    assert sides[0].startswith("v1: H0 p=0.2 against H1 p=0.3: accept after") and sides[1].startswith(
        "v1: H0 p=0.2 against H1 p=0.1: accept after")
    assert len(sections[1].find("svg", cls="llr-chart").find_all("line", cls="threshold")) == 2
    assert [len(s.find_all("svg", cls="error-llr-chart")) for s in sections] == [1, 1, 1]
    assert root.find("body").attrs["data-outcome"] == "promoted"
    assert root.find("svg", cls="timeline-chart") is not None
    assert len(root.find("ol", cls="timeline").find_all("li")) == 6
    assert root.find("section", id="errors").find("p").text() == "no errors"


def test_expected_line_sits_at_the_stage_weight():
    report = with_traces(_fixture("correct-logs"))
    root = html_dom.parse(render(report))
    share = root.find("section", id="stage-2").find("svg", cls="share-chart")
    y = float(share.find("line", cls="expected").attrs["y1"])
    rect = share.find("rect", cls="tolerance")
    top, height = float(rect.attrs["y"]), float(rect.attrs["height"])
    # 20/80: canary share 0.8, tolerance 0.1 -> the band is symmetric around the line
    assert top + height / 2 == pytest.approx(y, abs=0.02)
    assert height > 0


def test_rolled_back_report_with_traces():
    report = with_traces(_fixture("misroute-stage2"))
    page = render(report)
    _no_outside_reference(page)
    root = html_dom.parse(page)
    sections = _stage_sections(root)
    assert [(s.attrs["data-stage"], s.attrs["data-decision"]) for s in sections] == [("1", "pass"), ("2", "fail")]
    assert sections[1].find("span", cls="verdict-fail").text() == "fail"
    decided = sections[1].find("circle", cls="decided")
    assert "decided after %d samples" % report["stages"][1]["trace"]["decided_at"] in decided.text()
    assert sections[1].find("p", cls="decision-point").text() == "The test decided after %d samples." % (
        report["stages"][1]["trace"]["decided_at"])
    assert root.find("body").attrs["data-outcome"] == "rolled_back"
    rollback = root.find("ol", cls="timeline").find_all("li", cls="event-rollback")
    assert len(rollback) == 1 and "rolled back to 90/10 (stage 1)" in rollback[0].text()
    assert root.find("svg", cls="timeline-chart").find("path", cls="rollback-line") is not None


def test_failed_rollback_is_listed_not_drawn():
    report = with_traces(_fixture("misroute-stage2"))
    report["rollback"].update(applied=False, error="timeout writing the split")
    root = html_dom.parse(render(report))
    item = root.find("ol", cls="timeline").find("li", cls="event-rollback")
    assert "ROLLBACK FAILED to 90/10 (stage 1): timeout writing the split" in item.text()
    assert root.find("svg", cls="timeline-chart").find("path", cls="rollback-line") is None
    assert "rollback to 90/10 failed: timeout writing the split" in root.find("ul", cls="errors").text()


def test_errors_are_shown():
    report = with_traces(_fixture("v2-http500"))
    root = html_dom.parse(render(report))
    assert "19 (9.4 %) error lines" in root.find("ul", cls="errors").text()
    chart = root.find("section", id="stage-1").find("svg", cls="error-llr-chart")
    assert chart.find("path", cls="llr-line") is not None and chart.find("circle", cls="stop") is not None


def test_stages_without_trace_still_render():
    report = _fixture("misroute-stage2")
    page = render(report)
    _no_outside_reference(page)
    root = html_dom.parse(page)
    sections = _stage_sections(root)
    assert [s.attrs["data-decision"] for s in sections] == ["pass", "fail"]
    assert [s.find("p", cls="no-trace").text() for s in sections] == ["no trace recorded for this stage"] * 2
    assert root.find("svg", cls="share-chart") is None and root.find("svg", cls="llr-chart") is None
    assert root.find("svg", cls="timeline-chart") is not None
    # check mode: nothing measured
    planned = copy.deepcopy(report)
    planned.update(check_mode=True, outcome="planned", rollback=None, finished=None)
    for stage in planned["stages"]:
        stage.update(decision="planned", verified=False, samples=None, changed_at=None, boundary=None,
                     measure_duration=None, reason="check mode: would write these weights; not measured")
    root = html_dom.parse(render(planned))
    assert [s.find("p", cls="no-trace").text() for s in _stage_sections(root)] == ["not measured: no trace"] * 2
    assert root.find("svg", cls="timeline-chart") is None
    assert len(root.find("ol", cls="timeline").find_all("li")) == 4


def test_undecided_trace_has_no_decision_marker():
    report = _fixture("misroute-stage2")
    report["stages"][0]["trace"] = _small_trace(decided_at=None)
    root = html_dom.parse(render(report))
    section = root.find("section", id="stage-1")
    assert section.find("svg", cls="share-chart") is not None
    assert section.find("circle", cls="decided") is None
    assert section.find("p", cls="undecided") is not None


def test_text_is_escaped():
    report = with_traces(_fixture("misroute-stage2"))
    report["split"]["name"] = "<b>ts</b>"
    report["stages"][1]["reason"] = '<script>alert("x")</script> & <img src=http://127.0.0.1:9/x.png>'
    report["stages"][1]["decision"] = 'fail" onload="x'
    page = render(report)
    assert "<script" not in page and "<img" not in page and "<b>" not in page
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &lt;img src=http://127.0.0.1:9/x.png&gt;" in page
    root = html_dom.parse(page)
    assert root.find("section", id="stage-2").attrs["data-decision"] == 'fail" onload="x'
    assert root.find("h1").text() == "Canary report: <b>ts</b>"


def test_output_is_deterministic_and_ends_with_a_newline():
    report = with_traces(_fixture("correct-logs"))
    assert render(report) == render(copy.deepcopy(report))
    assert render(report).endswith("</html>\n")


def test_no_stages_and_repeated_numbers():
    root = html_dom.parse(render({"outcome": "refused", "stages": []}))
    assert _stage_sections(root) == [] and "no stage ran" in root.text()
    stage = {"number": 1, "label": "90/10", "decision": "pass"}
    root = html_dom.parse(render({"stages": [stage, dict(stage, mode="reverify")]}))
    assert [s.attrs["id"] for s in _stage_sections(root)] == ["stage-1", "stage-1-2"]


def test_bad_input():
    with pytest.raises(AnsibleFilterError, match="report mapping"):
        render([])
    with pytest.raises(AnsibleFilterError, match="stages"):
        render({"stages": "x"})
