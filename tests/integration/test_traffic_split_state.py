"""traffic_split's ``annotations`` (written in the same request as the weights) and ``resource_version``
(optimistic concurrency) against the real API server: one write per change, the annotation returned, a stale or
unexpected resourceVersion refused with status 409 and nothing written, also in check mode.
"""

import json

from conftest import SMI, get_object, snapshot

KEY = "meshlab.canary/rollout"
SPLIT_90 = [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]
SPLIT_20 = [{"service": "backend-v1", "weight": 20}, {"service": "backend-v2", "weight": 80}]


def _vars(namespace, backends=None, **extra):
    data = {"it_name": "backend-split", "it_namespace": namespace, "it_api": "smi", "it_service": "backend-svc",
            "it_backends": SPLIT_90 if backends is None else backends}
    data.update(extra)
    return data


def _ok(run, changed):
    assert run.rc == 0 and not run.failed, run
    assert run.result["changed"] is changed, run
    return run.result


def _obj(custom, namespace):
    return get_object(custom, SMI, namespace, "backend-split")


def test_annotation_is_written_with_the_weights_and_returned(crds, lab_services, play, custom):
    ns = lab_services
    doc = {"version": 1, "stage": 1, "status": "running"}

    # check mode: the annotation shows in the diff, nothing is written
    res = _ok(play("traffic_split", _vars(ns, it_annotations={KEY: doc}), check=True, diff=True), True)
    assert _obj(custom, ns) is None
    assert res["diff"]["after"]["annotations"] == {KEY: json.dumps(doc, sort_keys=True, separators=(",", ":"))}
    assert res["resource_version"] is None

    # create: weights and annotation in the one object the create wrote
    res = _ok(play("traffic_split", _vars(ns, it_annotations={KEY: doc})), True)
    obj = _obj(custom, ns)
    assert json.loads(obj["metadata"]["annotations"][KEY]) == doc
    assert [b["weight"] for b in obj["spec"]["backends"]] == [90, 10]
    assert res["annotations"] == {KEY: obj["metadata"]["annotations"][KEY]}
    assert res["resource_version"] == obj["metadata"]["resourceVersion"]
    rv = res["resource_version"]

    # repeat: nothing written
    res = _ok(play("traffic_split", _vars(ns, it_annotations={KEY: doc})), False)
    assert _obj(custom, ns)["metadata"]["resourceVersion"] == rv == res["resource_version"]

    # new weights and new state: exactly one write carries both
    doc2 = dict(doc, stage=2)
    res = _ok(play("traffic_split", _vars(ns, SPLIT_20, it_annotations={KEY: doc2}, it_resource_version=rv),
                   diff=True), True)
    obj = _obj(custom, ns)
    assert json.loads(obj["metadata"]["annotations"][KEY]) == doc2
    assert [b["weight"] for b in obj["spec"]["backends"]] == [20, 80]
    assert int(obj["metadata"]["resourceVersion"]) > int(rv)
    assert res["diff"]["before"]["annotations"] == {KEY: json.dumps(doc, sort_keys=True, separators=(",", ":"))}
    assert res["previous_weights"] == {"backend-v1": 90, "backend-v2": 10}

    # the state alone: weights unchanged, one write; null removes the key and keeps the others
    custom.patch_namespaced_custom_object(*SMI[:2], ns, SMI[2], "backend-split",
                                          {"metadata": {"annotations": {"team": "a"}}})
    res = _ok(play("traffic_split", _vars(ns, SPLIT_20, it_annotations={KEY: None})), True)
    obj = _obj(custom, ns)
    assert obj["metadata"]["annotations"] == {"team": "a"} and res["annotations"] == {}
    assert [b["weight"] for b in obj["spec"]["backends"]] == [20, 80]


def test_resource_version_precondition_refuses_stale_writers(crds, lab_services, play, custom, api):
    ns = lab_services
    # "" = must not exist yet: the first writer creates
    first = _ok(play("traffic_split", _vars(ns, it_resource_version="")), True)
    rv = first["resource_version"]

    # a second writer that also read "no split": refused, nothing written (check mode too)
    before = snapshot(api, ns)
    for check in (False, True):
        run = play("traffic_split", _vars(ns, SPLIT_20, it_resource_version=""), check=check)
        assert run.rc != 0 and run.failed, run
        assert run.result["status"] == 409 and run.result["conflict"] is True, run
        assert "expected it not to exist yet, but it is at resourceVersion {0}".format(rv) in run.msg
    assert snapshot(api, ns) == before

    # the right version: written
    second = _ok(play("traffic_split", _vars(ns, SPLIT_20, it_resource_version=rv)), True)
    assert second["resource_version"] != rv

    # a writer holding the old version: refused, the newer weights stay
    before = snapshot(api, ns)
    run = play("traffic_split", _vars(ns, SPLIT_90, it_resource_version=rv))
    assert run.rc != 0 and run.result["status"] == 409, run
    assert "was changed by someone else since it was read" in run.msg
    assert snapshot(api, ns) == before
    assert [b["weight"] for b in _obj(custom, ns)["spec"]["backends"]] == [20, 80]


def test_bad_annotation_changes_nothing(crds, lab_services, play, api):
    ns = lab_services
    before = snapshot(api, ns)
    run = play("traffic_split", _vars(ns, it_annotations={"not a key!": "x"}))
    assert run.rc != 0 and "is not a valid annotation key" in run.msg, run
    assert snapshot(api, ns) == before
