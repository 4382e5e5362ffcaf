"""Exact binomial figures for the bench: intervals, Wald's bound, dynamic programming over the binomial walk.

Not part of the collection (no module payload ships it); ``ratio_asn.py`` and ``ratio_exact.py`` print with it and
``tests/unit/bench`` tests it. Pure Python (the venv has no numpy): every function is a plain loop.

The walk: after n samples, k of them from the tested version; with share p each sample is a hit with probability
p, independently. Every path to (n, k) has the same probability p^k (1-p)^(n-k), so a rule that looks only at
(n, k) and a few frozen flags (a side of the SPRT pair that has accepted) is a Markov chain on small states, and
its operating characteristics (probability to fail, to pass, expected samples) follow by summing the mass that
leaves the chain at each cell: no simulation.
"""

import math


# ---- binomial basics ----

def binom_pmf(n, k, p):
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    return math.exp(math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
                    + (n - k) * math.log1p(-p))


def binom_cdf(k, n, p):
    """P(X <= k) for X ~ Bin(n, p)."""
    if k < 0:
        return 0.0
    if k >= n:
        return 1.0
    return min(1.0, sum(binom_pmf(n, i, p) for i in range(k + 1)))


def _solve(func, target, increasing):
    """p in [0, 1] with func(p) = target by bisection (func monotone)."""
    low, high = 0.0, 1.0
    for _step in range(60):
        mid = (low + high) / 2.0
        if (func(mid) < target) == increasing:
            low = mid
        else:
            high = mid
    return (low + high) / 2.0


def clopper_pearson(k, n, confidence=0.95):
    """Exact (Clopper-Pearson) two-sided interval for k successes in n trials."""
    tail = (1.0 - confidence) / 2.0
    low = 0.0 if k == 0 else _solve(lambda p: 1.0 - binom_cdf(k - 1, n, p), tail, True)
    high = 1.0 if k == n else _solve(lambda p: binom_cdf(k, n, p), tail, False)
    return low, high


def kl_bernoulli(p, q):
    """KL(Bernoulli(p) || Bernoulli(q)) in nats."""
    total = 0.0
    if p > 0.0:
        total += p * math.log(p / q)
    if p < 1.0:
        total += (1.0 - p) * math.log((1.0 - p) / (1.0 - q))
    return total


def wald_bound(p0, p1, alpha, beta):
    """Wald's lower bound on E_p0[N] for any test of p0 against p1 with P0(reject) <= alpha, P1(accept) <= beta.

    E_p0[N] * KL(p0 || p1) >= (1 - alpha) ln((1 - alpha) / beta) + alpha ln(alpha / (1 - beta)) (Wald 1945, the
    data-processing inequality on the stopped likelihood ratio). The issue's form drops the second term, which is
    negative; it is shown by ``wald_bound_issue``.
    """
    info = (1.0 - alpha) * math.log((1.0 - alpha) / beta) + alpha * math.log(alpha / (1.0 - beta))
    return info / kl_bernoulli(p0, p1)


def wald_bound_issue(p0, p1, alpha, beta):
    """The issue's form (1 - alpha) ln((1 - alpha) / beta) / KL(p0 || p1): slightly above ``wald_bound``."""
    return (1.0 - alpha) * math.log((1.0 - alpha) / beta) / kl_bernoulli(p0, p1)


def harder_side_bound(p0, tolerance, alpha, beta, form=wald_bound):
    """The larger of the one-sided bounds over p0 +/- tolerance (the sides inside (0, 1))."""
    return max(form(p0, p1, alpha, beta) for p1 in (p0 - tolerance, p0 + tolerance) if 0.0 < p1 < 1.0)


# ---- the tutorial's rule: look at a few log lines ----

def tutorial_band(p0, lines, slack=0):
    """Counts of canary lines among ``lines`` that pass "see the ratio": the integers nearest lines * p0 (one, or
    two on a tie), widened by ``slack`` on each side."""
    target = lines * p0
    low, high = int(math.floor(target)), int(math.ceil(target))
    if high != low:
        if target - low < high - target:
            high = low
        elif high - target < target - low:
            low = high
    return max(0, low - slack), min(lines, high + slack)


def band_pass_probability(p, lines, band):
    low, high = band
    return sum(binom_pmf(lines, k, p) for k in range(low, high + 1))


# ---- the collection's rule: the per-side SPRT pair, exactly ----

class SideSpec(object):
    """One side of the pair, as the module builds it: llr(n, k) = k inc_hit + (n - k) inc_miss against bounds."""

    __slots__ = ("inc_hit", "inc_miss", "upper", "lower", "p1")

    def __init__(self, inc_hit, inc_miss, upper, lower, p1):
        self.inc_hit, self.inc_miss, self.upper, self.lower, self.p1 = inc_hit, inc_miss, upper, lower, p1

    def state(self, n, k):
        llr = k * self.inc_hit + (n - k) * self.inc_miss
        if llr >= self.upper:
            return "reject"
        if llr <= self.lower:
            return "accept"
        return None


def sprt_pair_oc(sides, p, pass_floor, max_samples, truncate, prune=1e-16):
    """Exact (fail, pass, ASN, residue, truncated, sd of N) of the per-side SPRT pair when the tested share is p.

    ``sides``: SideSpec list (one or two). The stage fails as soon as a side rejects, passes once every side has
    accepted and at least ``pass_floor`` samples are in (min_samples and the error-rate test's own acceptance),
    and at ``max_samples`` calls ``truncate(k, open_sides)`` -> True to pass (the Wilson fallback). ``residue`` is
    the live mass dropped below ``prune`` (it bounds the error of each figure); ``truncated`` the mass decided by
    ``truncate``.
    """
    nsides = len(sides)
    full = (1 << nsides) - 1
    live = {(0, 0): 1.0}  # (k, accepted-mask) -> probability
    fail = passed = asn = asn2 = residue = 0.0
    q = 1.0 - p
    for n in range(max_samples):
        nxt = {}
        m = n + 1
        for (k, mask), mass in live.items():
            for hit, prob in ((1, p), (0, q)):
                if prob <= 0.0:
                    continue
                w = mass * prob
                kk = k + hit
                newmask, rejected = mask, False
                for i, side in enumerate(sides):
                    if not mask & (1 << i):
                        state = side.state(m, kk)
                        if state == "reject":
                            rejected = True
                        elif state == "accept":
                            newmask |= 1 << i
                if rejected:
                    fail += w
                    asn += w * m
                    asn2 += w * m * m
                elif newmask == full:
                    passed += w
                    asn += w * max(m, pass_floor)
                    asn2 += w * max(m, pass_floor) ** 2
                else:
                    key = (kk, newmask)
                    nxt[key] = nxt.get(key, 0.0) + w
        live = {}
        for key, w in nxt.items():
            if w < prune:
                residue += w
            else:
                live[key] = w
        if not live:
            break
    truncated = sum(live.values())
    for (k, mask), mass in live.items():
        open_sides = [side for i, side in enumerate(sides) if not mask & (1 << i)]
        asn += mass * max_samples
        asn2 += mass * max_samples ** 2
        if truncate(k, open_sides):
            passed += mass
        else:
            fail += mass
    return fail, passed, asn, residue, truncated, math.sqrt(max(0.0, asn2 - asn * asn))


# ---- the two-sided problem: Lagrangian (Kiefer-Weiss type) lower bound and the rule that attains it ----

def _band(n, shares, width=9.0):
    low, high = n, 0
    for p in shares:
        sd = math.sqrt(n * p * (1.0 - p)) + 1.0
        low = min(low, int(math.floor(n * p - width * sd)))
        high = max(high, int(math.ceil(n * p + width * sd)))
    return max(0, low), min(n, high)


def lagrangian_rule(p0, tolerance, weights, horizon, pass_floor=0):
    """Minimise E_p0[N] + l0 P_p0(fail) + l+ P_p0+tol(pass) + l- P_p0-tol(pass) over all rules, by backward
    induction on (n, k); ``weights`` = (l0, l+, l-). Returns (value, policy).

    ``value`` is a LOWER bound of that minimum over every rule whatever its length: cells outside a 9-sd band of
    all three shares, and the horizon, are valued 0 (a free decision; every true value is >= 0). ``policy[n]`` =
    (first k, string of C / F / P) are the minimising actions of a second, honest valuation run alongside, in which
    a cell outside the band fails (as ``policy_oc`` plays it) and the horizon must stop, so the rule does not
    continue towards a free decision."""
    l0, lplus, lminus = weights
    pp, pm = p0 + tolerance, p0 - tolerance
    a_plus, b_plus = math.log(pp / p0), math.log((1.0 - pp) / (1.0 - p0))
    minus = 0.0 < pm
    a_minus, b_minus = (math.log(pm / p0), math.log((1.0 - pm) / (1.0 - p0))) if minus else (0.0, 0.0)
    q0 = 1.0 - p0
    shares = [p0, pp] + ([pm] if minus else [])
    nxt_low, nxt_free, nxt_real = 0, [], []
    policy = [None] * (horizon + 1)
    value = 0.0
    for n in range(horizon, -1, -1):
        low, high = _band(n, shares)
        free, real, acts = [], [], []
        for k in range(low, high + 1):
            accept = math.inf
            if n >= pass_floor:
                accept = lplus * math.exp(k * a_plus + (n - k) * b_plus)
                if minus:
                    accept += lminus * math.exp(k * a_minus + (n - k) * b_minus)
            stop, act = (l0, "F") if l0 <= accept else (accept, "P")
            best_free = best_real = stop
            if n < horizon:
                i, j = k + 1 - nxt_low, k - nxt_low
                inside_up, inside_down = 0 <= i < len(nxt_free), 0 <= j < len(nxt_free)
                cont = 1.0 + p0 * (nxt_free[i] if inside_up else 0.0) + q0 * (nxt_free[j] if inside_down else 0.0)
                best_free = min(stop, cont)
                cont = 1.0 + p0 * (nxt_real[i] if inside_up else l0) + q0 * (nxt_real[j] if inside_down else l0)
                if cont < stop:
                    best_real, act = cont, "C"
            else:
                best_free = 0.0
            free.append(best_free)
            real.append(best_real)
            acts.append(act)
        policy[n] = (low, "".join(acts))
        nxt_low, nxt_free, nxt_real = low, free, real
        if n == 0:
            value = free[0 - low]
    return value, policy


def policy_oc(policy, p):
    """Exact (fail, pass, ASN) of a policy from ``lagrangian_rule`` at share p; a cell outside the policy's band
    fails (its mass under the three shares is below 1e-18)."""
    live = {0: 1.0}
    fail = passed = asn = 0.0
    for n, (low, acts) in enumerate(policy):
        nxt = {}
        for k, mass in live.items():
            i = k - low
            act = acts[i] if 0 <= i < len(acts) else "F"
            if act == "C" and n + 1 < len(policy):
                asn += mass
                nxt[k + 1] = nxt.get(k + 1, 0.0) + mass * p
                nxt[k] = nxt.get(k, 0.0) + mass * (1.0 - p)
            elif act == "P":
                passed += mass
            else:
                fail += mass
        live = nxt
        if not live:
            break
    return fail, passed, asn


def policy_boundaries(policy):
    """The policy as runs per n: [(n, [(first k, last k, action), ...]), ...] (actions C / F / P), compact enough to
    read the rule's shape (fail below, continue, pass, continue, fail above) or to move it into code."""
    table = []
    for n, (low, acts) in enumerate(policy):
        runs, start = [], 0
        for i in range(1, len(acts) + 1):
            if i == len(acts) or acts[i] != acts[start]:
                runs.append((low + start, low + i - 1, acts[start]))
                start = i
        table.append((n, runs))
    return table


def lagrangian_bound(p0, tolerance, alpha, beta, weights, horizon, pass_floor=0):
    """Weak duality for one set of weights (l0, l+, l-) >= 0: every rule that stops on the walk, passes from
    ``pass_floor`` samples on, fails with probability <= ``alpha`` at p0 and passes with probability <= ``beta`` at
    p0 +/- tolerance has E_p0[N] >= min over rules of the Lagrangian - l0 alpha - (l+ + l-) beta, and
    ``lagrangian_rule`` gives a lower bound of that minimum. Valid for ANY weights; tuning only tightens it."""
    value = lagrangian_rule(p0, tolerance, weights, horizon, pass_floor)[0]
    return value - weights[0] * alpha - (weights[1] + weights[2]) * beta


def start_weights(p0, tolerance, alpha, beta):
    """Weights near the dual optimum, from the slopes of Wald's approximation E0[N] ~ info(alpha, beta) / KL:
    l+- ~ 1 / (beta KL(p0 || p0 +- tol)), l0 ~ ln((1 - alpha)(1 - beta) / (alpha beta)) / KL of the harder side.
    Only a starting point: ``best_lagrangian_bound`` searches around it."""
    kls = [kl_bernoulli(p0, p1) if 0.0 < p1 < 1.0 else None for p1 in (p0 + tolerance, p0 - tolerance)]
    hardest = min(k for k in kls if k is not None)
    l0 = math.log((1.0 - alpha) * (1.0 - beta) / (alpha * beta)) / hardest
    return (l0,) + tuple(1.0 / (beta * k) if k is not None else 0.0 for k in kls)


def best_lagrangian_bound(p0, tolerance, alpha, beta, horizon, pass_floor=0, weights=None, steps=6, sweeps=1):
    """The largest ``lagrangian_bound`` found by golden-section search on each weight in turn (log scale, within a
    factor 8 of the start; the dual is concave in the weights, so unimodal along each). Returns (bound, weights).
    A side outside (0, 1) keeps weight 0; at p0 = 0.5 the two sides share one weight."""
    weights = list(weights or start_weights(p0, tolerance, alpha, beta))
    symmetric = abs(p0 - 0.5) < 1e-12
    coords = [i for i in (0, 1, 2) if weights[i] > 0.0 and not (symmetric and i == 2)]

    def bound_at(i, logw):
        trial = list(weights)
        trial[i] = math.exp(logw)
        if symmetric and i == 1:
            trial[2] = trial[1]
        return lagrangian_bound(p0, tolerance, alpha, beta, trial, horizon, pass_floor), trial

    best = (lagrangian_bound(p0, tolerance, alpha, beta, weights, horizon, pass_floor), list(weights))
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    for _sweep in range(sweeps):
        for i in coords:
            low, high = math.log(weights[i] / 8.0), math.log(weights[i] * 8.0)
            x1, x2 = high - ratio * (high - low), low + ratio * (high - low)
            f1, f2 = bound_at(i, x1), bound_at(i, x2)
            for _step in range(steps):
                if f1[0] >= f2[0]:
                    high, x2, f2 = x2, x1, f1
                    x1 = high - ratio * (high - low)
                    f1 = bound_at(i, x1)
                else:
                    low, x1, f1 = x1, x2, f2
                    x2 = low + ratio * (high - low)
                    f2 = bound_at(i, x2)
            top = max(f1, f2, key=lambda f: f[0])
            if top[0] > best[0]:
                best = top
            weights = list(best[1])
    return best
