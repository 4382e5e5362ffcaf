"""Routing model of the stand-in mesh: the table per host from the API objects, fault switches."""

from fractions import Fraction

import pytest

from meshsim_lib import envoyconf, faults, routing

from meshsim_objects import backend_pod, frontend_pod, http_route, service, traffic_split, tutorial_snapshot


def _table(snap, switches=faults.NO_SWITCHES):
    return snap.table("backend-svc", switches)


def _weights(snap, switches=faults.NO_SWITCHES):
    return dict(_table(snap, switches).weights)


@pytest.mark.parametrize("v1,v2", [(90, 10), (20, 80), (50, 50), (1, 99), (0, 100)])
def test_traffic_split_weights_are_the_table(v1, v2):
    table = _table(tutorial_snapshot(splits=[traffic_split(v1, v2)]))
    assert table.source == "TrafficSplit/backend-ts"
    assert dict(table.weights) == {"backend-v1": v1, "backend-v2": v2}


def test_v1alpha1_quantity_weights_keep_their_proportions():
    split = traffic_split(0, 0)
    split["spec"]["backends"][0]["weight"] = "900m"
    split["spec"]["backends"][1]["weight"] = "100m"
    assert _weights(tutorial_snapshot(splits=[split])) == {"backend-v1": Fraction(9, 10), "backend-v2": Fraction(1, 10)}
    split["spec"]["backends"][1]["weight"] = "1"
    assert _weights(tutorial_snapshot(splits=[split]))["backend-v2"] == 1


def _v1alpha2_split(v1, v2):
    """A TrafficSplit as linkerd-smi 1.0.4's API serves it: split.smi-spec.io/v1alpha2, weights of type number."""
    return dict(traffic_split(v1, v2), apiVersion="split.smi-spec.io/v1alpha2", kind="TrafficSplit")


@pytest.mark.parametrize("v1,v2,clusters", [
    (900, 100, [("backend-v1", 9), ("backend-v2", 1)]), (90, 10, [("backend-v1", 9), ("backend-v2", 1)]),
    (50, 50, [("backend-v1", 1), ("backend-v2", 1)]), (0, 100, [("backend-v2", 1)]), (1, 0, [("backend-v1", 1)]),
    (0.5, 1.5, [("backend-v1", 1), ("backend-v2", 3)]),  # type: number also admits non-integers
])
def test_v1alpha2_split_routes_by_its_weights(v1, v2, clusters):
    table = _table(tutorial_snapshot(splits=[_v1alpha2_split(v1, v2)]))
    assert table.source == "TrafficSplit/backend-ts"
    assert dict(table.weights) == {"backend-v1": Fraction(v1), "backend-v2": Fraction(v2)}
    route = envoyconf.weighted_route("service/backend-svc", table)["route"]["weighted_clusters"]["clusters"]
    assert [(c["name"], c["weight"]) for c in route] == clusters  # what Envoy is given: integer weights


@pytest.mark.parametrize("weight", ["lots", "-1", True, "1/0"])
def test_bad_weights_are_a_502_naming_the_object(weight):
    split = traffic_split(90, 10)
    split["spec"]["backends"][1]["weight"] = weight
    with pytest.raises(routing.RouteError) as err:
        _table(tutorial_snapshot(splits=[split]))
    assert err.value.status == 502 and "TrafficSplit/backend-ts" in str(err.value)


def test_http_route_weights_are_followed_with_default_weight_one():
    route = http_route(80, 20)
    assert _table(tutorial_snapshot(routes=[route])).source == "HTTPRoute/backend-route"
    assert _weights(tutorial_snapshot(routes=[route])) == {"backend-v1": 80, "backend-v2": 20}
    del route["spec"]["rules"][0]["backendRefs"][1]["weight"]
    assert _weights(tutorial_snapshot(routes=[route])) == {"backend-v1": 80, "backend-v2": 1}


def test_traffic_split_wins_over_http_route():
    snap = tutorial_snapshot(splits=[traffic_split(0, 100)], routes=[http_route(100, 0)])
    assert _table(snap).source == "TrafficSplit/backend-ts"


def test_http_route_for_another_parent_is_ignored():
    route = http_route(100, 0)
    route["spec"]["parentRefs"][0]["name"] = "other-svc"
    assert _table(tutorial_snapshot(routes=[route])).source == "service"


def _gateway_route(v1, v2, hostnames=None, name="gw-route", created="2026-01-01T00:00:00Z"):
    route = http_route(v1, v2, name=name)
    route["metadata"]["creationTimestamp"] = created
    route["spec"]["parentRefs"] = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "lab-gw",
                                    "namespace": "gateway-system"}]
    if hostnames is not None:
        route["spec"]["hostnames"] = hostnames
    return route


def test_gateway_parent_serves_the_gateway_names_or_its_hostnames():
    snap = tutorial_snapshot(routes=[_gateway_route(90, 10)])
    assert _table(snap).source == "service"  # the mesh's Services are not behind the Gateway
    [(source, domains, table)] = snap.gateway_tables()
    assert source == "HTTPRoute/gw-route" and dict(table.weights) == {"backend-v1": 90, "backend-v2": 10}
    assert domains == routing.host_forms("lab-gw", "gateway-system")
    snap = tutorial_snapshot(routes=[_gateway_route(90, 10, ["shop.example", "backend-svc"])])
    assert [d for _s, d, _t in snap.gateway_tables()] == [["shop.example"]]  # a Service's name stays the mesh's


def test_gateway_hosts_go_to_the_oldest_route():
    old = _gateway_route(100, 0, ["shop.example"], name="old", created="2026-01-01T00:00:00Z")
    new = _gateway_route(0, 100, ["shop.example", "new.example"], name="new", created="2026-01-02T00:00:00Z")
    tables = tutorial_snapshot(routes=[new, old]).gateway_tables()
    assert [(s, d) for s, d, _t in tables] == [("HTTPRoute/old", ["shop.example"]), ("HTTPRoute/new", ["new.example"])]


def test_no_split_routes_to_the_root_service_itself():
    table = _table(tutorial_snapshot())
    assert table.source == "service" and dict(table.weights) == {"backend-svc": 1}


def test_endpoints_are_the_ready_pods_with_a_local_process():
    pods = [backend_pod("v1-a", "1"), backend_pod("v1-b", "1"), backend_pod("v2-a", "2")]
    snap = tutorial_snapshot(pods=pods)
    assert snap.endpoints("backend-svc") == ["v1-a", "v1-b", "v2-a"]
    assert snap.endpoints("backend-v1") == ["v1-a", "v1-b"] and snap.endpoints("nope") == []


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


def test_unknown_service_is_502():
    with pytest.raises(routing.RouteError) as err:
        tutorial_snapshot().table("nope", faults.NO_SWITCHES)
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
    assert _table(snap).source == "misroute:uniform" and _weights(snap) == {"backend-svc": 1}


def test_misroute_cli_switch_and_annotation_none_overrides_it():
    switches = faults.make_switches(misroute="uniform")
    assert _weights(tutorial_snapshot(splits=[traffic_split(90, 10)]), switches) == {"backend-svc": 1}
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations={faults.MISROUTE: "none"})
    assert _weights(snap, switches) == {"backend-v1": 90, "backend-v2": 10}


def test_route_weights_annotation_overrides_split():
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)],
                             root_annotations={faults.ROUTE_WEIGHTS: "backend-v1=30,backend-v2=70"})
    assert _table(snap).source == "misroute:route-weights"
    assert _weights(snap) == {"backend-v1": 30, "backend-v2": 70}


@pytest.mark.parametrize("annotations", [{faults.MISROUTE: "sometimes"}, {faults.ROUTE_WEIGHTS: "backend-v1=x"},
                                         {faults.ROUTE_WEIGHTS: "backend-v1"}])
def test_bad_switch_values_raise(annotations):
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations=annotations)
    with pytest.raises(faults.SwitchError):
        _table(snap)


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


def test_leak_switch_is_read_from_the_root_service():
    snap = tutorial_snapshot(splits=[traffic_split(0, 100)], root_annotations={faults.LEAK: "backend-v1=3"})
    assert snap.leak("backend-svc") == ("backend-v1=3", "backend-v1", 3)
    assert tutorial_snapshot().leak("backend-svc") is None and snap.leak("nope") is None


@pytest.mark.parametrize("value", ["backend-v1", "backend-v1=x", "=3"])
def test_bad_leak_values_raise(value):
    with pytest.raises(faults.SwitchError):
        faults.leak({faults.LEAK: value})
