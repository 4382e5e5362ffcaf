# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: canary_report_html
short_description: Render a canary rollout report as a self-contained HTML page
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Renders the report the C(meshlab.canary.canary) role collects as one HTML5 page to look at in a browser, with a
    summary, a timeline of the weights applied, the verdicts and the rollback, and per stage the verdict, the
    cumulative share of the canary version against the samples with its Wilson confidence band, the stage weight
    with its tolerance band and the point where the test decided, the sequential tests' log-likelihood ratio
    paths against their thresholds, and the errors.
  - The page is self-contained, with inline CSS and inline SVG, no script, no font, image or style sheet from
    anywhere (a Content-Security-Policy meta allows nothing else). Every text from the report is HTML-escaped.
    The output depends only on the report (no clock, no randomness).
  - A stage without a C(trace) (not measured, check mode, a report from before the trace existed) is shown with
    its figures and the note that there is no trace to draw.
options:
  _input:
    description:
      - The report, as for P(meshlab.canary.canary_report_markdown#filter). Per stage the optional C(trace)
        (from C(meshlab.canary.traffic_ratio_info)) has C(checkpoints) (list of C([n, errors, counts]) with C(counts) per version,
        cumulative), C(expected_shares), C(tolerance), C(confidence) (of the Wilson interval), C(decided_at)
        (samples, or null), C(sprt) (per tested version a list of one-sided tests with C(p0), C(p1), C(lower),
        C(upper), C(state), C(n), C(llr)) and C(error_test) (C(mode) and, for C(sprt), the same fields; its
        C(n) counts lines, samples and error lines).
    type: dict
    required: true
"""

EXAMPLES = r"""
- name: Write the HTML report
  ansible.builtin.copy:
    content: "{{ __canary_report | meshlab.canary.canary_report_html }}"
    dest: reports/canary-report.html
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The HTML document, ending with a newline.
  type: str
"""

import datetime
import math
from html import escape

from ansible.errors import AnsibleFilterError

from ansible_collections.meshlab.canary.plugins.module_utils._verdict import wilson

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

# Chart geometry (SVG user units): plot area inside the margins.
WIDTH = 720
HEIGHT = 240
LEFT = 60
RIGHT = 16
TOP = 14
BOTTOM = 38

STYLE = """
body{font-family:sans-serif;margin:1.5em auto;max-width:780px;color:#222;line-height:1.4;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em}h3{font-size:1em;margin:1em 0 .3em}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left;
vertical-align:top}th{background:#f3f3f3}
.verdict{display:inline-block;padding:0 .5em;border-radius:.3em;color:#fff;background:#777}
.verdict-pass,.verdict-applied{background:#2a7d2e}.verdict-fail,.verdict-error{background:#b3261e}
.verdict-planned{background:#1f5fa8}
.outcome{font-weight:bold}.note{color:#666;font-style:italic}
section.stage{border-top:2px solid #ddd;margin-top:1.5em}
svg{display:block;width:100%;height:auto;background:#fff;border:1px solid #e3e3e3;margin:.4em 0}
svg text{font-size:11px;fill:#333}svg .axis line,svg .axis path{stroke:#888;stroke-width:1;fill:none}
svg .grid{stroke:#eee;stroke-width:1}
.tolerance{fill:#9bd29b;fill-opacity:.35;stroke:none}.expected{stroke:#2a7d2e;stroke-width:1.5;stroke-dasharray:6 3}
.band{fill:#7aa7e0;fill-opacity:.35;stroke:none}.share-line{fill:none;stroke:#1f5fa8;stroke-width:2}
.decided-at{stroke:#444;stroke-width:1;stroke-dasharray:2 3}.decided{fill:#fff;stroke:#000;stroke-width:2}
.threshold{stroke-width:1.2;stroke-dasharray:5 3}.threshold.upper{stroke:#b3261e}.threshold.lower{stroke:#2a7d2e}
.llr-line{fill:none;stroke-width:2}.llr-line.side-0{stroke:#1f5fa8}.llr-line.side-1{stroke:#8e44ad}
.llr-line.side-2{stroke:#d35400}.llr-line.side-3{stroke:#16a085}.llr-line.errors{stroke:#b3261e}
.stop{fill:#fff;stroke:#000;stroke-width:2}
.weight-line{fill:none;stroke:#1f5fa8;stroke-width:2}.event-pass{fill:#2a7d2e}.event-fail,.event-error{fill:#b3261e}
.event-other{fill:#777}.rollback-line{fill:none;stroke:#b3261e;stroke-width:2;stroke-dasharray:4 2}
"""


# -- pure helpers (unit-tested) ------------------------------------------------------------------------------


def text(value):
    """HTML-escaped text of a value (None is empty)."""
    return escape("" if value is None else str(value), quote=True)


def fmt(value):
    """A coordinate with two decimals and no negative zero."""
    out = "%.2f" % value
    return "0.00" if out == "-0.00" else out


def scale(domain, span):
    """Linear map from the domain (d0, d1) onto the span (r0, r1); a degenerate domain maps to the middle."""
    (d0, d1), (r0, r1) = domain, span
    if d1 == d0:
        return lambda value: (r0 + r1) / 2.0
    factor = (r1 - r0) / float(d1 - d0)
    return lambda value: r0 + (value - d0) * factor


def clamp(value, low, high):
    return max(low, min(high, value))


def ticks(low, high, count=5):
    """Round tick values within [low, high]: the step of 1, 2 or 5 times a power of ten nearest to a count-th of
    the range."""
    if not high > low:
        return [low]
    raw = (high - low) / float(max(1, count))
    power = 10.0 ** math.floor(math.log10(raw))
    step = min((mult * power for mult in (1, 2, 5, 10)), key=lambda candidate: abs(math.log(candidate / raw)))
    first = math.ceil(low / step - 1e-9)
    out = []
    index = first
    while index * step <= high + 1e-9 * step:
        out.append(round(index * step, 10))
        index += 1
    return out


def llr(p0, p1, n, hits):
    """Log-likelihood ratio of H1 p = p1 against H0 p = p0 after n Bernoulli observations with this many hits."""
    return hits * math.log(p1 / p0) + (n - hits) * math.log((1.0 - p1) / (1.0 - p0))


def _int(value, default=0):
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _float(value, default=None):
    if value is None or isinstance(value, bool):
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        return default
    return number if math.isfinite(number) else default


def checkpoints(trace):
    """The trace's checkpoints as [(n, errors, {version: count})], versions as strings."""
    out = []
    for entry in (trace or {}).get("checkpoints") or []:
        if not isinstance(entry, (list, tuple)) or len(entry) < 3:
            continue
        counts = entry[2] if isinstance(entry[2], dict) else {}
        out.append((_int(entry[0]), _int(entry[1]), dict((str(k), _int(v)) for k, v in counts.items())))
    return out


def share_series(trace, version):
    """[(n, share, low, high)] of the version after each checkpoint with samples: its cumulative share and the
    Wilson interval at the trace's confidence."""
    confidence = _float((trace or {}).get("confidence"), 0.995)
    out = []
    for n, _errors, counts in checkpoints(trace):
        if n <= 0:
            continue
        hits = counts.get(version, 0)
        low, high = wilson(hits, n, confidence)
        out.append((n, hits / float(n), low, high))
    return out


def value_at(series, n):
    """The series' value at n: exact at a point, linear between two, the nearest end outside; None if empty.
    ``series`` is [(x, y, ...)] with increasing x."""
    if not series:
        return None
    if n <= series[0][0]:
        return series[0][1]
    for (x0, y0), (x1, y1) in zip([p[:2] for p in series], [p[:2] for p in series[1:]]):
        if x0 <= n <= x1:
            return y0 if x1 == x0 else y0 + (y1 - y0) * (n - x0) / float(x1 - x0)
    return series[-1][1]


def _valid_probability(value):
    return value is not None and 0.0 < value < 1.0


def llr_path(side, observations):
    """[(x, llr)] of a one-sided SPRT along the observations [(x, hits)] (cumulative, x increasing), from
    (0, 0). After the test stopped (x > side's n) the path stays at the side's final llr. Empty when the side's
    p0 or p1 lies outside (0, 1) (a vacuous side has no path)."""
    p0, p1 = _float(side.get("p0")), _float(side.get("p1"))
    if not (_valid_probability(p0) and _valid_probability(p1)) or p0 == p1:
        return []
    stop = side.get("n")
    stop = None if stop is None else _int(stop)
    final = _float(side.get("llr"))
    path = [(0, 0.0)]
    frozen = False
    for x, hits in observations:
        if stop is not None and x > stop:
            if not frozen:
                end = final if final is not None else (path[-1][1] if path else 0.0)
                if path[-1][0] != stop:
                    path.append((stop, end))
                frozen = True
            path.append((x, path[-1][1]))
            continue
        point = (x, llr(p0, p1, x, hits))
        if path[-1][0] == x:
            path[-1] = point
        else:
            path.append(point)
    if stop is not None and not frozen and final is not None and path[-1][0] == stop:
        path[-1] = (stop, final)
    return path


def version_observations(trace, version):
    """[(samples, hits of the version)] after each checkpoint."""
    return [(n, counts.get(version, 0)) for n, _errors, counts in checkpoints(trace)]


def error_observations(trace):
    """[(lines, error lines)] after each checkpoint: every line counted is a sample or an error line."""
    return [(n + errors, errors) for n, errors, _counts in checkpoints(trace)]


def share_domain(series, expected, tolerance):
    """The share axis: the expected share +/- 2 tolerances, the final interval and the share path from a tenth
    of the samples on, rounded out to 0.05 and within [0, 1]."""
    values = []
    if expected is not None:
        tol = tolerance or 0.0
        values += [expected - 2 * tol, expected + 2 * tol]
    if series:
        last_n = series[-1][0]
        values += [point[1] for point in series if point[0] * 10 >= last_n]
        values += [series[-1][2], series[-1][3]]
    if not values:
        return (0.0, 1.0)
    low = clamp(math.floor(min(values) * 20 + 1e-9) / 20.0, 0.0, 1.0)
    high = clamp(math.ceil(max(values) * 20 - 1e-9) / 20.0, 0.0, 1.0)
    if high - low < 0.1:
        low, high = clamp(low - 0.05, 0.0, 1.0), clamp(high + 0.05, 0.0, 1.0)
    return (low, high)


def band_points(series, xmap, ymap, domain):
    """Polygon points of the Wilson band: the upper bounds left to right, then the lower ones back, each
    clamped to the share axis' domain."""
    low, high = domain
    upper = [(xmap(n), ymap(clamp(hi, low, high))) for n, _share, _lo, hi in series]
    lower = [(xmap(n), ymap(clamp(lo, low, high))) for n, _share, lo, _hi in reversed(series)]
    return upper + lower


def path_d(points):
    """SVG path data through the points."""
    return " ".join(("M" if index == 0 else "L") + fmt(x) + "," + fmt(y) for index, (x, y) in enumerate(points))


def parse_time(value):
    """Seconds since the epoch of an ISO 8601 UTC time (fractions of any length, a trailing Z), or None."""
    if not isinstance(value, str) or not value:
        return None
    raw = value.strip()
    if raw.endswith("Z"):
        raw = raw[:-1]
    fraction = 0.0
    if "." in raw:
        raw, digits = raw.split(".", 1)
        digits = "".join(ch for ch in digits if ch.isdigit())
        fraction = float("0." + digits) if digits else 0.0
    try:
        moment = datetime.datetime.strptime(raw, "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    epoch = datetime.datetime(1970, 1, 1)
    return (moment - epoch).total_seconds() + fraction


def canary_weight_of(weights, canary_service, label=None):
    """The canary's weight in a {service: weight} mapping, else the second number of a label 'a/b'."""
    if isinstance(weights, dict) and canary_service in weights:
        return _int(weights[canary_service], None)
    if isinstance(label, str) and "/" in label:
        return _int(label.split("/")[-1], None)
    return None


def timeline_events(report):
    """[(seconds or None, kind, canary weight or None, label)] of the run: weights applied, verdicts, rollback."""
    canary_service = report.get("canary_service")
    events = []
    for stage in _stages(report):
        number = stage.get("number", "?")
        applied = parse_time(stage.get("changed_at"))
        weight = stage.get("canary_weight")
        weight = _int(weight, None) if weight is not None else canary_weight_of(
            stage.get("weights"), canary_service, stage.get("label"))
        verb = "weights written" if stage.get("weights_changed", stage.get("changed")) else "weights live"
        if stage.get("mode") == "reverify":
            verb = "live weights re-verified"
        events.append((applied, "weights", weight, "stage %s %s: %s" % (number, stage.get("label", "?"), verb)))
        boundary = parse_time(stage.get("boundary"))
        measured = _float(stage.get("measure_duration"))
        decided = boundary + measured if boundary is not None and measured is not None else None
        events.append((decided, "verdict-" + str(stage.get("decision", "?")), weight,
                       "stage %s %s: %s" % (number, stage.get("label", "?"), stage.get("decision", "?"))))
    rollback = report.get("rollback")
    if isinstance(rollback, dict):
        applied = rollback.get("applied", True)
        # a rollback that failed moved no weight: listed, not drawn
        weight = canary_weight_of(rollback.get("weights"), canary_service, rollback.get("label")) if applied else None
        events.append((parse_time(report.get("finished")), "rollback" if applied else "rollback-failed", weight,
                       "%s to %s (stage %s)%s" % (
                           "rolled back" if applied else "ROLLBACK FAILED", rollback.get("label", "?"),
                           rollback.get("stage", "?"), "" if applied else ": %s" % (rollback.get("error") or "?"))))
    return events


def _stages(report):
    stages = report.get("stages") or []
    return [stage for stage in stages if isinstance(stage, dict)]


# -- SVG pieces ------------------------------------------------------------------------------------------------


def _frame(xdomain, ydomain, xlabel, ylabel, yformat):
    """Axes, grid and tick labels of a chart; returns (svg text, x map, y map)."""
    xmap = scale(xdomain, (LEFT, WIDTH - RIGHT))
    ymap = scale(ydomain, (HEIGHT - BOTTOM, TOP))
    parts = ['<g class="axis">']
    for value in ticks(ydomain[0], ydomain[1], 5):
        y = fmt(ymap(value))
        parts.append('<line class="grid" x1="%s" y1="%s" x2="%s" y2="%s"/>' % (fmt(LEFT), y, fmt(WIDTH - RIGHT), y))
        parts.append('<text x="%s" y="%s" text-anchor="end" dy="4">%s</text>' % (fmt(LEFT - 6), y, text(
            yformat(value))))
    for value in ticks(xdomain[0], xdomain[1], 6):
        x = fmt(xmap(value))
        parts.append('<line x1="%s" y1="%s" x2="%s" y2="%s"/>' % (x, fmt(HEIGHT - BOTTOM), x, fmt(HEIGHT - BOTTOM + 4)))
        parts.append('<text x="%s" y="%s" text-anchor="middle">%s</text>' % (x, fmt(HEIGHT - BOTTOM + 16), text(
            "%g" % value)))
    parts.append('<path d="M%s,%s L%s,%s L%s,%s"/>' % (
        fmt(LEFT), fmt(TOP), fmt(LEFT), fmt(HEIGHT - BOTTOM), fmt(WIDTH - RIGHT), fmt(HEIGHT - BOTTOM)))
    parts.append('<text x="%s" y="%s" text-anchor="middle">%s</text>' % (
        fmt((LEFT + WIDTH - RIGHT) / 2.0), fmt(HEIGHT - 4), text(xlabel)))
    parts.append('<text transform="translate(14,%s) rotate(-90)" text-anchor="middle">%s</text>' % (
        fmt((TOP + HEIGHT - BOTTOM) / 2.0), text(ylabel)))
    parts.append("</g>")
    return "".join(parts), xmap, ymap


def _svg(classes, title, body):
    return ('<svg class="%s" viewBox="0 0 %d %d" role="img" aria-label="%s"><title>%s</title>%s</svg>'
            % (text(classes), WIDTH, HEIGHT, text(title), text(title), body))


def expected_share(trace, version, weight=None):
    """The version's expected share from the trace, else the stage's canary weight in percent, else None."""
    expected = _float((trace.get("expected_shares") or {}).get(version))
    if expected is None and _float(weight) is not None:
        expected = _float(weight) / 100.0
    return expected


def share_chart(trace, version, number, weight=None):
    """The cumulative share of the version with its Wilson band, the expected share +/- tolerance and the
    decision point; None without checkpoints."""
    series = share_series(trace, version)
    if not series:
        return None
    expected = expected_share(trace, version, weight)
    tolerance = _float(trace.get("tolerance"), 0.0)
    domain = share_domain(series, expected, tolerance)
    confidence = _float(trace.get("confidence"), 0.995)
    frame, xmap, ymap = _frame((0, max(1, series[-1][0])), domain, "samples", "share of v%s" % version,
                               lambda v: "%.2f" % v)
    parts = [frame]
    if expected is not None:
        top, bottom = clamp(expected + tolerance, *domain), clamp(expected - tolerance, *domain)
        parts.append('<rect class="tolerance" x="%s" y="%s" width="%s" height="%s"><title>%s</title></rect>' % (
            fmt(LEFT), fmt(ymap(top)), fmt(WIDTH - RIGHT - LEFT), fmt(ymap(bottom) - ymap(top)),
            text("stage weight %.3f +/- tolerance %g" % (expected, tolerance))))
    polygon = " ".join(fmt(x) + "," + fmt(y) for x, y in band_points(series, xmap, ymap, domain))
    parts.append('<polygon class="band" points="%s"><title>%s</title></polygon>' % (
        polygon, text("Wilson interval at %g %%" % (100 * confidence))))
    if expected is not None:
        y = fmt(ymap(clamp(expected, *domain)))
        parts.append('<line class="expected" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>' % (
            fmt(LEFT), y, fmt(WIDTH - RIGHT), y, text("expected share %.3f" % expected)))
    points = [(xmap(n), ymap(clamp(share, *domain))) for n, share, _lo, _hi in series]
    parts.append('<path class="share-line" d="%s"/>' % path_d(points))
    decided = trace.get("decided_at")
    if decided is not None:
        at = _int(decided)
        share = value_at(series, at)
        x, y = fmt(xmap(clamp(at, 0, series[-1][0]))), fmt(ymap(clamp(share, *domain)))
        parts.append('<line class="decided-at" x1="%s" y1="%s" x2="%s" y2="%s"/>' % (
            x, fmt(TOP), x, fmt(HEIGHT - BOTTOM)))
        parts.append('<circle class="decided" cx="%s" cy="%s" r="5"><title>%s</title></circle>' % (
            x, y, text("decided after %d samples, share %.3f" % (at, share))))
    title = "stage %s: cumulative share of v%s against samples" % (number, version)
    return _svg("chart share-chart", title, "".join(parts))


def _llr_chart(classes, title, xlabel, sides):
    """Chart of LLR paths: sides is [(css class, label, side, path)]."""
    drawn = [item for item in sides if item[3]]
    if not drawn:
        return None
    xs = [x for item in drawn for x, _y in item[3]]
    ys = [y for item in drawn for _x, y in item[3]]
    for _cls, _label, side, _path in drawn:
        ys += [v for v in (_float(side.get("lower")), _float(side.get("upper"))) if v is not None]
    ylow, yhigh = min(ys), max(ys)
    pad = 0.05 * (yhigh - ylow or 1.0)
    frame, xmap, ymap = _frame((0, max([1] + xs)), (ylow - pad, yhigh + pad), xlabel, "log-likelihood ratio",
                               lambda v: "%g" % v)
    parts = [frame]
    thresholds = set()
    for cls, label, side, path in drawn:
        for kind in ("upper", "lower"):
            value = _float(side.get(kind))
            if value is None or (kind, value) in thresholds:
                continue
            thresholds.add((kind, value))
            y = fmt(ymap(value))
            what = "reject H0 (fail)" if kind == "upper" else "accept H0 (pass)"
            parts.append('<line class="threshold %s" x1="%s" y1="%s" x2="%s" y2="%s"><title>%s</title></line>' % (
                kind, fmt(LEFT), y, fmt(WIDTH - RIGHT), y, text("%s threshold %.3f: %s" % (kind, value, what))))
        parts.append('<path class="llr-line %s" d="%s"><title>%s</title></path>' % (
            text(cls), path_d([(xmap(x), ymap(y)) for x, y in path]), text(label)))
        if side.get("state") is not None and side.get("n") is not None and side.get("llr") is not None:
            parts.append('<circle class="stop" cx="%s" cy="%s" r="4"><title>%s</title></circle>' % (
                fmt(xmap(_int(side["n"]))), fmt(ymap(_float(side["llr"], 0.0))),
                text("%s: %s after %s" % (label, side["state"], side["n"]))))
    return _svg(classes, title, "".join(parts))


def _version_key(version):
    return (0, int(version), version) if str(version).isdigit() else (1, 0, str(version))


def sprt_sides(trace):
    """[(css class, label, side, path)] of every side of the share tests, in version order."""
    out = []
    sprt = (trace or {}).get("sprt") or {}
    index = 0
    for version in sorted(sprt, key=_version_key):
        observations = version_observations(trace, str(version))
        for side in sprt[version] or []:
            if not isinstance(side, dict):
                continue
            label = "v%s: H0 p=%s against H1 p=%s" % (version, _num(side.get("p0")), _num(side.get("p1")))
            out.append(("side-%d" % (index % 4), label, side, llr_path(side, observations)))
            index += 1
    return out


# -- HTML ----------------------------------------------------------------------------------------------------


def _row(name, value):
    return "<tr><th>%s</th><td>%s</td></tr>" % (text(name), text(value))


def _share_text(stage, version):
    share = _float((stage.get("shares") or {}).get(version))
    if share is None:
        return "-"
    out = "%.3f" % share
    interval = (stage.get("intervals") or {}).get(version)
    if isinstance(interval, (list, tuple)) and len(interval) == 2 and None not in interval:
        out += " [%.3f, %.3f]" % (float(interval[0]), float(interval[1]))
    return out


def _errors_text(stage):
    errors = stage.get("errors")
    if errors is None:
        return "-"
    rate = _float(stage.get("error_rate"))
    return str(errors) if rate is None else "%s (%.1f %%)" % (errors, 100.0 * rate)


def _error_test_html(trace):
    test = (trace or {}).get("error_test")
    if not isinstance(test, dict):
        return "", None
    mode = test.get("mode")
    if mode != "sprt":
        what = {"zero": "no error line allowed (max_error_rate 0)", "off": "error-rate test off"}.get(
            mode, "mode %s" % mode)
        return '<p class="error-test">Error-rate test: %s; state %s.</p>' % (
            text(what), text(test.get("state") or "undecided")), None
    summary = '<p class="error-test">Error-rate test: H0 e=%s against H1 e=%s, %s after %s lines.</p>' % (
        text(_num(test.get("p0"))), text(_num(test.get("p1"))), text(test.get("state") or "undecided"),
        text(test.get("n")))
    label = "errors: H0 e=%s against H1 e=%s" % (_num(test.get("p0")), _num(test.get("p1")))
    chart = _llr_chart("chart llr-chart error-llr-chart", "error-rate test: log-likelihood ratio against lines",
                       "lines (samples and error lines)",
                       [("errors", label, test, llr_path(test, error_observations(trace)))])
    return summary, chart


def _stage_html(stage, index, used, report):
    number = stage.get("number", index + 1)
    ident = "stage-%s" % number
    if ident in used:
        ident = "stage-%s-%d" % (number, index + 1)
    used.add(ident)
    decision = str(stage.get("decision", "unknown"))
    stable = str(report.get("stable_version", "1"))
    canary = str(report.get("canary_version", "2"))
    parts = ['<section class="stage" id="%s" data-stage="%s" data-decision="%s">' % (
        text(ident), text(number), text(decision))]
    parts.append('<h2>Stage %s: %s%s <span class="verdict verdict-%s">%s</span></h2>' % (
        text(number), text(stage.get("label", "?")), " (re-verified)" if stage.get("mode") == "reverify" else "",
        text(decision), text(decision)))
    parts.append('<p class="reason">%s</p>' % text(stage.get("reason", "")))
    weights = stage.get("weights") or {}
    rows = [
        _row("Weights", ", ".join("%s=%s" % (k, weights[k]) for k in sorted(weights)) or stage.get("label", "-")),
        _row("Weights written at", stage.get("changed_at") or "-"),
        _row("Samples", "-" if stage.get("samples") is None else stage["samples"]),
        _row("Observed v%s [interval]" % stable, _share_text(stage, stable)),
        _row("Observed v%s [interval]" % canary, _share_text(stage, canary)),
        _row("Error lines", _errors_text(stage)),
        _row("Method", stage.get("method") or "-"),
        _row("Duration", "-" if stage.get("duration") is None else "%.1f s" % float(stage["duration"])),
    ]
    parts.append('<table class="facts">%s</table>' % "".join(rows))
    trace = stage.get("trace")
    if not isinstance(trace, dict):
        measured = stage.get("verified") and stage.get("samples") is not None
        note = "no trace recorded for this stage" if measured else "not measured: no trace"
        parts.append('<p class="note no-trace">%s</p>' % text(note))
    else:
        parts.append("<h3>Canary share</h3>")
        chart = share_chart(trace, canary, number, stage.get("canary_weight"))
        parts.append(chart or '<p class="note no-trace">no checkpoints in the trace</p>')
        if chart:
            parts.append('<p class="legend">Line: cumulative share of v%s; blue band: Wilson interval at %s %%; '
                         'green band: the stage weight (dashed) +/- the tolerance %s; circle: where the test '
                         'decided.</p>' % (text(canary), text("%g" % (100 * _float(trace.get("confidence"), 0.995))),
                                           text(trace.get("tolerance"))))
        sides = sprt_sides(trace)
        llr_chart = _llr_chart("chart llr-chart", "stage %s: sequential tests, log-likelihood ratio" % number,
                               "samples", sides)
        if llr_chart:
            parts.append("<h3>Sequential test</h3>")
            parts.append(llr_chart)
            parts.append('<ul class="sides">%s</ul>' % "".join(
                "<li>%s: %s after %s samples (LLR %s, thresholds %s / %s)</li>" % (
                    text(label), text(side.get("state") or "undecided"), text(side.get("n")),
                    text(_round(side.get("llr"))), text(_round(side.get("lower"))), text(_round(side.get("upper"))))
                for _cls, label, side, _path in sides))
        elif sides:
            parts.append('<p class="note">sequential test sides without a path (vacuous)</p>')
        else:
            parts.append('<p class="note no-sprt">no sequential share test in this stage</p>')
        if trace.get("decided_at") is None:
            parts.append('<p class="note undecided">the test did not decide (timed out or stopped)</p>')
        else:
            parts.append('<p class="decision-point">The test decided after %s samples.</p>' % text(trace["decided_at"]))
        summary, error_chart = _error_test_html(trace)
        parts.append(summary)
        if error_chart:
            parts.append(error_chart)
    parts.append("</section>")
    return "".join(parts)


def _num(value):
    """A probability as written by a person (0.3, not 0.30000000000000004); '?' when missing."""
    number = _float(value)
    return "?" if number is None else "%.6g" % number


def _round(value):
    number = _float(value)
    return "-" if number is None else "%.3f" % number


def _timeline_chart(report, events):
    timed = [event for event in events if event[0] is not None and event[2] is not None]
    start = parse_time(report.get("started"))
    if not timed:
        return None
    origin = start if start is not None else min(event[0] for event in timed)
    end = max([event[0] for event in timed] + [parse_time(report.get("finished")) or origin])
    frame, xmap, ymap = _frame((0, max(1.0, end - origin)), (0, 100), "seconds since the start",
                               "canary weight %", lambda v: "%g" % v)
    parts = [frame]
    points, rollback = [], None
    for moment, kind, weight, _label in timed:
        x, y = xmap(moment - origin), ymap(weight)
        if kind == "weights":
            if points:
                points.append((x, points[-1][1]))
            points.append((x, y))
        elif kind == "rollback":
            rollback = (x, y)
    if points:
        points.append((xmap(end - origin), points[-1][1]))
        if rollback:
            points[-1] = (rollback[0], points[-1][1])
        parts.append('<path class="weight-line" d="%s"/>' % path_d(points))
    if rollback and points:
        parts.append('<path class="rollback-line" d="%s"/>' % path_d([points[-1], rollback]))
    for moment, kind, weight, label in timed:
        if kind == "weights":
            continue
        verdict = kind.split("-", 1)[1] if kind.startswith("verdict-") else kind
        css = "event-" + (verdict if verdict in ("pass", "fail", "error") else "fail" if kind == "rollback" else "other")
        parts.append('<circle class="event %s" cx="%s" cy="%s" r="5"><title>%s</title></circle>' % (
            css, fmt(xmap(moment - origin)), fmt(ymap(weight)), text(label)))
    return _svg("chart timeline-chart", "canary weight applied over the run, verdicts and rollback", "".join(parts))


def _timeline_html(report):
    events = timeline_events(report)
    parts = ['<section id="timeline"><h2>Timeline</h2>']
    chart = _timeline_chart(report, events)
    if chart:
        parts.append(chart)
    start = parse_time(report.get("started"))
    items = []
    for moment, kind, weight, label in events:
        when = "-" if moment is None else ("+%.1f s" % (moment - start) if start is not None else "%.1f" % moment)
        extra = "" if weight is None or kind.startswith("verdict") else " (canary weight %s %%)" % weight
        items.append('<li class="event-%s"><span class="when">%s</span> %s%s</li>' % (
            text(kind.split("-")[0]), text(when), text(label), text(extra)))
    parts.append('<ol class="timeline">%s</ol>' % ("".join(items) or "<li>no stage ran</li>"))
    parts.append("</section>")
    return "".join(parts)


def _errors_html(report):
    items = []
    rollback = report.get("rollback")
    if isinstance(rollback, dict) and not rollback.get("applied", True):
        items.append("rollback to %s failed: %s" % (rollback.get("label", "?"), rollback.get("error") or "unknown"))
    for stage in _stages(report):
        number = stage.get("number", "?")
        if stage.get("decision") == "error":
            items.append("stage %s: %s" % (number, stage.get("reason", "error")))
        if _int(stage.get("errors")) > 0:
            items.append("stage %s: %s error lines" % (number, _errors_text(stage)))
    body = "".join("<li>%s</li>" % text(item) for item in items)
    return '<section id="errors"><h2>Errors</h2>%s</section>' % (
        '<ul class="errors">%s</ul>' % body if body else '<p class="note">no errors</p>')


def _summary_html(report):
    split = report.get("split") or {}
    rollback = report.get("rollback")
    decision = report.get("decision") or {}
    rows = [
        _row("Split", "%s/%s via %s (root Service %s)" % (
            split.get("namespace", "?"), split.get("name", "?"), split.get("api", "smi"), split.get("service", "?"))),
        _row("Versions", "stable v%s (%s), canary v%s (%s)" % (
            report.get("stable_version", "1"), report.get("stable_service", "?"), report.get("canary_version", "2"),
            report.get("canary_service", "?"))),
        _row("Stages planned", ", ".join(str(item) for item in report.get("planned") or []) or "-"),
        _row("Run", report.get("run_id") or "-"),
        _row("Started", report.get("started") or "-"),
        _row("Finished", report.get("finished") or "- (in progress)"),
    ]
    if decision.get("message"):
        rows.append(_row("Decision", decision["message"]))
    if report.get("check_mode"):
        rows.append(_row("Check mode", "nothing written or measured"))
    if not report.get("verify_ratio", True):
        rows.append(_row("Ratio verification", "off: weights applied, the data plane was not measured"))
    if report.get("paused_before"):
        rows.append(_row("Paused before stage", report["paused_before"]))
    if isinstance(rollback, dict):
        rows.append(_row("Rollback", "to %s (stage %s)%s" % (
            rollback.get("label", "?"), rollback.get("stage", "?"),
            "" if rollback.get("applied", True) else ": FAILED: %s" % (rollback.get("error") or "unknown"))))
    return '<section id="summary"><h2>Summary</h2><table class="summary">%s</table></section>' % "".join(rows)


def canary_report_html(report):
    """Render the canary report as one self-contained HTML page."""
    if not isinstance(report, dict):
        raise AnsibleFilterError("canary_report_html: expected the report mapping, got %s" % type(report).__name__)
    if not isinstance(report.get("stages") or [], list):
        raise AnsibleFilterError("canary_report_html: 'stages' must be a list")
    name = (report.get("split") or {}).get("name", "?")
    outcome = str(report.get("outcome", "unknown"))
    used = set()
    stages = [_stage_html(stage, index, used, report) for index, stage in enumerate(_stages(report))]
    return "".join([
        "<!DOCTYPE html>\n",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta http-equiv="Content-Security-Policy" content="%s">' % CSP,  # a constant: its quotes stay
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Canary report: %s (%s)</title>" % (text(name), text(outcome)),
        "<style>%s</style></head>\n" % STYLE,
        '<body data-outcome="%s"><h1>Canary report: %s</h1>' % (text(outcome), text(name)),
        '<p>Outcome: <span class="outcome outcome-%s">%s</span></p>\n' % (text(outcome), text(outcome)),
        _summary_html(report), "\n",
        _timeline_html(report), "\n",
        "\n".join(stages) or '<p class="note">no stage ran</p>', "\n",
        _errors_html(report),
        "\n</body></html>\n",
    ])


class FilterModule(object):
    """meshlab.canary report rendering."""

    def filters(self):
        return {"canary_report_html": canary_report_html}
