"""Routing model of the stand-in mesh: weights from the API, seeded statistics, fault switches."""

import collections
import math
import random

import pytest

from meshsim_lib import faults, proxy, routing

from meshsim_objects import backend_pod, frontend_pod, http_route, service, traffic_split, tutorial_snapshot

N = 20000


def _decisions(snap, n=N, seed=7, switches=faults.NO_SWITCHES):
    rng = random.Random(seed)
    return [snap.decide("backend-svc", rng, switches) for dummy in range(n)]


def _by_service(snap, **kwargs):
    return collections.Counter(d.service for d in _decisions(snap, **kwargs))


def _by_pod(snap, **kwargs):
    return collections.Counter(d.pod for d in _decisions(snap, **kwargs))


def _within(count, n, p, sigmas=4.0):
    """Binomial count within ``sigmas`` standard deviations of n*p."""
    return abs(count - n * p) <= sigmas * math.sqrt(n * p * (1 - p))


@pytest.mark.parametrize("v1,v2", [(90, 10), (20, 80), (50, 50), (1, 99)])
def test_traffic_split_weights_are_followed(v1, v2):
    counts = _by_service(tutorial_snapshot(splits=[traffic_split(v1, v2)]))
    assert sum(counts.values()) == N
    assert _within(counts["backend-v2"], N, v2 / (v1 + v2)), counts


def test_weights_matter_a_90_10_split_is_not_50_50():
    counts = _by_service(tutorial_snapshot(splits=[traffic_split(90, 10)]))
    assert not _within(counts["backend-v2"], N, 0.5)


def test_zero_weight_never_routed():
    counts = _by_service(tutorial_snapshot(splits=[traffic_split(0, 100)]))
    assert counts == {"backend-v2": N}


def test_http_route_weights_are_followed():
    counts = _by_service(tutorial_snapshot(routes=[http_route(80, 20)]))
    assert _within(counts["backend-v2"], N, 0.2), counts


def test_traffic_split_wins_over_http_route():
    snap = tutorial_snapshot(splits=[traffic_split(0, 100)], routes=[http_route(100, 0)])
    assert snap.table("backend-svc", faults.NO_SWITCHES).source == "TrafficSplit/backend-ts"


def test_http_route_for_another_parent_is_ignored():
    route = http_route(100, 0)
    route["spec"]["parentRefs"][0]["name"] = "other-svc"
    assert tutorial_snapshot(routes=[route]).table("backend-svc", faults.NO_SWITCHES).source == "service"


def test_no_split_spreads_uniformly_over_all_pods_of_the_root_service():
    pods = [backend_pod("v1-a", "1"), backend_pod("v1-b", "1"), backend_pod("v2-a", "2")]
    snap = tutorial_snapshot(pods=pods)
    counts, per_pod = _by_service(snap), _by_pod(snap)
    assert set(per_pod) == {"v1-a", "v1-b", "v2-a"}
    for name in per_pod:
        assert _within(per_pod[name], N, 1 / 3), per_pod
    assert counts == {"backend-svc": N}


def test_pods_spread_uniformly_within_a_backend_service():
    pods = [backend_pod("v1-a", "1"), backend_pod("v1-b", "1"), backend_pod("v2-a", "2")]
    per_pod = _by_pod(tutorial_snapshot(splits=[traffic_split(50, 50)], pods=pods))
    assert _within(per_pod["v1-a"], N, 0.25) and _within(per_pod["v1-b"], N, 0.25), per_pod
    assert _within(per_pod["v2-a"], N, 0.5), per_pod


def test_seeded_rng_is_reproducible():
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)])
    rng_a, rng_b = random.Random(11), random.Random(11)
    assert [snap.decide("backend-svc", rng_a, faults.NO_SWITCHES).pod for dummy in range(200)] == \
        [snap.decide("backend-svc", rng_b, faults.NO_SWITCHES).pod for dummy in range(200)]


def test_unready_terminating_and_unmaterialised_pods_get_no_traffic():
    ready = backend_pod("v1-ok", "1")
    unready = backend_pod("v1-unready", "1")
    unready["status"]["conditions"][0]["status"] = "False"
    terminating = backend_pod("v1-term", "1")
    terminating["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    no_port = backend_pod("v1-noport", "1")
    pods = [ready, unready, terminating, no_port, backend_pod("v2-a", "2")]
    ports = {"v1-ok": 1, "v1-unready": 2, "v1-term": 3, "v2-a": 4}
    snap = tutorial_snapshot(pods=pods, ports=ports, splits=[traffic_split(100, 0)])
    assert snap.endpoints("backend-v1") == ["v1-ok"]
    per_pod = _by_pod(snap, n=500)
    assert per_pod == {"v1-ok": 500}


def test_backend_without_endpoints_answers_503_and_all_zero_weights_too():
    snap = tutorial_snapshot(pods=[backend_pod("v1-a", "1")], splits=[traffic_split(0, 100)])
    with pytest.raises(routing.RouteError) as err:
        snap.decide("backend-svc", random.Random(1), faults.NO_SWITCHES)
    assert err.value.status == 503 and "backend-v2" in str(err.value)
    with pytest.raises(routing.RouteError, match="weight 0"):
        tutorial_snapshot(splits=[traffic_split(0, 0)]).decide("backend-svc", random.Random(1), faults.NO_SWITCHES)


def test_unknown_service_is_502():
    with pytest.raises(routing.RouteError) as err:
        tutorial_snapshot().decide("nope", random.Random(1), faults.NO_SWITCHES)
    assert err.value.status == 502


@pytest.mark.parametrize("host,expected", [
    ("backend-svc", "backend-svc"), ("backend-svc:80", "backend-svc"), ("Backend-Svc", "backend-svc"),
    ("backend-svc.default", "backend-svc"), ("backend-svc.default.svc", "backend-svc"),
    ("backend-svc.default.svc.cluster.local", "backend-svc"), ("backend-svc.other", None),
    ("example.com", None), ("", None), ("[::1]:80", None),
])
def test_service_name_from_host(host, expected):
    assert routing.service_name_from_host(host, "default") == expected


def test_selector_semantics():
    assert routing.selector_matches({"app": "backend"}, {"app": "backend", "version": "1"})
    assert not routing.selector_matches({"app": "backend", "version": "2"}, {"app": "backend", "version": "1"})
    assert not routing.selector_matches({}, {"app": "backend"})  # selector-less Service selects nothing


# fault switches -------------------------------------------------------------------------

def test_misroute_annotation_ignores_weights():
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations={faults.MISROUTE: "uniform"})
    per_pod = _by_pod(snap)
    assert _within(per_pod["backend-v2-a"], N, 0.5), per_pod


def test_misroute_cli_switch_and_annotation_none_overrides_it():
    switches = faults.make_switches(misroute="uniform")
    per_pod = _by_pod(tutorial_snapshot(splits=[traffic_split(90, 10)]), switches=switches)
    assert _within(per_pod["backend-v2-a"], N, 0.5), per_pod
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations={faults.MISROUTE: "none"})
    per_pod = _by_pod(snap, switches=switches)
    assert _within(per_pod["backend-v2-a"], N, 0.1), per_pod


def test_route_weights_annotation_overrides_split():
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)],
                             root_annotations={faults.ROUTE_WEIGHTS: "backend-v1=30,backend-v2=70"})
    counts = _by_service(snap)
    assert _within(counts["backend-v2"], N, 0.7), counts


@pytest.mark.parametrize("annotations", [{faults.MISROUTE: "sometimes"}, {faults.ROUTE_WEIGHTS: "backend-v1=x"},
                                         {faults.ROUTE_WEIGHTS: "backend-v1"}])
def test_bad_switch_values_raise(annotations):
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations=annotations)
    with pytest.raises(faults.SwitchError):
        snap.decide("backend-svc", random.Random(1), faults.NO_SWITCHES)


def test_backend_fault_from_pod_service_and_cli():
    v2 = backend_pod("v2-a", "2")
    services = [service("backend-v2", {"app": "backend", "version": "2"})]
    assert faults.backend_fault(v2, services, faults.NO_SWITCHES) == "none"
    v2["metadata"]["annotations"][faults.FAULT] = "http500"
    assert faults.backend_fault(v2, services, faults.NO_SWITCHES) == "http500"
    v2["metadata"]["annotations"].clear()
    services[0]["metadata"]["annotations"] = {faults.FAULT: "empty"}
    assert faults.backend_fault(v2, services, faults.NO_SWITCHES) == "empty"
    assert faults.backend_fault(backend_pod("v1-a", "1"), services, faults.NO_SWITCHES) == "none"
    cli = faults.make_switches(backend_faults=["version=2:http500"])
    assert faults.backend_fault(v2, [], cli) == "http500"
    assert faults.backend_fault(backend_pod("v1-a", "1"), [], cli) == "none"


def test_decision_carries_the_fault_of_the_chosen_pod():
    v2 = backend_pod("backend-v2-a", "2")
    v2["metadata"]["annotations"][faults.FAULT] = "http500"
    snap = tutorial_snapshot(pods=[backend_pod("backend-v1-a", "1"), v2], splits=[traffic_split(50, 50)])
    rng = random.Random(5)
    seen = {(d.service, d.fault) for d in (snap.decide("backend-svc", rng, faults.NO_SWITCHES) for dummy in range(200))}
    assert seen == {("backend-v1", "none"), ("backend-v2", "http500")}


@pytest.mark.parametrize("kwargs", [{"misroute": "half"}, {"backend_faults": ["version=2"]},
                                    {"backend_faults": ["version=2:crash"]}, {"backend_faults": ["v2:http500"]},
                                    {"frontend_restart_every": -1}])
def test_make_switches_rejects_bad_values(kwargs):
    with pytest.raises(faults.SwitchError):
        faults.make_switches(**kwargs)


def test_restart_switches():
    front = frontend_pod("frontend-a", annotations={faults.RESTART: "1", faults.RESTART_EVERY: "2.5"})
    assert faults.restart_token(front) == "1"
    assert faults.restart_every(front, faults.NO_SWITCHES) == 2.5
    assert faults.restart_every(frontend_pod("f"), faults.make_switches(frontend_restart_every=7)) == 7
    front["metadata"]["annotations"][faults.RESTART_EVERY] = "soon"
    with pytest.raises(faults.SwitchError):
        faults.restart_every(front, faults.NO_SWITCHES)


def test_leak_sends_exactly_n_requests_then_follows_the_split():
    snap = tutorial_snapshot(splits=[traffic_split(0, 100)], root_annotations={faults.LEAK: "backend-v1=3"})
    router = proxy.Router(lambda: snap, seed=1)
    services = [router.decide("backend-svc").service for dummy in range(50)]
    assert services[:3] == ["backend-v1"] * 3 and services[3:] == ["backend-v2"] * 47
    snap.services["backend-svc"]["metadata"]["annotations"][faults.LEAK] = "backend-v1=1"  # new value: new leak
    assert [router.decide("backend-svc").service for dummy in range(3)] == ["backend-v1", "backend-v2", "backend-v2"]


@pytest.mark.parametrize("value", ["backend-v1", "backend-v1=x", "=3"])
def test_bad_leak_values_raise(value):
    with pytest.raises(faults.SwitchError):
        faults.leak({faults.LEAK: value})
