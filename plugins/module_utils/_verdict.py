# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""Statistics of traffic_ratio_info: exact-zero rule, sequential tests, Wilson intervals, error rate.

Decision rule (also in the module documentation):

* Expected weights are normalised to shares p0.
* Exact zero: a version whose weight is 0, or one not in ``expected``, must get no sample.
* Tested versions: every version with p0 > 0 when there are three or more such versions; with two,
  only the one with the smaller share (the other's share is 1 minus it); with one, none.
* For each tested version two one-sided Wald SPRTs: H0 p = p0 vs H1 p = p0 + tol, and H0 p = p0 vs
  H1 p = p0 - tol, each at alpha' = alpha / k and beta, with the bounds ln(1 / alpha') (reject H0) and ln(beta)
  (accept H0); k = 2 m + 1 (Bonferroni over the two sides of the m tested versions and the error-rate test;
  2 m when the error-rate test is off). A side whose H1 lies outside (0, 1) is vacuous and counts as accepted.
* Error rate: one-sided SPRT on every counted line (an error line is a hit): H0 e = e0 = max_error_rate -
  margin against H1 e = e1 = max_error_rate, at alpha' and beta. By Ville's inequality a stage whose error rate
  is e0 or less fails by it with probability <= alpha', one whose error rate is max_error_rate or more passes
  with probability <= beta. max_error_rate 0 allows no error line at all; 1 switches the rule off.
* Pass when every side and the error-rate test have accepted H0 and at least the required number of samples is
  in: max(min_samples, n0) where n0 = ceil(ln beta / ln(1 - tol)) applies when the exact-zero rule carries
  the guarantee (a zero-weight version exists, or only one version has weight). Fail as soon as one side or the
  error-rate test rejects H0 or one forbidden sample arrives.
* Truncation (max_samples or timeout, with enough samples), for each tested version still undecided: fail if p0
  lies outside the Wilson interval at 1 - 2 alpha'; pass if the Wilson interval at 1 - beta lies within
  p0 +/- tol on the open sides; otherwise fail as inconclusive. The same for an undecided error-rate test:
  fail if max_error_rate lies below the Wilson interval of the error rate at 1 - 2 alpha', pass if the interval
  at 1 - beta lies below max_error_rate, otherwise fail as inconclusive. Too few samples fail.
* The presence test (no share tested) uses the error-rate test for evidence only: it fails a stage when the test
  rejects H0 before the presence rule passes, but it does not hold a pass back (no beta promise for errors).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math
from statistics import NormalDist

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError


def z_two_sided(confidence):
    """z such that P(|Z| <= z) = confidence."""
    return NormalDist().inv_cdf(0.5 + confidence / 2.0)


def wilson(successes, n, confidence):
    """Wilson score interval [low, high] for a binomial proportion; [0, 1] without data."""
    if n <= 0:
        return [0.0, 1.0]
    z = z_two_sided(confidence)
    phat = successes / n
    denom = 1.0 + z * z / n
    centre = (phat + z * z / (2.0 * n)) / denom
    half = z * math.sqrt(phat * (1.0 - phat) / n + z * z / (4.0 * n * n)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]


def zero_check_samples(tolerance, beta):
    """Samples needed so that a share >= tolerance shows at least once with probability >= 1 - beta."""
    return int(math.ceil(math.log(beta) / math.log(1.0 - tolerance)))


class Sprt(object):
    """One-sided Wald SPRT of H0 p = p0 against H1 p = p1 on Bernoulli observations."""

    __slots__ = ("p0", "p1", "llr", "upper", "lower", "inc_hit", "inc_miss", "state", "n", "hits")

    def __init__(self, p0, p1, alpha, beta):
        self.p0, self.p1 = p0, p1
        self.inc_hit = math.log(p1 / p0)
        self.inc_miss = math.log((1.0 - p1) / (1.0 - p0))
        # Bounds ln(1/alpha) and ln(beta) instead of Wald's approximations ln((1-beta)/alpha) and
        # ln(beta/(1-alpha)): the likelihood ratio is a martingale under H0 (and its inverse under H1), so by
        # Ville's inequality P(reject | H0) <= alpha and P(accept | H1) <= beta hold exactly, whenever the test stops.
        self.upper = math.log(1.0 / alpha)  # cross: reject H0
        self.lower = math.log(beta)  # cross: accept H0
        self.llr = 0.0
        self.state = None
        self.n = 0
        self.hits = 0

    def update(self, hit):
        if self.state is not None:
            return self.state
        self.n += 1
        if hit:
            self.hits += 1
            self.llr += self.inc_hit
        else:
            self.llr += self.inc_miss
        if self.llr >= self.upper:
            self.state = "reject"
        elif self.llr <= self.lower:
            self.state = "accept"
        return self.state

    def to_state(self):
        return [self.llr, self.state, self.n, self.hits]

    def restore(self, state):
        self.llr, self.state, self.n, self.hits = float(state[0]), state[1], int(state[2]), int(state[3])

    def report(self):
        """The test as the report's charts draw it: hypotheses, thresholds, where it stands."""
        return dict(p0=round(self.p0, 6), p1=round(self.p1, 6), lower=round(self.lower, 6), upper=round(self.upper, 6),
                    state=self.state, n=self.n, llr=round(self.llr, 6))


def _number(value, where):
    if isinstance(value, bool):
        raise CanaryError("{0} must be a number >= 0, got {1!r}".format(where, value))
    if isinstance(value, (int, float)):
        number = value
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise CanaryError("{0} must be a number >= 0, got {1!r}".format(where, value))
    else:
        raise CanaryError("{0} must be a number >= 0, got {1!r}".format(where, value))
    if math.isnan(number) or math.isinf(number):
        raise CanaryError("{0} must be a finite number, got {1!r}".format(where, value))
    if number < 0:
        raise CanaryError("{0} must be >= 0, got {1!r}".format(where, value))
    return number


def expected_shares(expected):
    """Validate ``expected`` (version -> weight) and return (weights, shares) keyed by str(version)."""
    if not isinstance(expected, dict) or not expected:
        raise CanaryError('expected must be a dict of version -> weight, for example {"1": 90, "2": 10}')
    weights = {}
    for version, weight in expected.items():
        key = str(version)
        if key in weights:
            raise CanaryError("expected lists version {0!r} twice".format(key))
        weights[key] = _number(weight, "expected[{0!r}]".format(key))
    total = sum(weights.values())
    if total <= 0:
        raise CanaryError("expected weights are all zero: at least one version must get traffic")
    return weights, dict((k, w / total) for k, w in weights.items())


def _fraction(value, name, low, high, low_open=True, high_open=True):
    ok = (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not ok:
        raise CanaryError("{0} must be in {1}{2}, {3}{4}, got {5!r}".format(
            name, "(" if low_open else "[", low, high, ")" if high_open else "]", value))
    return float(value)


class ErrorRateTest(object):
    """The error-rate rule: a one-sided SPRT of H0 e = limit - margin against H1 e = limit on counted lines.

    ``mode`` is ``off`` (limit 1: errors never fail a stage), ``zero`` (limit 0: one error line fails it) or
    ``sprt``. Lines are fed in time order, an error line as a hit.
    """

    def __init__(self, limit, margin, alpha, beta):
        self.limit = limit
        self.alpha, self.beta = alpha, beta
        if limit >= 1.0:
            self.mode, self.margin, self.sprt = "off", None, None
        elif limit <= 0.0:
            self.mode, self.margin, self.sprt = "zero", None, None
        else:
            self.mode, self.margin = "sprt", margin
            self.sprt = Sprt(limit - margin, limit, alpha, beta)
        self.lines = 0
        self.errors = 0

    @property
    def e0(self):
        return self.limit - self.margin

    def update(self, error):
        """Count one line; return ``reject``, ``accept`` or None (undecided)."""
        self.lines += 1
        self.errors += 1 if error else 0
        if self.mode == "zero":
            return "reject" if self.errors else None
        if self.mode == "off":
            return None
        return self.sprt.update(error)

    @property
    def state(self):
        if self.mode == "zero":
            return "reject" if self.errors else None
        if self.mode == "off":
            return "accept"
        return self.sprt.state

    def accepted(self):
        """True when the rule lets a stage pass now (``zero`` mode: no error so far)."""
        return self.state == "accept" or (self.mode == "zero" and not self.errors)

    def to_state(self):
        return [self.lines, self.errors, self.sprt.to_state() if self.sprt else None]

    def restore(self, state):
        self.lines, self.errors = int(state[0]), int(state[1])
        if self.sprt:
            self.sprt.restore(state[2])

    def report(self):
        out = dict(mode=self.mode, p0=None, p1=None, lower=None, upper=None, state=self.state, n=self.lines, llr=None)
        if self.sprt:
            out.update(self.sprt.report(), n=self.lines)
        return out


class Checkpoints(object):
    """Cumulative counts at evenly spaced line numbers, at most ``limit`` + 1 of them, for the report's charts.

    A point ``[samples, errors, {version: count}]`` is kept every ``step`` counted lines (samples plus errors);
    when more than ``limit`` are kept, every other one is dropped and ``step`` doubles, so the points stay evenly
    spaced and their number bounded whatever the sample count.
    """

    def __init__(self, versions, limit=200):
        self.limit = limit
        self.step = 1
        self.points = [[0, 0, dict((v, 0) for v in versions)]]

    def record(self, n, errors, counts):
        if (n + errors) % self.step:
            return
        self.points.append([n, errors, dict(counts)])
        if len(self.points) > self.limit:
            self.points = self.points[::2]
            self.step *= 2

    def final(self, n, errors, counts):
        last = self.points[-1]
        if last[0] == n and last[1] == errors:
            return [list(p) for p in self.points]
        return [list(p) for p in self.points] + [[n, errors, dict(counts)]]

    def to_state(self):
        return [self.step, self.points]

    def restore(self, state):
        self.step, self.points = int(state[0]), [[int(p[0]), int(p[1]), dict(p[2])] for p in state[1]]


def _margin(value, limit):
    if value is None:
        return limit / 2.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < limit:
        raise CanaryError("error_rate_margin must be a number in (0, max_error_rate {0:g}), got {1!r}; it sets the "
                          "error rate max_error_rate - error_rate_margin that a stage must pass with probability "
                          "1 - alpha (default: half of max_error_rate)".format(limit, value))
    return float(value)


class Verdict(object):
    """Feed samples and error lines one by one (in time order); ask ``decision()`` at any point; ``finish()`` at
    the end. Nothing is counted once a decision exists or ``max_samples`` samples are in."""

    def __init__(self, expected, tolerance, alpha, beta, min_samples, max_samples, max_error_rate, test,
                 error_rate_margin):
        self.test = test
        self.weights, self.expected = expected_shares(expected)
        self.tolerance = _fraction(tolerance, "tolerance", 0.0, 0.5, high_open=False)
        self.alpha = _fraction(alpha, "alpha", 0.0, 0.5)
        self.beta = _fraction(beta, "beta", 0.0, 0.5)
        self.max_error_rate = _fraction(max_error_rate, "max_error_rate", 0.0, 1.0, low_open=False, high_open=False)
        if 0.0 < self.max_error_rate < 1.0:
            margin = _margin(error_rate_margin, self.max_error_rate)
        else:
            margin = None
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 1:
            raise CanaryError("min_samples must be a whole number >= 1, got {0!r}".format(min_samples))
        if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < min_samples:
            raise CanaryError("max_samples must be a whole number >= min_samples ({0}), got {1!r}".format(
                min_samples, max_samples))
        self.min_samples, self.max_samples = min_samples, max_samples

        positive = sorted((v for v, p in self.expected.items() if p > 0), key=lambda v: (self.expected[v], v))
        if test == "presence":
            self.tested = []  # no share test: every version with weight must answer, see _decide
        elif len(positive) >= 3:
            self.tested = positive
        elif len(positive) == 2:
            self.tested = positive[:1]
        else:
            self.tested = []
        self.positive = set(positive)
        # Bonferroni over the sequential tests that can reject a correct stage: two sides per tested version and
        # the error-rate test (the exact-zero rule cannot: a correct stage never shows a forbidden sample)
        parts = 2 * len(self.tested) + (1 if margin is not None else 0)
        self.alpha_side = self.alpha / max(1, parts)
        self.errors_test = ErrorRateTest(self.max_error_rate, margin, self.alpha_side, self.beta)
        self.sides = {}
        for version in self.tested:
            p0 = self.expected[version]
            sides = []
            for sign in (1, -1):
                p1 = p0 + sign * self.tolerance
                if 0.0 < p1 < 1.0:
                    sides.append(Sprt(p0, p1, self.alpha_side, self.beta))
            self.sides[version] = sides
        zero_rule = len(positive) < len(self.expected) or (len(positive) == 1 and test == "split")
        self.n0 = zero_check_samples(self.tolerance, self.beta) if zero_rule else 0
        self.needed = max(self.min_samples, self.n0)
        self.counts = dict((v, 0) for v in self.expected)
        self.n = 0
        self.errors = 0
        self.forbidden = None
        self._decision = None
        self.decided_at = None
        self.checkpoints = Checkpoints(self.expected)

    @property
    def error_rate_margin(self):
        return self.errors_test.margin

    # ---- feeding ----
    def add(self, version):
        """Count one sample; return the decision once there is one (later samples are ignored, and so is any
        sample beyond ``max_samples``)."""
        if self._decision is not None or self.full():
            return self._decision
        version = str(version)
        self.n += 1
        self.counts[version] = self.counts.get(version, 0) + 1
        if version not in self.positive and self.forbidden is None:
            self.forbidden = version
        for tested, sides in self.sides.items():
            hit = tested == version
            for side in sides:
                side.update(hit)
        self.errors_test.update(False)
        self._counted()
        return self._decision

    def add_error(self, count=1):
        """Count error lines (lines that are not samples); return the decision once there is one."""
        for _line in range(count):
            if self._decision is not None or self.full():
                break
            self.errors += 1
            self.errors_test.update(True)
            self._counted()
        return self._decision

    def _counted(self):
        self._decision = self._decide()
        if self._decision is not None and self.decided_at is None:
            self.decided_at = self.n
        self.checkpoints.record(self.n, self.errors, self.counts)

    @property
    def error_rate(self):
        total = self.errors + self.n
        return self.errors / total if total else 0.0

    def _decide(self):
        if self.forbidden is not None:
            return ("fail", "exact-zero")
        if self.errors_test.state == "reject":
            return ("fail", "error-rate")
        if self.test == "presence":
            # the error-rate test only fails on evidence here: it does not hold the presence pass back
            if self.n >= self.needed and not self._absent():
                return ("pass", "presence")
            return None
        for sides in self.sides.values():
            if any(side.state == "reject" for side in sides):
                return ("fail", "sprt")
        if self._split_accepted() and self.errors_test.accepted():
            return ("pass", "sprt" if self.tested else "exact-zero")
        return None

    def _split_accepted(self):
        return self.n >= self.needed and all(side.state == "accept" for sides in self.sides.values()
                                             for side in sides)

    def decision(self):
        return self._decision

    def _absent(self):
        """Versions with weight that have not answered yet."""
        return sorted((v for v in self.positive if not self.counts.get(v)), key=_version_key)

    def full(self):
        return self.n >= self.max_samples

    # ---- reporting ----
    def shares(self):
        return dict((v, (c / self.n if self.n else 0.0)) for v, c in self.counts.items())

    def intervals(self):
        k = max(1, len(self.counts))
        conf = 1.0 - self.alpha / k
        return dict((v, [round(x, 4) for x in wilson(c, self.n, conf)]) for v, c in self.counts.items())

    def expected_text(self):
        return "/".join(_fmt(self.weights[v]) for v in self.expected)

    def finish(self, where, truncated_by="max_samples"):
        """Final (decision, method, reason); ``where`` reads like 'in 61 s from 2 pods'."""
        decision = self._decision
        if decision is not None:
            decision, method = decision
            return self._final(decision, method, self._reason(decision, method, where))
        if self.n < self.needed:
            return self._final("fail", "too-few-samples",
                               "collected {0} of at least {1} samples {2}".format(self.n, self.needed, where))
        if self.test == "presence":
            return self._final("fail", "presence", "version(s) {0} never answered in {1} samples {2} ({3})".format(
                ", ".join(self._absent()), self.n, where, self._shares_text()))
        if self._split_accepted():
            method = "sprt" if self.tested else "exact-zero"
            decision, reason = "pass", self._reason("pass", method, where)
        else:
            decision, method, reason = self._wilson(where, truncated_by)
        if decision == "pass" and not self.errors_test.accepted():
            return self._error_truncation(method, reason, where, truncated_by)
        return self._final(decision, method, reason)

    def _error_truncation(self, method, reason, where, truncated_by):
        """The error-rate test is still open at truncation: decide by the Wilson interval of the error rate."""
        test = self.errors_test
        conf_fail = 1.0 - 2.0 * test.alpha
        conf_pass = 1.0 - test.beta
        low = wilson(test.errors, test.lines, conf_fail)[0]
        high = wilson(test.errors, test.lines, conf_pass)[1]
        head = "error-rate test undecided at {0} with {1} error lines among {2} lines (rate {3:.3f})".format(
            truncated_by, test.errors, test.lines, self.error_rate)
        if low > test.limit:
            return self._final("fail", "error-rate", "{0}: max_error_rate {1:g} lies below the {2:g}% interval "
                               "[{3:.3f}, ...] {4}".format(head, test.limit, _pct(conf_fail), low, where))
        if high < test.limit:
            return self._final("pass", method, "{0}; {1}: the {2:g}% interval [..., {3:.3f}] lies below "
                               "max_error_rate {4:g}".format(reason, head, _pct(conf_pass), high, test.limit))
        return self._final("fail", "error-rate", (
            "{0}: inconclusive, the {1:g}% interval [..., {2:.3f}] reaches max_error_rate {3:g} {4}; collect more "
            "samples (raise timeout or max_samples) or raise max_error_rate / error_rate_margin").format(
                head, _pct(conf_pass), high, test.limit, where))

    def _final(self, decision, method, reason):
        if self.errors and "error" not in reason:
            reason += "; {0} error lines (rate {1:.3f})".format(self.errors, self.error_rate)
        return decision, method, reason

    def _shares_text(self):
        shares = self.shares()
        return ", ".join("v{0} {1:.3f}".format(v, shares[v]) for v in sorted(shares, key=_version_key))

    def _reason(self, decision, method, where):
        if method == "exact-zero" and decision == "fail":
            version = self.forbidden
            what = "has weight 0" if version in self.expected else "is not in expected"
            return "version {0} {1} but got {2} of {3} samples after the settle window {4}".format(
                version, what, self.counts.get(version, 0), self.n, where)
        if method == "error-rate":
            return self._error_reason(where)
        if decision == "fail":
            for version, sides in self.sides.items():
                for side in sides:
                    if side.state == "reject":
                        direction = "above" if side.p1 > side.p0 else "below"
                        return ("sequential test rejected the split {0}: share of v{1} is {2} the expected {3:.3f} "
                                "by {4} or more ({5}) after {6} samples {7}".format(
                                    self.expected_text(), version, direction, side.p0, _fmt(self.tolerance),
                                    self._shares_text(), self.n, where))
        if method == "presence":
            return "every version with weight answered: {0} in {1} samples {2}".format(
                ", ".join("v{0} {1}".format(v, self.counts[v]) for v in sorted(self.counts, key=_version_key)),
                self.n, where)
        if method == "exact-zero":
            return "all {0} samples went to the versions with weight ({1}) {2}".format(
                self.n, ", ".join("v" + v for v in sorted(self.positive, key=_version_key)), where)
        return "sequential test accepted the split {0} within {1} after {2} samples {3} ({4})".format(
            self.expected_text(), _fmt(self.tolerance), self.n, where, self._shares_text())

    def _error_reason(self, where):
        test = self.errors_test
        if test.mode == "zero":
            return "max_error_rate 0 allows no error line, got {0} among {1} lines (rate {2:.3f}) {3}".format(
                test.errors, test.lines, self.error_rate, where)
        return ("sequential error-rate test: the error rate is above max_error_rate {0:g} (H0 {1:g} = max_error_rate "
                "- error_rate_margin rejected at alpha {2:.3g}): {3} error lines among {4} lines (rate {5:.3f}), {6} "
                "samples {7}").format(test.limit, test.e0, test.alpha, test.errors, test.lines, self.error_rate,
                                      self.n, where)

    def _wilson(self, where, truncated_by):
        """Decision at truncation, per tested version whose sequential test is still open.

        Fail if p0 lies outside the Wilson interval at 1 - 2 alpha' (evidence of misrouting). Pass only if the
        Wilson interval at 1 - beta (each tail beta / 2, an equivalence test that leaves half of the beta budget to
        the sequential test) lies within p0 +/- tolerance on every side that is still open. Otherwise the data
        cannot tell: fail as inconclusive, because passing an unverified split would break the beta promise.
        """
        conf_fail = 1.0 - 2.0 * self.alpha_side
        conf_pass = 1.0 - self.beta
        misrouted, unsure, fine = [], [], []
        for version in self.tested:
            open_sides = [side for side in self.sides[version] if side.state != "accept"]
            if not open_sides:
                continue
            hits, p0 = self.counts.get(version, 0), self.expected[version]
            low, high = wilson(hits, self.n, conf_fail)
            if not low <= p0 <= high:
                misrouted.append("v{0} expected {1:.3f} outside the {2:g}% interval [{3:.3f}, {4:.3f}]".format(
                    version, p0, _pct(conf_fail), low, high))
                continue
            low, high = wilson(hits, self.n, conf_pass)
            within = all((high < side.p1) if side.p1 > p0 else (low > side.p1) for side in open_sides)
            text = "v{0} {1:g}% interval [{2:.3f}, {3:.3f}] {4} {5:.3f} +/- {6:g}".format(
                version, _pct(conf_pass), low, high, "within" if within else "not within", p0, self.tolerance)
            (fine if within else unsure).append(text)
        head = "sequential test undecided at {0} after {1} samples {2}; decided by Wilson intervals".format(
            truncated_by, self.n, where)
        if misrouted:
            return "fail", "wilson", "{0}: {1}".format(head, "; ".join(misrouted))
        if unsure:
            return "fail", "wilson", ("{0}: inconclusive, {1}; collect more samples (raise timeout or max_samples, "
                                      "or send more requests) or loosen tolerance/beta").format(head, "; ".join(unsure))
        return "pass", "wilson", "{0}: {1}".format(head, "; ".join(fine))

    def confidence(self):
        """Confidence of the reported Wilson intervals (Bonferroni over the versions reported)."""
        return 1.0 - self.alpha / max(1, len(self.counts))

    def trace(self):
        """What the report's charts need: the checkpoints and every sequential test with its thresholds."""
        return dict(
            checkpoints=self.checkpoints.final(self.n, self.errors, self.counts),
            expected_shares=dict((v, round(p, 6)) for v, p in self.expected.items()),
            tolerance=self.tolerance,
            confidence=round(self.confidence(), 6),
            decided_at=self.decided_at,
            sprt=dict((v, [side.report() for side in sides]) for v, sides in self.sides.items()),
            error_test=self.errors_test.report(),
        )

    def progress(self):
        """Where the measurement stands, for a progress line (see _progress.progress_line)."""
        shares, intervals = self.shares(), self.intervals()
        tests = []
        for version in sorted(self.sides, key=_version_key):
            for side in self.sides[version]:
                tests.append(["v{0} {1}".format(version, "high" if side.p1 > side.p0 else "low"), side.state])
        if self.errors_test.mode == "sprt":
            tests.append(["errors", self.errors_test.state])
        versions = sorted(self.counts, key=_version_key)
        return dict(expected=self.expected_text(), samples=self.n, needed=self.needed, max_samples=self.max_samples, errors=self.errors,
                    error_rate=round(self.error_rate, 4),
                    versions=[[v, round(shares[v], 4), intervals[v], round(self.expected[v], 4)] for v in versions],
                    tests=tests, decision=self._decision[0] if self._decision else None)

    def to_state(self):
        """Everything counted so far, JSON-serialisable, for the next round of the same measurement."""
        return dict(counts=dict(self.counts), n=self.n, errors=self.errors, forbidden=self.forbidden,
                    decision=list(self._decision) if self._decision else None, decided_at=self.decided_at,
                    sides=dict((v, [side.to_state() for side in sides]) for v, sides in self.sides.items()),
                    errors_test=self.errors_test.to_state(), checkpoints=self.checkpoints.to_state())

    def restore(self, state):
        """Continue from ``to_state()`` of a Verdict built from the same options."""
        try:
            sides = state["sides"]
            if sorted(sides) != sorted(self.sides) or any(len(sides[v]) != len(self.sides[v]) for v in sides):
                raise ValueError("other tested versions")
            self.counts = dict((str(v), int(c)) for v, c in state["counts"].items())
            self.n, self.errors, self.forbidden = int(state["n"]), int(state["errors"]), state["forbidden"]
            self._decision = tuple(state["decision"]) if state["decision"] else None
            self.decided_at = state["decided_at"]
            for version, side_states in sides.items():
                for side, side_state in zip(self.sides[version], side_states):
                    side.restore(side_state)
            self.errors_test.restore(state["errors_test"])
            self.checkpoints.restore(state["checkpoints"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise CanaryError("resume: the state does not belong to a measurement with these options ({0}); "
                              "leave resume unset, it is set by the action plugin between rounds".format(exc))

    def summary(self):
        return dict(
            counts=dict(self.counts),
            shares=dict((v, round(s, 4)) for v, s in self.shares().items()),
            intervals=self.intervals(),
            errors=self.errors,
            error_rate=round(self.error_rate, 4),
            samples=self.n,
            expected_shares=dict((v, round(p, 4)) for v, p in self.expected.items()),
        )


def _fmt(number):
    return "{0:g}".format(number)


def _pct(confidence):
    return round(confidence * 100, 4)


def _version_key(version):
    return (0, int(version), "") if version.isdigit() else (1, 0, version)


# The traffic_ratio_info options a Verdict is built from; their defaults are the module's argument spec's.
VERDICT_OPTIONS = ("tolerance", "alpha", "beta", "min_samples", "max_samples", "max_error_rate", "test",
                   "error_rate_margin")


def verdict_from_params(params):
    """The Verdict for traffic_ratio_info's validated parameters (every option present)."""
    return Verdict(params["expected"], **dict((name, params[name]) for name in VERDICT_OPTIONS))
