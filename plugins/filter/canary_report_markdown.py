# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: canary_report_markdown
short_description: Render a canary rollout report as Markdown
version_added: 0.1.0
author: meshlab.canary maintainers
description:
  - Renders the report the C(meshlab.canary.canary) role collects (one entry per stage with the
    applied weights and the C(meshlab.canary.traffic_ratio_info) result) as a Markdown document with
    a summary and a table of stage, weights, samples, observed shares with intervals, errors,
    decision, duration and reason.
options:
  _input:
    description:
      - The report. Keys C(split) (C(name), C(namespace), C(api), C(service)), C(stable_version),
        C(canary_version), C(outcome), C(rollback) (null or C({stage, label, applied, error})),
        C(started), C(finished) and C(stages) (list of mappings with C(number), C(label), C(samples),
        C(shares), C(intervals), C(errors), C(error_rate), C(decision), C(reason), C(duration), C(verified)).
      - Optional (report schema 2) C(run_id), C(check_mode), C(decision) (C(message) says where the run started and
        why, C(took_over)) and C(paused_before); a stage's C(mode) C(reverify) is shown in its row.
    type: dict
    required: true
  html:
    description:
      - The file name (or relative path) of the run's HTML page (P(meshlab.canary.canary_report_html#filter)),
        linked from the summary. Without it the document has no link.
    type: str
"""

EXAMPLES = r"""
- name: Write the Markdown report
  ansible.builtin.copy:
    content: "{{ __canary_report | meshlab.canary.canary_report_markdown }}"
    dest: reports/canary-report.md
    mode: "0644"

- name: Write the Markdown report with a link to the HTML page next to it
  ansible.builtin.copy:
    content: "{{ __canary_report | meshlab.canary.canary_report_markdown(html='canary-report.html') }}"
    dest: reports/canary-report.md
    mode: "0644"
"""

RETURN = r"""
_value:
  description: Markdown text ending with a newline.
  type: str
"""

from urllib.parse import quote

from ansible.errors import AnsibleFilterError


def _cell(value):
    text = "" if value is None else str(value)
    return text.replace("|", "\\|").replace("\n", " ").strip()


def _share(stage, version):
    shares = stage.get("shares") or {}
    if version not in shares or shares[version] is None:
        return "-"
    text = "%.3f" % float(shares[version])
    interval = (stage.get("intervals") or {}).get(version)
    if interval and len(interval) == 2 and None not in interval:
        text += " [%.3f, %.3f]" % (float(interval[0]), float(interval[1]))
    return text


def _errors(stage):
    errors = stage.get("errors")
    if errors is None:
        return "-"
    rate = stage.get("error_rate")
    if rate is None:
        return str(errors)
    return "%s (%.1f %%)" % (errors, 100.0 * float(rate))


def _duration(stage):
    duration = stage.get("duration")
    if duration is None:
        return "-"
    return "%.1f s" % float(duration)


def _link(html):
    """A Markdown link to the relative path of the HTML page, its target percent-encoded."""
    label = _cell(html).replace("[", "\\[").replace("]", "\\]")
    return "[%s](%s)" % (label, quote(str(html), safe="/"))


def canary_report_markdown(report, html=None):
    """Render the canary report as Markdown; ``html`` is the relative path of the HTML page to link."""
    if not isinstance(report, dict):
        raise AnsibleFilterError("canary_report_markdown: expected the report mapping, got %s" % type(report).__name__)
    split = report.get("split") or {}
    stable = str(report.get("stable_version", "1"))
    canary = str(report.get("canary_version", "2"))
    stages = report.get("stages") or []
    if not isinstance(stages, list):
        raise AnsibleFilterError("canary_report_markdown: 'stages' must be a list")

    lines = [
        "# Canary report: %s" % _cell(split.get("name", "?")),
        "",
        "- Outcome: **%s**" % _cell(report.get("outcome", "unknown")),
        "- Split: %s/%s via %s (root Service %s)" % (
            _cell(split.get("namespace", "?")), _cell(split.get("name", "?")), _cell(split.get("api", "smi")),
            _cell(split.get("service", "?"))),
        "- Stages planned: %s" % _cell(", ".join(str(item) for item in report.get("planned") or []) or "-"),
    ]
    if html:
        lines.append("- Report page (charts): %s" % _link(html))
    if report.get("run_id"):
        lines.append("- Run: %s%s" % (_cell(report["run_id"]), " (check mode: nothing written or measured)"
                                      if report.get("check_mode") else ""))
    decision = report.get("decision") or {}
    if decision.get("message"):
        lines.append("- Decision: %s" % _cell(decision["message"]))
    if report.get("paused_before"):
        lines.append("- Paused before stage %s (canary_pause); the next run continues there" % _cell(
            report["paused_before"]))
    if report.get("started") or report.get("finished"):
        started = _cell(report.get("started") or "-")
        finished = _cell(report.get("finished") or "- (in progress)")
        lines.append("- Started: %s, finished: %s" % (started, finished))
    if not report.get("verify_ratio", True):
        lines.append("- Ratio verification was switched off: weights were applied, the data plane was not measured")
    rollback = report.get("rollback")
    if rollback:
        lines.append("- Rolled back to %s (stage %s)%s" % (
            _cell(rollback.get("label", "?")), _cell(rollback.get("stage", 0) or "none, all traffic to stable"),
            "" if rollback.get("applied", True) else ": ROLLBACK FAILED: %s" % _cell(rollback.get("error", "unknown error"))))
    lines += [
        "",
        "| Stage | Weights (v%s/v%s) | Samples | Observed v%s [interval] | Observed v%s [interval] | Errors | Decision | Duration | Reason |"
        % (stable, canary, stable, canary),
        "|---:|---|---:|---|---|---|---|---:|---|",
    ]
    if not stages:
        lines.append("| - | - | - | - | - | - | no stage ran | - | - |")
    for stage in stages:
        samples = stage.get("samples")
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            _cell(stage.get("number", "?")),
            _cell(stage.get("label", "?")) + (" (re-verified)" if stage.get("mode") == "reverify" else ""),
            "-" if samples is None else _cell(samples),
            _share(stage, stable),
            _share(stage, canary),
            _errors(stage),
            _cell(stage.get("decision", "?")),
            _duration(stage),
            _cell(stage.get("reason", "")),
        ))
    return "\n".join(lines) + "\n"


class FilterModule(object):
    """meshlab.canary report rendering."""

    def filters(self):
        return {"canary_report_markdown": canary_report_markdown}
