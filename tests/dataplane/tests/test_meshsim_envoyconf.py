"""The Envoy configuration meshsim renders: weighted_clusters per split, clusters of loopback endpoints.

The last tests hand the rendered listener, routes and clusters to the real Envoy binary
(``--mode validate``), so a configuration Envoy would reject fails here, not in a cluster run.
"""

import copy
import json
import subprocess
from fractions import Fraction

import pytest

from meshsim_lib import envoy, envoyconf, faults, routing

from meshsim_objects import backend_pod, http_route, traffic_split, tutorial_snapshot


def _vhost(cfg, name):
    return next(v for v in cfg["virtual_hosts"] if v["name"] == name)


def _routes(snap, switches=faults.NO_SWITCHES):
    return envoyconf.route_config(snap, switches)[0]


def _split(cfg, name="service/backend-svc"):
    action = _vhost(cfg, name)["routes"][-1]["route"]
    return [(c["name"], c["weight"]) for c in action["weighted_clusters"]["clusters"]]


def test_split_becomes_weighted_clusters_of_the_root_service_host():
    cfg = _routes(tutorial_snapshot(splits=[traffic_split(90, 10)]))
    vhost = _vhost(cfg, "service/backend-svc")
    assert vhost["domains"] == ["backend-svc", "backend-svc.default", "backend-svc.default.svc",
                                "backend-svc.default.svc.cluster.local"]
    assert _split(cfg) == [("backend-v1", 9), ("backend-v2", 1)]
    assert _split(cfg, "service/backend-v2") == [("backend-v2", 1)]  # a version Service routes to itself
    assert cfg["virtual_hosts"][-1]["domains"] == ["*"]
    assert cfg["virtual_hosts"][-1]["routes"][0]["direct_response"]["status"] == 502


def test_zero_weights_are_dropped_and_all_zero_answers_503():
    assert _split(_routes(tutorial_snapshot(splits=[traffic_split(0, 100)]))) == [("backend-v2", 1)]
    route = _vhost(_routes(tutorial_snapshot(splits=[traffic_split(0, 0)])), "service/backend-svc")["routes"][0]
    assert route["direct_response"]["status"] == 503 and "weight 0" in route["direct_response"]["body"]["inline_string"]


def test_no_split_spreads_over_the_root_services_pods():
    snap = tutorial_snapshot()
    assert _split(_routes(snap)) == [("backend-svc", 1)]
    by_name = {c["name"]: c for c in envoyconf.clusters(snap, _routes(snap))}
    ports = [e["endpoint"]["address"]["socket_address"]["port_value"]
             for e in by_name["backend-svc"]["load_assignment"]["endpoints"][0]["lb_endpoints"]]
    assert ports == [20000, 20001] and by_name["backend-svc"]["lb_policy"] == "ROUND_ROBIN"
    assert all(e["endpoint"]["address"]["socket_address"]["address"] == "127.0.0.1"
               for c in by_name.values() for e in c["load_assignment"]["endpoints"][0]["lb_endpoints"])


def test_a_backend_that_is_not_a_service_gets_an_empty_cluster():
    split = traffic_split(50, 50)
    split["spec"]["backends"][1]["service"] = "backend-v3"
    snap = tutorial_snapshot(splits=[split])
    by_name = {c["name"]: c for c in envoyconf.clusters(snap, _routes(snap))}
    assert by_name["backend-v3"]["load_assignment"]["endpoints"][0]["lb_endpoints"] == []
    assert len(by_name["backend-v1"]["load_assignment"]["endpoints"][0]["lb_endpoints"]) == 1


@pytest.mark.parametrize("weights,expected", [
    ({"a": 90, "b": 10}, {"a": 9, "b": 1}),
    ({"a": Fraction(9, 10), "b": Fraction(1, 10)}, {"a": 9, "b": 1}),
    ({"a": 0, "b": 7}, {"b": 1}),
    ({"a": 0, "b": 0}, {}),
    ({"a": 1000000, "b": 3}, {"a": 1000000, "b": 3}),
    ({"a": 2 ** 40, "b": 2 ** 40}, {"a": 1, "b": 1}),
])
def test_integer_weights_keep_the_proportions(weights, expected):
    assert dict(envoyconf.integer_weights(weights)) == expected


def test_huge_weights_are_scaled_into_uint32():
    out = envoyconf.integer_weights({"a": 2 ** 40 + 1, "b": 2 ** 40})
    assert sum(out.values()) <= envoyconf.MAX_TOTAL_WEIGHT and abs(out["a"] / out["b"] - 1) < 1e-6


def test_misroute_and_route_weights_switches_render_other_weights():
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations={faults.MISROUTE: "uniform"})
    assert _split(_routes(snap)) == [("backend-svc", 1)]
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)],
                             root_annotations={faults.ROUTE_WEIGHTS: "backend-v1=50,backend-v2=50"})
    assert _split(_routes(snap)) == [("backend-v1", 1), ("backend-v2", 1)]
    assert _split(_routes(tutorial_snapshot(splits=[traffic_split(90, 10)])),) == [("backend-v1", 9), ("backend-v2", 1)]


def test_leak_switch_adds_a_header_route_and_route_metadata():
    snap = tutorial_snapshot(splits=[traffic_split(0, 100)], root_annotations={faults.LEAK: "backend-v1=2"})
    leak, main = _vhost(_routes(snap), "service/backend-svc")["routes"]
    assert leak["match"]["headers"] == [{"name": envoyconf.LEAK_HEADER, "string_match": {"exact": "backend-v1"}}]
    assert leak["route"]["cluster"] == "backend-v1"
    assert main["metadata"]["filter_metadata"][envoyconf.LUA_FILTER] == {
        "leak_key": "backend-svc|backend-v1=2", "leak_service": "backend-v1", "leak_count": 2}
    assert _split(_routes(snap)) == [("backend-v2", 1)]


@pytest.mark.parametrize("annotations", [{faults.MISROUTE: "sometimes"}, {faults.LEAK: "backend-v1"},
                                         {faults.ROUTE_WEIGHTS: "backend-v1=x"}])
def test_bad_switch_answers_502_naming_it(annotations):
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)], root_annotations=annotations)
    [route] = _vhost(_routes(snap), "service/backend-svc")["routes"]
    assert route["direct_response"]["status"] == 502
    assert "bad fault switch" in route["direct_response"]["body"]["inline_string"]
    assert "route" in _vhost(_routes(snap), "service/backend-v1")["routes"][0]  # other hosts unaffected


def test_before_the_first_api_read_everything_is_503():
    cfg = _routes(None)
    assert [v["name"] for v in cfg["virtual_hosts"]] == ["unknown-host"]
    assert cfg["virtual_hosts"][0]["routes"][0]["direct_response"]["status"] == 503


def test_gateway_route_gets_its_own_virtual_host():
    route = http_route(20, 80, name="gw-route")
    route["spec"]["parentRefs"] = [{"name": "lab-gw"}]  # kind Gateway by the Gateway API's defaults
    cfg = _routes(tutorial_snapshot(routes=[route]))
    vhost = _vhost(cfg, "gateway/HTTPRoute/gw-route")
    assert vhost["domains"][0] == "lab-gw" and _split(cfg, vhost["name"]) == [("backend-v1", 1), ("backend-v2", 4)]


def test_versions_are_content_hashes():
    one = envoyconf.discovery_response("rds", [_routes(tutorial_snapshot(splits=[traffic_split(90, 10)]))])
    same = envoyconf.discovery_response("rds", [_routes(tutorial_snapshot(splits=[traffic_split(90, 10)]))])
    other = envoyconf.discovery_response("rds", [_routes(tutorial_snapshot(splits=[traffic_split(20, 80)]))])
    assert one["version_info"] == same["version_info"] != other["version_info"]
    assert one["resources"][0]["@type"].endswith("RouteConfiguration")


# the real Envoy accepts what meshsim renders ------------------------------------------------------

def _validate(tmp_path, snap, routes=None):
    """``envoy --mode validate`` on a bootstrap holding the rendered resources statically."""
    routes = routes or _routes(snap)
    lst = envoyconf.listener(18000, str(tmp_path / "rds.json"), str(tmp_path / "access.log"))
    hcm = lst["filter_chains"][0]["filters"][0]["typed_config"]
    del hcm["rds"]
    hcm["route_config"] = routes
    boot = envoyconf.bootstrap(str(tmp_path / "lds.json"), str(tmp_path / "cds.json"))
    del boot["dynamic_resources"]
    boot["static_resources"] = {"listeners": [lst], "clusters": envoyconf.clusters(snap, routes)}
    path = tmp_path / "bootstrap.json"
    path.write_text(json.dumps(boot))
    return subprocess.run([envoy.binary(), "--mode", "validate", "-c", str(path), "--log-level", "warning"],
                          capture_output=True, text=True, timeout=120, check=False)


def test_envoy_accepts_the_rendered_configuration(tmp_path):
    split = traffic_split(90, 10)
    split["spec"]["backends"][0]["weight"] = "900m"
    gateway = http_route(1, 3, name="gw")
    gateway["spec"]["parentRefs"] = [{"name": "lab-gw"}]
    pods = [backend_pod("backend-v1-a", "1"), backend_pod("backend-v2-a", "2"), backend_pod("backend-v2-b", "2")]
    snap = tutorial_snapshot(splits=[split], routes=[gateway], pods=pods,
                             root_annotations={faults.LEAK: "backend-v1=1"})
    result = _validate(tmp_path, snap)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for annotations in ({faults.MISROUTE: "bad"}, {}):
        result = _validate(tmp_path, tutorial_snapshot(splits=[traffic_split(0, 0)], root_annotations=annotations))
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_envoy_validation_catches_a_broken_configuration(tmp_path):
    # the check above can fail: an empty weighted_clusters (what integer_weights prevents) is refused
    snap = tutorial_snapshot(splits=[traffic_split(90, 10)])
    broken = copy.deepcopy(_routes(snap))
    _vhost(broken, "service/backend-svc")["routes"][0]["route"]["weighted_clusters"]["clusters"] = []
    result = _validate(tmp_path, snap, broken)
    assert result.returncode != 0 and "weighted" in (result.stdout + result.stderr).lower()


def test_routing_table_error_in_a_gateway_route_is_a_direct_response():
    route = http_route(1, 1, name="gw")
    route["spec"]["parentRefs"] = [{"name": "lab-gw"}]
    route["spec"]["rules"][0]["backendRefs"][0]["weight"] = "x"
    [vhost] = [v for v in _routes(tutorial_snapshot(routes=[route]))["virtual_hosts"] if v["name"].startswith("gateway")]
    assert vhost["routes"][0]["direct_response"]["status"] == 502
    assert isinstance(routing.parse_weight("250m", "x"), Fraction)
