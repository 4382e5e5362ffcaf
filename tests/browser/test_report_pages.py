"""The HTML canary report in a real browser (issue 14): Debian's headless Chromium renders the pages of the
e2e suite's runs (tests/output/artifacts/e2e/: correct-logs passed, misroute-stage2 rolled back) and pages
rendered here from the fixture reports with synthetic traces; each run takes a screenshot (kept in
tests/output/artifacts/browser/), dumps the rendered DOM, checked for every stage's verdict and the chart
elements, and writes Chromium's NetLog, which must show no request the page made.

Runs Chromium only inside a network namespace with nothing but lo (tests/cluster/suites.d/70-report-browser
runs it in the cluster's; by hand: ``unshare --net bash -c 'ip link set lo up; python -m pytest tests/browser'``).
With MESHLAB_E2E_REQUIRE_CLUSTER=1 or CI set, missing e2e pages or a missing chromium fail instead of skipping.
"""

import importlib.util
import json
import os
import shutil

import pytest

import chromium
from support import html_dom
from support.report_trace import with_traces

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.path.join(REPO, "tests", "output", "artifacts", "e2e")
ARTIFACTS = os.path.join(REPO, "tests", "output", "artifacts", "browser")
FIXTURES = os.path.join(REPO, "tests", "fixtures", "canary-reports")
REQUIRED = os.environ.get("MESHLAB_E2E_REQUIRE_CLUSTER") == "1" or bool(os.environ.get("CI"))
E2E_PAGES = {"correct-logs": "promoted", "misroute-stage2": "rolled_back"}
REFERENCES = frozenset(["src", "href", "srcset", "xlink:href", "action", "formaction", "poster", "data",
                        "background", "ping", "manifest", "cite", "longdesc"])


def _load_filter():
    path = os.path.join(REPO, "plugins", "filter", "canary_report_html.py")
    spec = importlib.util.spec_from_file_location("meshlab_canary_filter_canary_report_html", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.canary_report_html


def _missing(what):
    if REQUIRED:
        pytest.fail(what)
    pytest.skip(what)


@pytest.fixture(scope="session")
def browser():
    if not chromium.in_loopback_netns():
        pytest.fail("refusing to start Chromium outside a network namespace with only lo: run inside "
                    "`unshare --net bash -c 'ip link set lo up; ...'` or tests/cluster/run-all")
    if not os.access(chromium.CHROMIUM, os.X_OK):
        _missing("%s missing: run tests/browser/setup.sh (as root, outside the network namespace)" % chromium.CHROMIUM)
    return chromium.CHROMIUM


@pytest.fixture(scope="session")
def artifacts():
    if os.path.isdir(ARTIFACTS):
        shutil.rmtree(ARTIFACTS)
    os.makedirs(ARTIFACTS)
    return ARTIFACTS


def _window(report):
    stages = len(report.get("stages") or [])
    return (1000, min(9000, 1000 + 1300 * stages))


def _show(browser, artifacts, name, page, report):
    """Render the page; return (DOM root, rendered) after the checks every page passes."""
    shot = os.path.join(artifacts, name + ".png")
    netlog = os.path.join(artifacts, name + ".netlog.json")
    window = _window(report)
    rendered = chromium.render(page, shot, netlog, window=window)
    print("[browser] %s: chromium rc=%d in %.1f s" % (name, rendered.returncode, rendered.seconds))
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    with open(os.path.join(artifacts, name + ".dom.html"), "w") as handle:
        handle.write(rendered.dom)
    # the screenshot: a PNG of the window, far bigger than a blank page's few kB
    assert chromium.png_size(shot) == window
    assert os.path.getsize(shot) > 50000, os.path.getsize(shot)
    # the NetLog: complete, and nothing the page asked for
    page_requests, lookups, own = chromium.page_traffic(netlog)
    print("[browser] %s: browser's own requests (not the page's): %s" % (
        name, sorted(set(item["url"].split("?")[0] for item in own))))
    assert page_requests == [], page_requests
    assert lookups == [], lookups
    return html_dom.parse(rendered.dom), rendered


def _check_page(root, report):
    """Every stage's verdict and, with a trace, its charts; the timeline and summary."""
    body = root.find("body")
    assert body is not None and body.attrs.get("data-outcome") == report["outcome"]
    assert root.find("meta", **{"http_equiv": "Content-Security-Policy"}) is not None
    assert root.find("script") is None
    # nothing that would load anything (the CSP would block it, the NetLog would not show it): every reference
    # stays inside the page
    references = [(node.tag, key, value) for node in root.iter() for key, value in node.attrs.items()
                  if key in REFERENCES and not (value or "").startswith(("#", "data:"))]
    assert references == []
    assert all("url(" not in (node.attrs.get("style") or "") for node in root.iter())
    sections = root.find_all("section", cls="stage")
    assert len(sections) == len(report["stages"])
    for section, stage in zip(sections, report["stages"]):
        where = "stage %s" % stage["number"]
        assert section.attrs["id"] == "stage-%s" % stage["number"], where
        assert section.attrs["data-decision"] == stage["decision"], where
        assert section.find("span", cls="verdict").text() == stage["decision"], where
        trace = stage.get("trace")
        if not trace:
            assert section.find("p", cls="no-trace") is not None, where
            continue
        share = section.find("svg", cls="share-chart")
        assert share is not None, where
        for tag, cls in (("path", "share-line"), ("polygon", "band"), ("line", "expected"), ("rect", "tolerance")):
            assert share.find(tag, cls=cls) is not None, (where, cls)
        assert (share.find("circle", cls="decided") is not None) == (trace.get("decided_at") is not None), where
        if any(trace.get("sprt", {}).values()):
            llr = [svg for svg in section.find_all("svg", cls="llr-chart") if "error-llr-chart" not in svg.classes]
            assert len(llr) == 1 and llr[0].find("path", cls="llr-line") is not None, where
            assert llr[0].find("line", cls="threshold upper") is not None, where
            assert llr[0].find("line", cls="threshold lower") is not None, where
    timeline = root.find("section", id="timeline")
    assert timeline is not None and timeline.find("svg", cls="timeline-chart") is not None
    assert len(timeline.find("ol", cls="timeline").find_all("li", cls="event-verdict")) == len(report["stages"])
    rollbacks = timeline.find_all("li", cls="event-rollback")
    assert len(rollbacks) == (1 if report.get("rollback") else 0)
    assert root.find("section", id="summary") is not None and root.find("section", id="errors") is not None


@pytest.mark.parametrize("scenario", sorted(E2E_PAGES))
def test_e2e_page(browser, artifacts, scenario):
    page = os.path.join(E2E, scenario, "canary-report.html")
    data = os.path.join(E2E, scenario, "canary-report.json")
    if not os.path.exists(page) or not os.path.exists(data):
        _missing("%s missing: the e2e suite (tests/cluster/suites.d/60-canary-faults) writes it" % page)
    with open(data) as handle:
        report = json.load(handle)
    assert report["outcome"] == E2E_PAGES[scenario]
    root, _rendered = _show(browser, artifacts, scenario, page, report)
    _check_page(root, report)
    if report["outcome"] == "rolled_back":
        assert "fail" in [stage["decision"] for stage in report["stages"]]


@pytest.mark.parametrize("name", ["correct-logs", "misroute-stage2", "v2-http500"])
def test_fixture_page_with_traces(browser, artifacts, name):
    with open(os.path.join(FIXTURES, name + ".json")) as handle:
        report = with_traces(json.load(handle))
    page = os.path.join(artifacts, "fixture-%s.html" % name)
    with open(page, "w") as handle:
        handle.write(_load_filter()(report))
    root, _rendered = _show(browser, artifacts, "fixture-" + name, page, report)
    _check_page(root, report)


def test_netlog_catches_a_page_that_loads_from_the_network(browser, artifacts, tmp_path):
    """The NetLog check must fail a page that fetches anything: here an image from 127.0.0.1:9 (discard port, lo
    only) and a style sheet, in a page without the report's Content-Security-Policy."""
    page = tmp_path / "leaky.html"
    page.write_text('<!DOCTYPE html><html><head><meta charset="utf-8"><title>leaky</title>'
                    '<link rel="stylesheet" href="http://127.0.0.1:9/style.css"></head>'
                    '<body><p>leaky</p><img src="http://127.0.0.1:9/x.png"></body></html>\n')
    netlog = os.path.join(artifacts, "negative-leaky.netlog.json")
    rendered = chromium.render(str(page), os.path.join(artifacts, "negative-leaky.png"), netlog, window=(800, 600))
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    page_requests, _lookups, _own = chromium.page_traffic(netlog)
    assert sorted(item["url"] for item in page_requests) == ["http://127.0.0.1:9/style.css",
                                                             "http://127.0.0.1:9/x.png"]
    assert all(item["initiator"] == "null" for item in page_requests)


def test_netlog_must_be_complete(tmp_path):
    broken = tmp_path / "cut.json"
    broken.write_text('{"constants": {}, "events": [')
    with pytest.raises(ValueError):
        chromium.page_traffic(str(broken))
