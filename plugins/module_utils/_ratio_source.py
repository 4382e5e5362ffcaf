# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Collect samples for traffic_ratio_info (pod logs or an exec probe) and feed them to the Verdict.

``measure_ratio(cluster, params)`` is the whole traffic_ratio_info module behind its argument spec. ``cluster`` is
a :class:`_kube.Cluster` or a fake with the same methods; ``params`` are the module's validated parameters (every
option present, defaults filled in), used as they are; clock, sleep and wall time are injectable so the
loops are tested without waiting.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
import time
from concurrent.futures import ThreadPoolExecutor

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._samples import (
    NS,
    Boundary,
    StreamTracker,
    classify,
    compile_pattern,
    format_timestamp,
    newest_timestamp,
    parse_log,
)
from ansible_collections.meshlab.canary.plugins.module_utils._verdict import verdict_from_params

READ_MARGIN_SECONDS = 5  # overlap between two log reads; duplicates are removed by StreamTracker
# How far a read reaches back before module start + settle: far enough that every line after the boundary is read
# (the boundary is earlier than start + settle by the age of the newest line at the first poll, and sinceSeconds
# is whole seconds), short enough that a pod that logged during the settle window and then paused cannot bring
# much of it in before the boundary is fixed (the boundary excludes it otherwise).
SETTLE_READ_BACK_SECONDS = 2
MAX_READERS = 8
ERROR_EXAMPLES = 5


def _shell_quote(text):
    return "'" + text.replace("'", "'\"'\"'") + "'"


def probe_script(url, requests, request_timeout):
    """``sh -c`` body: ``requests`` sequential ``curl -s`` calls, one output line per request.

    A failed request prints ``curl exit N`` (an error line); exit code 127 when curl is missing.
    """
    return (
        "command -v curl >/dev/null 2>&1 || {{ echo 'curl not found in the container' >&2; exit 127; }}; "
        "i=0; while [ \"$i\" -lt {n} ]; do "
        "r=$(curl -s --max-time {t} {url}) || r=\"curl exit $?\"; "
        "printf '%s' \"$r\" | tr -d '\\r\\n'; echo; "
        "i=$((i+1)); done"
    ).format(n=int(requests), t=int(request_timeout), url=_shell_quote(url))


def _whole(params, name, low, high=None):
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        bounds = ">= {0}".format(low) if high is None else "{0}-{1}".format(low, high)
        raise CanaryError("{0} must be a whole number {1}, got {2!r}".format(name, bounds, value))
    return value


def validate_ratio_params(params):
    """All checks that need no cluster; returns (verdict, regex)."""
    for name in ("namespace", "container"):
        if not params[name].strip():
            raise CanaryError("{0} must be a non-empty string".format(name))
    if not params["selector"].strip():
        raise CanaryError("selector must be a label selector such as app=frontend")
    regex = compile_pattern(params["pattern"])
    verdict = verdict_from_params(params)
    _whole(params, "timeout", 1)
    _whole(params, "settle_seconds", 0)
    _whole(params, "poll_interval", 1)
    if "progress_interval" in params:  # absent for callers that measure in one call (bench/)
        _whole(params, "progress_interval", 0)
    if params["source"] == "probe":
        _whole(params, "probe_requests", 1, 100000)
        _whole(params, "probe_request_timeout", 1, 3600)
        url = params["url"]
        if not url.startswith(("http://", "https://")):
            raise CanaryError("url must be an http:// or https:// URL, got {0!r}".format(url))
    return verdict, regex


def _container_names(pod):
    return [c.get("name") for c in (pod.get("spec") or {}).get("containers") or []]


def _container_status(pod, container):
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == container:
            return status
    return None


def _pod_name(pod):
    return (pod.get("metadata") or {}).get("name")


def select_pods(cluster, namespace, selector, container, first=False):
    """Pods matching ``selector`` that have ``container``; with ``first``, fail clearly when there is none."""
    pods = cluster.list_pods(namespace, selector)
    if first and not pods and not cluster.namespace_exists(namespace):
        raise CanaryError("namespace {0} does not exist: check the namespace option (the namespace where the pods "
                          "matching {1!r} run)".format(namespace, selector))
    if first and not pods:
        raise CanaryError("selector {0!r} matches no pods in namespace {1}: check the selector and that the client "
                          "pods are deployed".format(selector, namespace))
    chosen = [p for p in pods if container in _container_names(p)]
    if first and not chosen:
        names = sorted(set(n for p in pods for n in _container_names(p)))
        raise CanaryError("container {0!r} is not in the pods matching {1!r} in namespace {2}; their containers are: "
                          "{3}".format(container, selector, namespace, ", ".join(names)))
    return chosen


class _Collector(object):
    """Shared bookkeeping of both sources: counts lines into the verdict, remembers pods read and examples."""

    def __init__(self, verdict, regex):
        self.verdict = verdict
        self.regex = regex
        self.pods = set()
        self.examples = []

    def feed(self, text):
        """Classify one line; return True once nothing more is counted (a decision, or max_samples reached)."""
        if self.done():
            return True
        kind, version = classify(text, self.regex)
        if kind == "error":
            self.verdict.add_error()
            if len(self.examples) < ERROR_EXAMPLES:
                self.examples.append(text[:200])
        elif kind == "sample":
            self.verdict.add(version)
        return self.done()

    def done(self):
        return self.verdict.decision() is not None or self.verdict.full()


def _where(elapsed, pods):
    return "in {0:.0f} s from {1} pod{2}".format(elapsed, pods, "" if pods == 1 else "s")


def _finish(collector, start, clock, boundary_text, reason_fields=None):
    verdict = collector.verdict
    elapsed = clock() - start
    where = _where(elapsed, len(collector.pods))
    if verdict.decision() is not None:
        decision, method, reason = verdict.finish(where)
    elif verdict.full():
        decision, method, reason = verdict.finish(where, "max_samples {0}".format(verdict.max_samples))
    else:
        decision, method, reason = verdict.finish(where, "the timeout")
    result = verdict.summary()
    result.update(
        decision=decision,
        method=method,
        reason=reason,
        duration=round(elapsed, 3),
        pods=sorted(collector.pods),
        boundary=boundary_text,
        error_examples=list(collector.examples),
        trace=verdict.trace(),
        finished=True,
    )
    result.update(reason_fields or {})
    return result


# ---- rounds --------------------------------------------------------------------
#
# With progress_interval > 0 a measurement runs in rounds: each call measures for at most that many seconds and,
# when undecided, returns finished=false with ``state`` (everything counted so far and where reading stands) and
# ``progress``; the action plugin prints the progress and calls again with resume=state. Elapsed time is carried
# over by the controller's wall clock, so the time between two rounds counts against the timeout and the log
# windows (nothing logged between two rounds is missed).

class Rounds(object):
    """Elapsed-time bookkeeping of one round: ``start`` is where the whole measurement started on this clock."""

    def __init__(self, params, clock, wall):
        self.clock, self.wall = clock, wall
        self.resume = params.get("resume") or None
        self.interval = params.get("progress_interval") or 0
        self.round_start = clock()
        carried = 0.0
        if self.resume:
            try:
                carried = float(self.resume["elapsed"]) + max(0.0, wall() - float(self.resume["wall"]))
            except (KeyError, TypeError, ValueError):
                raise CanaryError("resume: not a state returned by traffic_ratio_info; leave resume unset, it is set "
                                  "by the action plugin between rounds")
        self.start = self.round_start - carried

    def part(self, name):
        return (self.resume or {}).get(name)

    def over(self, next_step):
        """True when a step of ``next_step`` seconds from now would end after this round's share of time."""
        return bool(self.interval) and self.clock() + next_step > self.round_start + self.interval

    def pause(self, collector, timeout, source_state):
        """The unfinished result that ends this round."""
        verdict = collector.verdict
        elapsed = self.clock() - self.start
        state = dict(elapsed=elapsed, wall=self.wall(), verdict=verdict.to_state(), pods=sorted(collector.pods),
                     examples=list(collector.examples))
        state.update(source_state)
        progress = verdict.progress()
        progress.update(elapsed=round(elapsed, 1), timeout=timeout, pods=len(collector.pods))
        return dict(finished=False, state=state, progress=progress)

    def restore(self, collector):
        if not self.resume:
            return
        collector.verdict.restore(self.resume.get("verdict") or {})
        collector.pods.update(self.resume.get("pods") or [])
        collector.examples.extend(self.resume.get("examples") or [])


# ---- logs ----------------------------------------------------------------------
#
# Each container is read as one stream per pod (uid) and container: its current log and its previous instance's
# log, in this order, every poll. The pod status (containerID, restartCount) is not used to tell instances apart:
# the kubelet publishes it later than the new instance starts logging. Instead the two reads are merged by their
# timestamps. A container's instances never overlap in time (the old one has stopped before the new one starts),
# so the merged lines are in time order and StreamTracker's position (timestamp, rank among equal timestamps)
# counts each line once, whichever log it is read from and however often. Reading the current log first matters:
# if the container rotates between the two reads, the previous log read second holds everything the current read
# returned, and more.

def _log_pods(pods, container):
    """[(stream key, pod name, started)] of the pods whose spec has ``container``."""
    out = []
    for pod in pods:
        if container not in _container_names(pod):
            continue
        uid = (pod.get("metadata") or {}).get("uid") or _pod_name(pod)
        state = (_container_status(pod, container) or {}).get("state") or {}
        started = state.get("running") is not None or state.get("terminated") is not None
        out.append(((uid, container), _pod_name(pod), started))
    return out


def merge_instances(previous, current):
    """One time-ordered list from a previous-instance read and a current read (each a list of (ts, text)).

    When the two overlap in time, the container rotated between the two reads: both came from the same instance
    and the previous read, made second, holds all of it; only lines older than its first one are kept from the
    current read (the window of the later read starts a little later).
    """
    if previous and current and current[0][0] <= previous[-1][0]:
        first, last = previous[0][0], previous[-1][0]
        older = [line for line in current if line[0] < first]
        newer = [line for line in current if line[0] > last]
        return older + previous + newer
    return previous + current


def _stream_key(stream):
    return "{0}/{1}".format(*stream)


def measure_logs(cluster, params, verdict, regex, clock=time.monotonic, sleep=time.sleep, workers=MAX_READERS,
                 wall=time.time):
    namespace, selector, container = params["namespace"], params["selector"], params["container"]
    rounds = Rounds(params, clock, wall)
    start = rounds.start
    collector = _Collector(verdict, regex)
    rounds.restore(collector)
    tracker = StreamTracker()
    last_read = {}
    if rounds.resume:
        pods = select_pods(cluster, namespace, selector, container)
        boundary = Boundary(None, params["settle_seconds"])
        boundary.floor, boundary.value = rounds.part("boundary_floor"), rounds.part("boundary")
        tracker.marks = dict((key, (ts, seen)) for key, ts, seen in rounds.part("marks") or [])
        last_read = dict((key, start + offset) for key, offset in (rounds.part("last_read") or {}).items())
        first_poll = bool(rounds.part("first_poll"))
        wait = (rounds.part("next_poll") or 0.0) - (clock() - start)
        if wait > 0 and not collector.done():
            sleep(min(wait, max(0.0, params["timeout"] - (clock() - start))))
    else:
        pods = select_pods(cluster, namespace, selector, container, first=True)
        first_poll = True
    pool = ThreadPoolExecutor(max_workers=max(1, min(workers, len(pods) or 1)))

    def read_pair(pod_name, **kwargs):
        current = cluster.read_log(pod_name, namespace, container, **kwargs)
        previous = cluster.read_log(pod_name, namespace, container, previous=True, **kwargs)
        return previous, current

    try:
        if not rounds.resume:
            initial = list(pool.map(lambda pod: read_pair(_pod_name(pod), tail_lines=1), pods))
            boundary = Boundary(newest_timestamp([text for pair in initial for text in pair]),
                                params["settle_seconds"])
        timeout = params["timeout"]
        while not collector.done():
            now = clock()
            # Reads start once the settle window is over and never reach back more than SETTLE_READ_BACK_SECONDS
            # before its end (the kubelet applies sinceSeconds against its own clock, so only elapsed time is
            # compared, never two clocks); the boundary decides which of the lines read count.
            window = int(math.floor(now - start - params["settle_seconds"]))
            if window > 0:
                if not first_poll:
                    pods = select_pods(cluster, namespace, selector, container)
                first_poll = False
                reads = _log_pods(pods, container)
            else:
                reads = []

            def read(item):
                stream, pod_name, _started = item
                since = int(math.ceil(now - last_read.get(_stream_key(stream), start))) + READ_MARGIN_SECONDS
                return read_pair(pod_name, since_seconds=min(since, window + SETTLE_READ_BACK_SECONDS))

            texts = list(pool.map(read, reads))
            parsed = []
            for (stream, pod_name, started), (previous, current) in zip(reads, texts):
                last_read[_stream_key(stream)] = now
                if started or previous or current:
                    collector.pods.add(pod_name)
                parsed.append((_stream_key(stream), pod_name, merge_instances(parse_log(previous), parse_log(current))))
            boundary.resolve([line[0] for item in parsed for line in item[2]], clock() - start)
            fresh = []
            for stream, pod_name, lines in parsed:
                for ts, text in tracker.new_lines(stream, lines, boundary.value):
                    fresh.append((ts, pod_name, text))
            # samples are counted in time order; once a decision or max_samples is reached the rest is not counted
            fresh.sort(key=lambda item: item[0])
            for _ts, _pod, text in fresh:
                if collector.feed(text):
                    break
            elapsed = clock() - start
            if collector.done() or elapsed >= timeout:
                break
            pause = max(0.0, min(params["poll_interval"], timeout - elapsed))
            if rounds.over(pause):
                return rounds.pause(collector, timeout, dict(
                    boundary=boundary.value, boundary_floor=boundary.floor, first_poll=first_poll, next_poll=elapsed + pause,
                    marks=[[key, ts, seen] for key, (ts, seen) in sorted(tracker.marks.items())],
                    last_read=dict((key, t - start) for key, t in last_read.items())))
            sleep(pause)
    finally:
        pool.shutdown(wait=True)
    return _finish(collector, start, clock, boundary.text())


# ---- probe ---------------------------------------------------------------------

def _running(pod, container):
    status = _container_status(pod, container) or {}
    running = (status.get("state") or {}).get("running") is not None
    return (pod.get("status") or {}).get("phase") == "Running" and running


def measure_probe(cluster, params, verdict, regex, clock=time.monotonic, sleep=time.sleep, wall_ns=None,
                  wall=time.time):
    namespace, selector, container = params["namespace"], params["selector"], params["container"]
    wall_ns = wall_ns or (lambda: int(wall() * NS))
    rounds = Rounds(params, clock, wall)
    start = rounds.start
    collector = _Collector(verdict, regex)
    rounds.restore(collector)
    settle = params["settle_seconds"]
    timeout = params["timeout"]
    if rounds.resume:
        boundary_text, turn, batch = rounds.part("boundary"), int(rounds.part("turn") or 0), rounds.part("batch")
    else:
        select_pods(cluster, namespace, selector, container, first=True)
        boundary_text, turn, batch = format_timestamp(wall_ns() + settle * NS), 0, None
    waited = clock() - start
    if waited < settle:
        sleep(min(settle, timeout) - min(waited, settle))
    script = probe_script(params["url"], params["probe_requests"], params["probe_request_timeout"])
    ran = 0
    while not collector.done():
        remaining = timeout - (clock() - start)
        if remaining <= 0:
            break
        # a round ends before a batch that would end after the round's share of time (each round runs one at least)
        if ran and rounds.over(batch):
            return rounds.pause(collector, timeout, dict(boundary=boundary_text, turn=turn, batch=batch))
        pods = [p for p in select_pods(cluster, namespace, selector, container) if _running(p, container)]
        if not pods:
            sleep(max(0.0, min(params["poll_interval"], remaining)))
            continue
        pod_name = _pod_name(sorted(pods, key=_pod_name)[turn % len(pods)])
        turn += 1
        budget = params["probe_requests"] * (params["probe_request_timeout"] + 1) + 30
        began = clock()
        out, err, code = cluster.exec_sh(pod_name, namespace, container, script, timeout=min(remaining, budget))
        batch = clock() - began
        ran += 1
        collector.pods.add(pod_name)
        if code not in (0, None):
            raise CanaryError("the probe in pod {0} (container {1}) exited with code {2}: {3}".format(
                pod_name, container, code, (err or out or "").strip()[:300] or "no output"))
        for line in (out or "").splitlines():
            if collector.feed(line):
                break
        if code is None:  # the exec was cut at the timeout: keep what arrived, then decide
            break
    return _finish(collector, start, clock, boundary_text)


def measure_ratio(cluster, params, clock=time.monotonic, sleep=time.sleep, wall_ns=None, wall=time.time):
    """Validate, collect samples from the chosen source, decide. Returns the module result (without changed).

    The result has ``finished``: false for a round that ended undecided (then only ``state`` and ``progress``).
    """
    verdict, regex = validate_ratio_params(params)
    try:
        if params["source"] == "probe":
            return measure_probe(cluster, params, verdict, regex, clock=clock, sleep=sleep, wall_ns=wall_ns,
                                 wall=wall)
        return measure_logs(cluster, params, verdict, regex, clock=clock, sleep=sleep, wall=wall)
    except CanaryError as exc:
        fields = verdict.summary()
        fields.update(decision="fail", method="error", reason=exc.msg)
        fields.update(exc.fields)
        raise CanaryError(exc.msg, **fields)
