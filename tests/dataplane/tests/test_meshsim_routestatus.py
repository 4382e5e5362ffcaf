"""HTTPRoute status for Service parents, as the mesh stand-in writes it."""

import pytest

from meshsim_lib import cli, controller, faults, routestatus

from meshsim_objects import http_route, tutorial_services

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


LINKERD = "linkerd.io/policy-controller"


def test_a_named_controller_writes_and_owns_entries_under_its_name():
    route = http_route(90, 10)
    route["metadata"]["generation"] = 4
    stale = {"parentRef": {"group": "", "kind": "Service", "name": "backend-svc", "port": 80},
             "controllerName": routestatus.CONTROLLER_NAME, "conditions": []}
    route["status"] = {"parents": [stale]}
    parents = routestatus.desired_parents(route, NAMES, "t", controller_name=LINKERD)
    assert parents[0] == stale  # meshsim's default name is another controller's now: kept, not rewritten
    assert [p["controllerName"] for p in parents] == [routestatus.CONTROLLER_NAME, LINKERD]
    generations = {c["type"]: c["observedGeneration"] for c in parents[1]["conditions"]}
    assert generations == {"Accepted": 4, "ResolvedRefs": 4}
    route["status"] = {"parents": parents}
    again = routestatus.desired_parents(route, NAMES, "t2", controller_name=LINKERD)
    assert not routestatus.needs_update(route, again)  # its own entry recognised by the name: stable


@pytest.mark.parametrize("name", ["", "linkerd.io", "linkerd.io/", "Linkerd.io/policy", "/policy",
                                  "linkerd.io/policy controller", "a.io/policy\n", "a.io/" + "p" * 250])
def test_names_the_api_server_would_refuse_are_refused(name):
    with pytest.raises(ValueError) as err:
        routestatus.check_controller_name(name)
    assert "Gateway API controllerName" in str(err.value) and LINKERD in str(err.value)


class _StatusKube:
    """What the controller's route status pass uses of meshsim_lib.kube.Kube: the writes, recorded."""

    namespace = "default"

    def __init__(self):
        self.written = []

    def write_route_status(self, route, parents):
        self.written.append((route["metadata"]["name"], parents))


def _controller(tmp_path, *extra):
    opts = cli.build_parser().parse_args(["run", "--kubeconfig", "unused", "--state-dir", str(tmp_path)]
                                         + list(extra))
    return controller.Controller(_StatusKube(), str(tmp_path), faults.NO_SWITCHES, opts)


@pytest.mark.parametrize("extra,expected", [((), routestatus.CONTROLLER_NAME),
                                            (("--route-controller-name", LINKERD), LINKERD)])
def test_the_cli_option_reaches_the_status_the_controller_writes(tmp_path, extra, expected):
    ctl = _controller(tmp_path, *extra)  # no process started: the route status pass needs none
    ctl._reconcile_route_status({"services": tutorial_services(), "routes": [http_route(90, 10)]})
    [(name, parents)] = ctl.kube.written
    assert name == "backend-route" and [p["controllerName"] for p in parents] == [expected]
    assert ctl.status()["route_controller_name"] == expected
