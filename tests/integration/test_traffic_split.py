"""meshlab.canary.traffic_split against the real API: check -> real (diff) -> repeat -> check-repeat, a weight
change, then state=absent (check -> real -> repeat), for SMI TrafficSplit and Gateway API HTTPRoute (GAMMA).

Every step is one ``ansible-playbook`` run of ``playbooks/traffic_split.yml``; after each, the object is read
back with the kubernetes client, so "changed" and "not changed" are checked against what the cluster holds.
"""

from conftest import PLAY_TIMEOUT, ROUTE, SMI, get_object

SPLIT_90 = [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]
SPLIT_20 = [{"service": "backend-v1", "weight": 20}, {"service": "backend-v2", "weight": 80}]


def _vars(namespace, api, backends=None, state=None, **extra):
    data = {"it_name": "backend-split", "it_namespace": namespace, "it_api": api}
    if state:
        data["it_state"] = state
    if backends is not None:
        data["it_service"] = "backend-svc"
        data["it_backends"] = backends
    data.update(extra)
    return data


def _object_weights(obj, api):
    """{service: weight} as stored in the cluster, with the raw weight values (types kept)."""
    if api == "smi":
        return dict((b["service"], b["weight"]) for b in obj["spec"]["backends"])
    rules = obj["spec"]["rules"]
    assert rules, "HTTPRoute has no rules"
    for rule in rules:
        assert rule["backendRefs"] == rules[0]["backendRefs"], "rules carry different splits"
    return dict((r["name"], r["weight"]) for r in rules[0]["backendRefs"])


def _assert_weights(obj, api, backends):
    assert obj is not None, "the split object does not exist"
    stored = _object_weights(obj, api)
    assert stored == dict((b["service"], b["weight"]) for b in backends)
    for value in stored.values():
        assert isinstance(value, int) and not isinstance(value, bool), "weight {0!r} is not an integer".format(value)
    if api == "smi":
        assert obj["apiVersion"] == "split.smi-spec.io/v1alpha3"
        assert obj["spec"]["service"] == "backend-svc"
    else:
        assert obj["apiVersion"] == "gateway.networking.k8s.io/v1"
        assert obj["spec"]["parentRefs"] == [{"group": "", "kind": "Service", "name": "backend-svc", "port": 80}]
        for ref in obj["spec"]["rules"][0]["backendRefs"]:
            assert (ref.get("group", ""), ref.get("kind", "Service"), ref["port"]) == ("", "Service", 80)


def _ok(run, changed):
    assert run.rc == 0 and not run.failed, run
    assert run.result["changed"] is changed, run
    return run.result


def _matrix(play, custom, namespace, api):
    gvp, kind = (SMI, "TrafficSplit") if api == "smi" else (ROUTE, "HTTPRoute")
    api_version = "{0}/{1}".format(gvp[0], gvp[1])

    # 1. check mode: would create, writes nothing
    res = _ok(play("traffic_split", _vars(namespace, api, SPLIT_90), check=True, diff=True), True)
    assert get_object(custom, gvp, namespace, "backend-split") is None, "check mode wrote the object"
    assert res["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert res["previous_weights"] is None and res["changed_at"] is None
    assert res["diff"] == {"before": {"weights": {}}, "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}

    # 2. real change with --diff: object written with integer weights
    run = play("traffic_split", _vars(namespace, api, SPLIT_90), diff=True)
    res = _ok(run, True)
    assert res["diff"] == {"before": {"weights": {}}, "after": {"weights": {"backend-v1": 90, "backend-v2": 10}}}
    assert (res["api_version"], res["kind"]) == (api_version, kind)
    assert res["changed_at"] and res["changed_at"].endswith("Z")
    obj = get_object(custom, gvp, namespace, "backend-split")
    _assert_weights(obj, api, SPLIT_90)
    version = obj["metadata"]["resourceVersion"]
    generation = obj["metadata"]["generation"]

    # 3. repeat: not changed, nothing written
    res = _ok(play("traffic_split", _vars(namespace, api, SPLIT_90), diff=True), False)
    assert res["previous_weights"] == res["weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert res["changed_at"] is None
    obj = get_object(custom, gvp, namespace, "backend-split")
    assert obj["metadata"]["generation"] == generation
    if api == "smi":  # an HTTPRoute's resourceVersion also moves with status writes
        assert obj["metadata"]["resourceVersion"] == version, "an unchanged repeat wrote the object"

    # 4. check-mode repeat: not changed
    _ok(play("traffic_split", _vars(namespace, api, SPLIT_90), check=True, diff=True), False)
    assert get_object(custom, gvp, namespace, "backend-split")["metadata"]["generation"] == generation

    # 5. weight change 90/10 -> 20/80: previous weights returned, object updated
    res = _ok(play("traffic_split", _vars(namespace, api, SPLIT_20), diff=True), True)
    assert res["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}
    assert res["weights"] == {"backend-v1": 20, "backend-v2": 80}
    assert res["diff"]["before"] == {"weights": {"backend-v1": 90, "backend-v2": 10}}
    assert res["diff"]["after"] == {"weights": {"backend-v1": 20, "backend-v2": 80}}
    obj = get_object(custom, gvp, namespace, "backend-split")
    _assert_weights(obj, api, SPLIT_20)
    assert obj["metadata"]["generation"] == generation + 1

    # 6. state=absent: check (changed, still there) -> real (gone) -> repeat (not changed)
    res = _ok(play("traffic_split", _vars(namespace, api, state="absent"), check=True, diff=True), True)
    assert res["previous_weights"] == {"backend-v1": 20, "backend-v2": 80}
    assert get_object(custom, gvp, namespace, "backend-split") is not None, "check mode deleted the object"
    res = _ok(play("traffic_split", _vars(namespace, api, state="absent"), diff=True), True)
    assert res["weights"] == {} and res["diff"]["after"] == {"weights": {}}
    assert get_object(custom, gvp, namespace, "backend-split") is None, "state=absent left the object"
    res = _ok(play("traffic_split", _vars(namespace, api, state="absent")), False)
    assert res["previous_weights"] is None


def test_smi_matrix(crds, lab_services, play, custom):
    _matrix(play, custom, lab_services, "smi")


def test_gateway_matrix(crds, lab_services, play, custom, status_writer):
    with status_writer(lab_services) as writer:
        _matrix(play, custom, lab_services, "gateway")
    assert writer.errors == []
    assert writer.writes >= 2  # creation and the weight change were each accepted


def test_gateway_without_controller_times_out(crds, lab_services, play, custom):
    """No status writer: the route is written, then the task fails clearly after wait_timeout."""
    run = play("traffic_split", _vars(lab_services, "gateway", SPLIT_90, it_wait_timeout=3))
    assert run.rc != 0 and run.failed, run
    assert "HTTPRoute backend-split was written but not Accepted at its current generation within 3 s" in run.msg
    assert "is a controller handling this route?" in run.msg
    assert run.result["changed"] is True and run.result["changed_at"]
    assert run.duration >= 3, run  # it waited for wait_timeout before failing
    _assert_weights(get_object(custom, ROUTE, lab_services, "backend-split"), "gateway", SPLIT_90)

    # a rerun finds nothing to change but must still not report success for an unaccepted route
    run = play("traffic_split", _vars(lab_services, "gateway", SPLIT_90, it_wait_timeout=2))
    assert run.rc != 0 and run.failed, run
    assert "not Accepted at its current generation within 2 s" in run.msg
    assert run.result["changed"] is False


def test_gateway_rejected_route_fails(crds, lab_services, play, status_writer):
    """A controller that sets Accepted=False at the current generation: the task fails at once with its reason."""
    # wait_timeout beyond PLAY_TIMEOUT: waiting for it instead of failing at once would kill the play
    with status_writer(lab_services, accept=False):
        run = play("traffic_split", _vars(lab_services, "gateway", SPLIT_90, it_wait_timeout=2 * PLAY_TIMEOUT))
    assert run.rc != 0 and run.failed, run
    assert "HTTPRoute backend-split was written but not accepted: NotAllowedByListeners" in run.msg


def test_gateway_accepted_only_at_an_older_generation_times_out(crds, lab_services, play, custom, status_writer):
    """Accepted=True for generation 1 does not count for generation 2: the weight change must time out."""
    with status_writer(lab_services, stale=True):
        run = play("traffic_split", _vars(lab_services, "gateway", SPLIT_90, it_wait_timeout=30))
        assert run.rc == 0 and run.result["changed"] is True, run  # generation 1: accepted
        run = play("traffic_split", _vars(lab_services, "gateway", SPLIT_20, it_wait_timeout=3))
    assert run.rc != 0 and run.failed, run
    assert "not Accepted at its current generation within 3 s: Accepted=True observedGeneration current=False" in run.msg
    route = get_object(custom, ROUTE, lab_services, "backend-split")
    assert route["metadata"]["generation"] == 2
    _assert_weights(route, "gateway", SPLIT_20)
