"""The fixed-size binomial test that traffic_ratio's sequential test is compared with.

Not part of the collection: the bench (``ratio_asn.py``) prints its sample size next to the sequential
test's, and the calibration unit test checks that the sequential test needs clearly fewer samples. It lives
here so that no module payload ships it.
"""

import math


def _binom_logpmf(n, p):
    lp, lq = math.log(p), math.log1p(-p)
    base = math.lgamma(n + 1)
    return [base - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * lp + (n - k) * lq for k in range(n + 1)]


def _pmf(n, p):
    return [math.exp(x) for x in _binom_logpmf(n, p)]


def fixed_ok(n, p0, tolerance, alpha, beta):
    """Whether n samples give a two-sided test (equal tails, alpha) with power 1 - beta at p0 +/- tolerance."""
    pmf0 = _pmf(n, p0)
    # equal tails under H0: accept region [a, b]
    acc, a = 0.0, 0
    while a <= n and acc + pmf0[a] <= alpha / 2.0:
        acc += pmf0[a]
        a += 1
    acc, b = 0.0, n
    while b >= 0 and acc + pmf0[b] <= alpha / 2.0:
        acc += pmf0[b]
        b -= 1
    for p1 in (p0 - tolerance, p0 + tolerance):
        if 0.0 < p1 < 1.0:
            pmf1 = _pmf(n, p1)
            if sum(pmf1[a:b + 1]) > beta:
                return False
    return True


def fixed_sample_size(p0, tolerance, alpha, beta, limit=20000):
    """Smallest n of a fixed-size two-sided binomial test (equal tails, alpha) with power 1 - beta at p0 +/- tol."""
    low, high = 1, 2
    while not fixed_ok(high, p0, tolerance, alpha, beta):
        low, high = high, high * 2
        if high > limit:
            raise ValueError("fixed sample size above {0}".format(limit))
    while low < high:  # power is not strictly monotone in n for discrete tests; this finds a boundary
        mid = (low + high) // 2
        if fixed_ok(mid, p0, tolerance, alpha, beta):
            high = mid
        else:
            low = mid + 1
    return high
