# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""The progress line traffic_ratio_info's action plugin prints after every round of a measurement."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

STATES = {None: "open", "accept": "accepted", "reject": "rejected"}


def progress_line(progress):
    """One line from a round's ``progress``: samples against what is needed, each version's share with its
    interval and expected share, errors, every sequential test's state, and the time left before the timeout."""
    parts = []
    head = "{0} samples (at least {1}, at most {2})".format(progress["samples"], progress["needed"],
                                                            progress["max_samples"])
    if progress.get("expected"):
        head = "{0}: {1}".format(progress["expected"], head)
    parts.append(head)
    for version, share, interval, expected in progress["versions"]:
        parts.append("v{0} {1:.3f} [{2:.3f}, {3:.3f}] (expected {4:.3f})".format(
            version, share, interval[0], interval[1], expected))
    parts.append("errors {0} (rate {1:.3f})".format(progress["errors"], progress["error_rate"]))
    tests = ", ".join("{0} {1}".format(name, STATES.get(state, state)) for name, state in progress["tests"])
    if tests:
        parts.append("tests: " + tests)
    pods = progress.get("pods")
    if pods is not None:
        parts.append("{0} pod{1}".format(pods, "" if pods == 1 else "s"))
    left = max(0.0, progress["timeout"] - progress["elapsed"])
    parts.append("{0:.0f} s elapsed, {1:.0f} s left of timeout {2}".format(progress["elapsed"], left,
                                                                           progress["timeout"]))
    return " | ".join(parts)
