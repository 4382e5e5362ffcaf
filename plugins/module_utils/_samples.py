# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Pure log handling for traffic_ratio_info: timestamps, line classes, boundary and settle, de-duplication.

Log lines come from the kubelet with ``timestamps=true``: ``<RFC 3339 nano> <line>``. Lines read from a
CRI log file (``<time> stdout F <line>``, with ``P`` for partial lines) are understood too. Timestamps are
kept as integer nanoseconds since the epoch so that comparisons are exact.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import re
import time

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError

NS = 1000000000

_TS = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})[Tt ](?P<time>\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d{1,9}))?"
    r"(?P<tz>[Zz]|[+-]\d{2}:?\d{2})$"
)
_CRI = re.compile(r"^(?P<stream>stdout|stderr) (?P<tag>[PF]) ?(?P<rest>.*)$", re.DOTALL)


def parse_timestamp(text):
    """RFC 3339 (nanosecond precision, Z or offset) -> integer nanoseconds since the epoch (UTC)."""
    match = _TS.match(text.strip())
    if not match:
        raise ValueError("not an RFC 3339 timestamp: {0!r}".format(text))
    seconds = calendar.timegm(time.strptime(match.group("date") + "T" + match.group("time"), "%Y-%m-%dT%H:%M:%S"))
    frac = (match.group("frac") or "").ljust(9, "0")
    tz = match.group("tz")
    if tz not in ("Z", "z"):
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        seconds -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    return seconds * NS + int(frac)


def format_timestamp(ns):
    """Integer nanoseconds -> RFC 3339 UTC with nanoseconds."""
    seconds, frac = divmod(int(ns), NS)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + ".{0:09d}Z".format(frac)


def split_log_line(raw):
    """(timestamp_ns or None, text, partial) of one raw log line.

    ``partial`` is True for a CRI ``P`` line, whose text continues in the next line.
    """
    line = raw.rstrip("\r\n")
    head, sep, rest = line.partition(" ")
    if sep or head:
        try:
            ts = parse_timestamp(head)
        except ValueError:
            return None, line, False
        cri = _CRI.match(rest)
        if cri:
            return ts, cri.group("rest"), cri.group("tag") == "P"
        return ts, rest, False
    return None, line, False


def parse_log(text):
    """Log text -> list of (timestamp_ns, text); CRI partial lines are joined, untimed lines dropped."""
    out = []
    pending = None
    for raw in text.splitlines():
        if not raw:
            continue
        ts, body, partial = split_log_line(raw)
        if ts is None:
            continue
        if pending is not None:
            ts0, acc = pending
            body = acc + body
            ts = ts0
        if partial:
            pending = (ts, body)
            continue
        pending = None
        out.append((ts, body))
    if pending is not None:
        out.append(pending)
    return out


def compile_pattern(pattern):
    """Compile the sample regex; it must have a named group ``version``."""
    if not isinstance(pattern, str) or not pattern:
        raise CanaryError("pattern must be a regular expression with a named group 'version'")
    try:
        regex = re.compile(pattern)
    except re.error as exc:
        raise CanaryError("pattern {0!r} is not a valid regular expression: {1}".format(pattern, exc))
    if "version" not in regex.groupindex:
        raise CanaryError("pattern {0!r} has no named group 'version': write it as (?P<version>...), for example "
                          "'\"version\"\\s*:\\s*\"(?P<version>[^\"]+)\"'".format(pattern))
    return regex


def classify(text, regex):
    """('blank', None), ('sample', version) or ('error', None) for one line of output."""
    if not text.strip():
        return "blank", None
    match = regex.search(text)
    if match is None or match.group("version") is None or not match.group("version").strip():
        return "error", None
    return "sample", match.group("version").strip()


def newest_timestamp(texts):
    """The newest timestamp (ns) in any of the given log texts, or None."""
    newest = None
    for text in texts:
        for ts, _text in parse_log(text):
            if newest is None or ts > newest:
                newest = ts
    return newest


class StreamTracker(object):
    """Remembers what was already counted per log stream, so overlapping reads never count a line twice.

    A stream is one container instance (pod uid, container, container id or restart count). Lines in a stream
    are in time order; lines sharing a timestamp are told apart by their position among equals.
    """

    def __init__(self):
        self.marks = {}  # stream -> (last timestamp counted, lines with that timestamp counted)

    def new_lines(self, stream, lines, boundary):
        """Lines of ``lines`` (list of (ts, text)) that are after ``boundary`` and not seen before."""
        last_ts, seen_at_last = self.marks.get(stream, (None, 0))
        fresh = []
        equal = 0
        prev = None
        for ts, text in lines:
            if ts != prev:
                equal = 0
                prev = ts
            equal += 1
            if boundary is not None and ts <= boundary:
                continue
            if last_ts is not None and (ts < last_ts or (ts == last_ts and equal <= seen_at_last)):
                continue
            fresh.append((ts, text))
        if fresh:
            top = fresh[-1][0]
            count_top = sum(1 for line in lines if line[0] == top)
            self.marks[stream] = (top, count_top)
        return fresh


class Boundary(object):
    """Samples count only when stamped after the boundary, fixed at the first poll that reads a line.

    The boundary is the later of
      * the newest log line at module start plus ``settle_seconds`` (``newest_at_start``; when no pod had logged
        anything, the first line read, exclusive), and
      * module start plus ``settle_seconds`` on the nodes' clock, estimated as the newest line that first poll read
        minus the time elapsed since module start. A line is never newer than the node's clock when it is read, so
        the estimate is never later than the true time; it is earlier by that line's age, about one line period
        when the pods log steadily.
    Only node timestamps and elapsed times are compared, never two clocks. The reader reaches back far enough
    that every line after the boundary is read (see ratio_source), so the boundary is exact: the samples are the
    lines after it.
    """

    def __init__(self, newest_at_start, settle_seconds):
        self.settle_ns = int(round(settle_seconds * NS))
        self.floor = None if newest_at_start is None else newest_at_start + self.settle_ns
        self.value = None

    def resolve(self, lines_ts, elapsed_seconds):
        """Fix the boundary from the first lines read, ``elapsed_seconds`` after module start (once read)."""
        if self.value is None and lines_ts:
            settled = max(lines_ts) - int(round(elapsed_seconds * NS)) + self.settle_ns
            floor = self.floor if self.floor is not None else min(lines_ts) - 1
            self.value = max(settled, floor)
        return self.value

    def text(self):
        return None if self.value is None else format_timestamp(self.value)
