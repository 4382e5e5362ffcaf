import copy

import pytest

from fake_cluster import FakeClock, FakeCluster, service
from module_args import split_params

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._split_api import (
    choose_version,
    ensure_split,
    route_acceptance,
)

SMI = ("split.smi-spec.io", "trafficsplits")
GW = ("gateway.networking.k8s.io", "httproutes")
NOW = "2026-11-27T18:30:00.000000Z"


def params(**over):
    base = dict(name="backend-ts", service="backend-svc",
                backends=[{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}])
    base.update(over)
    return split_params(**base)


def lab(served=("v1alpha3",), gw=(), extra_services=()):
    services = {}
    for name in ("backend-svc", "backend-v1", "backend-v2") + tuple(extra_services):
        services[("default", name)] = service(name)
    return FakeCluster(served={SMI: list(served), GW: list(gw)}, services=services)


def run(cluster, p, check=False, diff=False, clock=None):
    clock = clock or FakeClock()
    return ensure_split(cluster, p, check_mode=check, diff_mode=diff, now=lambda: NOW,
                        sleep=clock.sleep, monotonic=clock.monotonic)


@pytest.mark.parametrize("api, served, requested, expected", [
    ("smi", ["v1alpha3"], None, "v1alpha3"),
    ("smi", ["v1alpha1", "v1alpha2", "v1alpha3", "v1alpha4"], None, "v1alpha4"),
    ("smi", ["v1alpha1", "v1alpha2"], None, "v1alpha2"),
    ("smi", ["v1alpha1"], None, "v1alpha1"),
    ("smi", ["v1alpha1", "v1alpha2"], "v1alpha1", "v1alpha1"),
    ("gateway", ["v1beta1", "v1"], None, "v1"),
    ("gateway", ["v1beta1"], None, "v1beta1"),
    ("smi", ["v1alpha2", "v1alpha3"], "split.smi-spec.io/v1alpha2", "v1alpha2"),
])
def test_choose_version(api, served, requested, expected):
    assert choose_version(api, served, requested) == expected


def test_choose_version_errors():
    with pytest.raises(CanaryError) as err:
        choose_version("smi", [])
    assert str(err.value) == "TrafficSplit split.smi-spec.io is not served by this cluster: is the mesh installed?"
    with pytest.raises(CanaryError) as err:
        choose_version("smi", ["v1alpha3"], "v1alpha2")
    assert "api_version v1alpha2" in str(err.value) and "serves v1alpha3" in str(err.value)
    with pytest.raises(CanaryError) as err:
        choose_version("gateway", [])
    assert "HTTPRoute gateway.networking.k8s.io is not served" in str(err.value)
    with pytest.raises(CanaryError) as err:
        choose_version("smi", ["v1alpha3"], "gateway.networking.k8s.io/v1")
    assert "is not in the API group split.smi-spec.io of TrafficSplit" in str(err.value)


def test_smi_create_update_idempotent_and_diff():
    cluster = lab()
    first = run(cluster, params(), diff=True)
    assert first["changed"] is True
    assert first["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert first["previous_weights"] is None
    assert first["api_version"] == "split.smi-spec.io/v1alpha3"
    assert first["kind"] == "TrafficSplit"
    assert first["changed_at"] == NOW
    assert first["diff"] == {"before": {"weights": {}}, "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}
    obj = cluster.writes[-1]
    assert obj["apiVersion"] == "split.smi-spec.io/v1alpha3"
    assert obj["spec"] == {"service": "backend-svc", "backends": [
        {"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]}

    again = run(cluster, params())
    assert again["changed"] is False and again["changed_at"] is None
    assert again["previous_weights"] == again["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert len(cluster.write_calls()) == 1

    step = run(cluster, params(backends=[{"service": "backend-v1", "weight": 20},
                                         {"service": "backend-v2", "weight": 80}]), diff=True)
    assert step["changed"] is True
    assert step["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert step["weights"] == {"backend-v1": 20, "backend-v2": 80}
    assert step["diff"]["before"] == {"weights": {"backend-v1": 90, "backend-v2": 10}}
    assert [c[0] for c in cluster.write_calls()] == ["create_object", "replace_object"]


def test_reordered_backends_are_no_change():
    cluster = lab()
    run(cluster, params())
    result = run(cluster, params(backends=[{"service": "backend-v2", "weight": 10},
                                           {"service": "backend-v1", "weight": 90}]))
    assert result["changed"] is False


def test_check_mode_reports_but_does_not_write():
    cluster = lab()
    result = run(cluster, params(), check=True, diff=True)
    assert result["changed"] is True and result["changed_at"] is None
    assert result["diff"]["after"] == {"weights": {"backend-v1": 90, "backend-v2": 10}}
    assert cluster.write_calls() == []


def test_update_keeps_metadata_and_matches_and_sends_resource_version():
    cluster = lab()
    existing = {"apiVersion": "split.smi-spec.io/v1alpha3", "kind": "TrafficSplit",
                "metadata": {"name": "backend-ts", "namespace": "default", "resourceVersion": "7",
                             "labels": {"team": "a"}},
                "spec": {"service": "backend-svc", "matches": [{"kind": "HTTPRouteGroup", "name": "g"}],
                         "backends": [{"service": "backend-v1", "weight": 100}, {"service": "backend-v2", "weight": 0}]}}
    cluster.objects[SMI + ("default", "backend-ts")] = copy.deepcopy(existing)
    result = run(cluster, params())
    assert result["previous_weights"] == {"backend-v1": 100, "backend-v2": 0}
    written = cluster.writes[-1]
    assert written["metadata"]["labels"] == {"team": "a"}
    assert written["spec"]["matches"] == [{"kind": "HTTPRouteGroup", "name": "g"}]
    assert cluster.write_calls() == [("replace_object", "split.smi-spec.io", "v1alpha3", "trafficsplits",
                                      "backend-ts", "default")]


def test_concurrent_change_fails_without_partial_write():
    cluster = lab()
    run(cluster, params())
    # someone else bumps the object between our read and write
    original_get = cluster.get_object

    def racing_get(*args):
        obj = original_get(*args)
        cluster.objects[SMI + ("default", "backend-ts")]["metadata"]["resourceVersion"] = "999"
        return obj
    cluster.get_object = racing_get
    before = copy.deepcopy(cluster.objects)
    with pytest.raises(CanaryError) as err:
        run(cluster, params(backends=[{"service": "backend-v1", "weight": 0}, {"service": "backend-v2", "weight": 1}]))
    assert "changed by someone else" in str(err.value)
    before[SMI + ("default", "backend-ts")]["metadata"]["resourceVersion"] = "999"
    assert cluster.objects == before


def test_v1alpha1_quantities_and_idempotence():
    cluster = lab(served=("v1alpha1",))
    result = run(cluster, params())
    assert cluster.writes[-1]["spec"]["backends"] == [{"service": "backend-v1", "weight": "900m"},
                                                      {"service": "backend-v2", "weight": "100m"}]
    assert result["weights"] == {"backend-v1": 0.9, "backend-v2": 0.1}
    assert run(cluster, params())["changed"] is False


def test_explicit_api_version_is_honoured():
    cluster = lab(served=("v1alpha2", "v1alpha3"))
    result = run(cluster, params(api_version="v1alpha2"))
    assert result["api_version"] == "split.smi-spec.io/v1alpha2"
    assert cluster.writes[-1]["apiVersion"] == "split.smi-spec.io/v1alpha2"


@pytest.mark.parametrize("over, fragment", [
    (dict(backends=[{"service": "backend-v1", "weight": -5}]), "backends[0].weight must be >= 0"),
    (dict(backends=[{"service": "backend-v1", "weight": 0}, {"service": "backend-v2", "weight": 0}]), "all backend"),
    (dict(service=None), "service (the root Service) is required"),
    (dict(service="backend-v1"), "must not also be a backend"),
    (dict(name=""), "name must be"),
    (dict(api="gateway", backends=[{"service": "backend-v1", "weight": 2000000}]), "maximum of 1000000"),
    (dict(api="gateway", port=0), "port must be a port number"),
])
def test_bad_input_touches_nothing(over, fragment):
    cluster = lab()
    with pytest.raises(CanaryError) as err:
        run(cluster, params(**over))
    assert fragment in str(err.value)
    assert cluster.calls == []


def test_missing_services_are_listed():
    cluster = FakeCluster(served={SMI: ["v1alpha3"]}, services={("default", "backend-v1"): service("backend-v1")})
    with pytest.raises(CanaryError) as err:
        run(cluster, params())
    assert str(err.value) == ("Service(s) not found in namespace default: backend-svc (root), backend-v2 (backend). "
                              "Create them before the split.")
    assert err.value.fields["missing_services"] == ["backend-svc", "backend-v2"]
    assert cluster.write_calls() == []


def test_missing_namespace_is_named():
    cluster = lab()
    with pytest.raises(CanaryError) as err:
        run(cluster, params(namespace="no-such-ns"))
    assert str(err.value) == ("Namespace no-such-ns does not exist: check the namespace option, or create the "
                              "namespace and its Services (backend-svc, backend-v1, backend-v2) before the split.")
    assert err.value.fields["missing_services"] == ["backend-svc", "backend-v1", "backend-v2"]
    assert cluster.write_calls() == []


def test_all_services_missing_in_existing_namespace_lists_them():
    cluster = FakeCluster(served={SMI: ["v1alpha3"]})
    with pytest.raises(CanaryError) as err:
        run(cluster, params())
    assert str(err.value).startswith("Service(s) not found in namespace default: backend-svc (root), ")


def test_api_not_served_message():
    cluster = lab(served=())
    with pytest.raises(CanaryError) as err:
        run(cluster, params())
    assert str(err.value) == "TrafficSplit split.smi-spec.io is not served by this cluster: is the mesh installed?"
    assert cluster.write_calls() == []


def test_absent_deletes_once_and_is_idempotent():
    cluster = lab()
    run(cluster, params())
    gone = run(cluster, params(state="absent", service=None, backends=None), diff=True)
    assert gone["changed"] is True and gone["weights"] == {}
    assert gone["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert gone["diff"] == {"before": {"weights": {"backend-v1": 90, "backend-v2": 10}}, "after": {"weights": {}}}
    again = run(cluster, params(state="absent", service=None, backends=None))
    assert again["changed"] is False and again["previous_weights"] is None
    assert [c[0] for c in cluster.write_calls()] == ["create_object", "delete_object"]


def test_absent_in_check_mode_and_without_the_api():
    cluster = lab()
    run(cluster, params())
    result = run(cluster, params(state="absent"), check=True)
    assert result["changed"] is True
    assert [c[0] for c in cluster.write_calls()] == ["create_object"]
    no_api = lab(served=())
    result = run(no_api, params(state="absent"))
    assert result["changed"] is False and result["api_version"] is None


# ---- Gateway API ----------------------------------------------------------------

def accept_after(gets, status="True", reason="Accepted"):
    """on_get hook: the controller sets Accepted on the route after ``gets`` reads."""
    counter = {"n": 0}

    def hook(obj):
        counter["n"] += 1
        if counter["n"] >= gets:
            obj = copy.deepcopy(obj)
            parents = [{"parentRef": ref, "controllerName": "example.com/mesh",
                        "conditions": [{"type": "Accepted", "status": status, "reason": reason, "message": "m",
                                        "observedGeneration": obj["metadata"]["generation"]}]}
                       for ref in obj["spec"]["parentRefs"]]
            obj["status"] = {"parents": parents}
        return obj
    return hook


def gw_params(**over):
    base = params(name="backend-route", api="gateway")
    base.update(over)
    return base


def test_gamma_route_written_and_waited_for():
    cluster = lab(gw=("v1beta1", "v1"))
    cluster.on_get = accept_after(2)
    clock = FakeClock()
    result = run(cluster, gw_params(), diff=True, clock=clock)
    assert result["changed"] is True and result["kind"] == "HTTPRoute"
    assert result["api_version"] == "gateway.networking.k8s.io/v1"
    written = cluster.writes[-1]
    assert written["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "backend-svc", "port": 80}]
    assert written["spec"]["rules"] == [{"backendRefs": [
        {"group": "", "kind": "Service", "name": "backend-v1", "port": 80, "weight": 90},
        {"group": "", "kind": "Service", "name": "backend-v2", "port": 80, "weight": 10}]}]
    assert result["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert len(clock.sleeps) == 2
    # the server added defaults and a status: still no change
    assert run(cluster, gw_params(), clock=clock)["changed"] is False


def test_named_gateway_parent_ref():
    cluster = lab(gw=("v1",))
    cluster.on_get = accept_after(1)
    p = gw_params(gateway={"name": "lab-gateway", "namespace": "gw", "section_name": "http"}, service=None)
    p["service"] = "backend-svc"
    run(cluster, p)
    assert cluster.writes[-1]["spec"]["parentRefs"] == [
        {"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "lab-gateway", "namespace": "gw",
         "sectionName": "http"}]
    # with a Gateway the root Service is not a parent, so it is not required to exist
    assert ("get_service", "backend-svc", "default") not in cluster.calls


def test_route_rejected_fails_with_reason_and_reports_the_write():
    cluster = lab(gw=("v1",))
    cluster.on_get = accept_after(1, status="False", reason="NoMatchingParent")
    with pytest.raises(CanaryError) as err:
        run(cluster, gw_params())
    assert "not accepted: NoMatchingParent" in str(err.value)
    assert err.value.fields["changed"] is True and err.value.fields["changed_at"] == NOW


def test_route_not_accepted_times_out():
    cluster = lab(gw=("v1",))
    clock = FakeClock()
    with pytest.raises(CanaryError) as err:
        run(cluster, gw_params(wait_timeout=5), clock=clock)
    assert "not Accepted at its current generation within 5 s" in str(err.value)
    assert 5 <= sum(clock.sleeps) <= 6
    # a rerun changes nothing but still does not report success for a route nobody accepted
    with pytest.raises(CanaryError) as err:
        run(cluster, gw_params(wait_timeout=5), clock=clock)
    assert err.value.fields["changed"] is False
    assert len(cluster.write_calls()) == 1
    # once the controller accepts it, the rerun is ok, unchanged, and does not wait
    cluster.on_get = accept_after(1)
    sleeps = len(clock.sleeps)
    assert run(cluster, gw_params(wait_timeout=5), clock=clock)["changed"] is False
    assert len(clock.sleeps) == sleeps


def test_backend_service_without_the_port():
    cluster = lab(gw=("v1",))
    cluster.services[("default", "backend-v2")] = service("backend-v2", ports=(8080,))
    with pytest.raises(CanaryError) as err:
        run(cluster, gw_params())
    assert "have no port 80: backend-v2 (ports 8080)" in str(err.value)
    assert cluster.write_calls() == []


@pytest.mark.parametrize("conditions, generation, expected", [
    ([("True", 2)], 2, "accepted"),
    ([("True", 1)], 2, "pending"),       # stale: accepted an older generation
    ([("False", 2)], 2, "rejected"),
    ([("False", 1)], 2, "pending"),      # stale rejection does not count
    ([], 2, "pending"),
])
def test_route_acceptance(conditions, generation, expected):
    parent = {"group": "", "kind": "Service", "name": "backend-svc", "port": 80}
    obj = {"metadata": {"generation": generation}, "status": {"parents": [
        {"parentRef": parent, "conditions": [{"type": "Accepted", "status": s, "observedGeneration": g,
                                              "reason": "r", "message": "m"} for s, g in conditions]}]}}
    assert route_acceptance(obj, [parent], "default")[0] == expected


# ---- annotations written with the weights, resourceVersion precondition -----------------------------

STATE_KEY = "meshlab.canary/rollout"


def test_annotation_written_in_the_same_write_as_the_weights_and_returned():
    cluster = lab()
    first = run(cluster, params(annotations={STATE_KEY: '{"stage":1}'}), diff=True)
    assert first["changed"] is True
    assert first["annotations"] == {STATE_KEY: '{"stage":1}'}
    assert len(cluster.write_calls()) == 1
    written = cluster.writes[-1]
    assert written["metadata"]["annotations"] == {STATE_KEY: '{"stage":1}'}
    assert written["spec"]["backends"][1] == {"service": "backend-v2", "weight": 10}
    assert first["resource_version"] == written["metadata"]["resourceVersion"]
    assert first["diff"]["before"] == {"weights": {}, "annotations": {}}
    assert first["diff"]["after"]["annotations"] == {STATE_KEY: '{"stage":1}'}

    # same weights, same annotation: nothing written; same weights, new annotation: one write
    again = run(cluster, params(annotations={STATE_KEY: '{"stage":1}'}))
    assert again["changed"] is False and len(cluster.write_calls()) == 1
    assert again["resource_version"] == first["resource_version"]
    step = run(cluster, params(annotations={STATE_KEY: '{"stage":1,"verdict":"pass"}'}), diff=True)
    assert step["changed"] is True and len(cluster.write_calls()) == 2
    assert step["weights"] == step["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert step["diff"]["before"]["annotations"] == {STATE_KEY: '{"stage":1}'}
    assert step["resource_version"] != first["resource_version"]


def test_other_annotations_are_kept_and_null_removes_a_key():
    cluster = lab()
    run(cluster, params())
    key = SMI + ("default", "backend-ts")
    cluster.objects[key]["metadata"]["annotations"] = {"team": "a", STATE_KEY: "old"}
    result = run(cluster, params(annotations={STATE_KEY: None}))
    assert result["changed"] is True and result["annotations"] == {}
    assert cluster.objects[key]["metadata"]["annotations"] == {"team": "a"}
    assert run(cluster, params(annotations={STATE_KEY: None}))["changed"] is False


def test_mapping_annotation_is_written_as_compact_json():
    cluster = lab()
    result = run(cluster, params(annotations={STATE_KEY: {"stage": 2, "b": [1]}}))
    assert result["annotations"] == {STATE_KEY: '{"b":[1],"stage":2}'}
    # the same document as a string is no change
    assert run(cluster, params(annotations={STATE_KEY: '{"b":[1],"stage":2}'}))["changed"] is False


@pytest.mark.parametrize("annotations, fragment", [
    ({"bad key!": "v"}, "'bad key!' is not a valid annotation key"),
    ({"Upper.Case/x": "v"}, "is not a valid annotation key"),
    ({STATE_KEY: 3}, "annotations[meshlab.canary/rollout] must be a string"),
])
def test_bad_annotations_touch_nothing(annotations, fragment):
    cluster = lab()
    with pytest.raises(CanaryError) as err:
        run(cluster, params(annotations=annotations))
    assert fragment in str(err.value)
    assert cluster.calls == []


def test_resource_version_precondition():
    cluster = lab()
    # "" = must not exist yet: creates
    created = run(cluster, params(resource_version=""))
    assert created["changed"] is True
    rv = created["resource_version"]
    # "" again: the object exists now -> conflict, nothing written, also in check mode
    for check in (False, True):
        with pytest.raises(CanaryError) as err:
            run(cluster, params(resource_version="", backends=[{"service": "backend-v1", "weight": 20},
                                                               {"service": "backend-v2", "weight": 80}]),
                check=check)
        assert err.value.fields["status"] == 409 and err.value.fields["conflict"] is True
        assert "expected it not to exist yet, but it is at resourceVersion {0}".format(rv) in str(err.value)
        assert err.value.fields["resource_version"] == rv
        assert err.value.fields["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert len(cluster.write_calls()) == 1
    # the right version: written, and the write carries it
    step = run(cluster, params(resource_version=rv, backends=[{"service": "backend-v1", "weight": 20},
                                                              {"service": "backend-v2", "weight": 80}]))
    assert step["changed"] is True and step["resource_version"] != rv
    # the old version again (a second writer that read before the first wrote): conflict, weights kept
    with pytest.raises(CanaryError) as err:
        run(cluster, params(resource_version=rv))
    assert "expected it to be at resourceVersion {0}, but it is at resourceVersion {1}".format(
        rv, step["resource_version"]) in str(err.value)
    assert cluster.objects[SMI + ("default", "backend-ts")]["spec"]["backends"][1]["weight"] == 80
    assert len(cluster.write_calls()) == 2


def test_resource_version_of_a_deleted_object_is_a_conflict():
    cluster = lab()
    with pytest.raises(CanaryError) as err:
        run(cluster, params(resource_version="41"))
    assert "expected it to be at resourceVersion 41, but it does not exist" in str(err.value)
    assert cluster.write_calls() == []


def controller_status_write(cluster, spec_change=None):
    """on_get hook like a real route controller: its status write gives the route a new resourceVersion
    (the generation stays); ``spec_change`` first edits the spec as another writer would (a new generation)."""

    def hook(obj):
        if (obj.get("status") or {}).get("parents"):
            return obj
        obj = accept_after(1)(obj)
        if spec_change:
            spec_change(obj)
            obj["metadata"]["generation"] += 1
            for parent in obj["status"]["parents"]:
                parent["conditions"][0]["observedGeneration"] = obj["metadata"]["generation"]
        cluster.rv += 1
        obj["metadata"]["resourceVersion"] = str(cluster.rv)
        return obj
    return hook


def test_gateway_returns_the_accepted_resource_version_so_the_next_guarded_write_succeeds():
    cluster = lab(gw=("v1",))
    cluster.on_get = controller_status_write(cluster)
    first = run(cluster, gw_params(resource_version="", annotations={"meshlab.canary/rollout": {"stage": 1}}))
    stored = cluster.objects[(GW[0], GW[1], "default", "backend-route")]
    assert first["resource_version"] == stored["metadata"]["resourceVersion"]
    assert first["resource_version"] != cluster.writes[-1]["metadata"]["resourceVersion"]
    # the canary role's next stage writes with the version it was given: no 409 from the controller's status write
    step = run(cluster, gw_params(resource_version=first["resource_version"],
                                  backends=[{"service": "backend-v1", "weight": 20},
                                            {"service": "backend-v2", "weight": 80}],
                                  annotations={"meshlab.canary/rollout": {"stage": 2}}))
    assert step["changed"] is True and step["weights"] == {"backend-v1": 20, "backend-v2": 80}


def test_gateway_keeps_its_own_resource_version_when_someone_else_changed_the_spec():
    cluster = lab(gw=("v1",))

    def edit(obj):
        obj["spec"]["rules"][0]["backendRefs"][0]["weight"] = 50
    cluster.on_get = controller_status_write(cluster, spec_change=edit)
    first = run(cluster, gw_params(resource_version=""))
    assert first["resource_version"] == cluster.writes[-1]["metadata"]["resourceVersion"]
    with pytest.raises(CanaryError) as err:
        run(cluster, gw_params(resource_version=first["resource_version"],
                               backends=[{"service": "backend-v1", "weight": 20},
                                         {"service": "backend-v2", "weight": 80}]))
    assert err.value.fields.get("status") == 409
