"""HTTPRoute status for Service parents, as the mesh stand-in writes it."""

from meshsim_lib import routestatus

from meshsim_objects import http_route

NAMES = {"backend-svc", "backend-v1", "backend-v2"}


def _conds(parents):
    mine = [p for p in parents if p["controllerName"] == routestatus.CONTROLLER_NAME]
    return {c["type"]: c for c in mine[0]["conditions"]}


def test_service_parent_is_accepted_at_the_current_generation():
    route = http_route(90, 10)
    route["metadata"]["generation"] = 3
    parents = routestatus.desired_parents(route, NAMES, "2026-01-01T00:00:00Z")
    assert parents[0]["parentRef"] == {"group": "", "kind": "Service", "name": "backend-svc", "port": 80}
    conds = _conds(parents)
    assert conds["Accepted"]["status"] == "True" and conds["Accepted"]["observedGeneration"] == 3
    assert conds["ResolvedRefs"]["status"] == "True"
    assert routestatus.needs_update(route, parents)
    route["status"] = {"parents": parents}
    again = routestatus.desired_parents(route, NAMES, "2026-01-01T00:05:00Z")
    assert not routestatus.needs_update(route, again)  # stable: no rewrite, transition time kept


def test_missing_parent_and_backend_are_reported():
    route = http_route(90, 10)
    conds = _conds(routestatus.desired_parents(route, {"backend-v1"}, "t"))
    assert conds["Accepted"]["status"] == "False" and conds["Accepted"]["reason"] == "NoMatchingParent"
    assert conds["ResolvedRefs"]["reason"] == "BackendNotFound" and "backend-v2" in conds["ResolvedRefs"]["message"]


def test_other_controllers_entries_are_kept_and_gateway_parents_ignored():
    route = http_route(90, 10)
    other = {"parentRef": {"name": "gw", "kind": "Gateway"}, "controllerName": "example.com/gw", "conditions": []}
    route["status"] = {"parents": [other]}
    route["spec"]["parentRefs"].append({"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "gw"})
    parents = routestatus.desired_parents(route, NAMES, "t")
    assert parents[0] == other and len(parents) == 2


def test_a_rejecting_controller_reports_its_reason_at_the_current_generation():
    route = http_route(90, 10)
    route["metadata"]["generation"] = 2
    accepted = _conds(routestatus.desired_parents(route, NAMES, "t", reject="NotAllowedByListeners"))["Accepted"]
    assert (accepted["status"], accepted["reason"], accepted["observedGeneration"]) == ("False", "NotAllowedByListeners", 2)


def test_a_lagging_controller_reports_the_generation_it_saw():
    route = http_route(90, 10)
    route["metadata"]["generation"] = 2
    conds = _conds(routestatus.desired_parents(route, NAMES, "t", observed_generation=1))
    assert conds["Accepted"]["status"] == "True"
    assert conds["Accepted"]["observedGeneration"] == conds["ResolvedRefs"]["observedGeneration"] == 1
