"""The shared cluster-wait helpers (tests/support/waiting.py) without a cluster: an object without a
status is "not yet", stale conditions do not count, a 404 is "not yet", a timeout names what it waited for."""

import types

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from support import waiting


def test_object_without_status_or_conditions_is_not_yet():
    assert not waiting.has_condition({}, "Established")
    assert not waiting.has_condition({"status": {}}, "Established")
    assert not waiting.has_condition({"status": {"conditions": None}}, "Established")


def test_condition_on_dicts_and_models():
    obj = {"status": {"conditions": [{"type": "Established", "status": "True"}]}}
    assert waiting.has_condition(obj, "Established")
    assert not waiting.has_condition(obj, "Established", status="False")
    model = client.V1DeploymentStatus(
        conditions=[client.V1DeploymentCondition(type="Available", status="True")])
    model = types.SimpleNamespace(status=model)  # a model with a status attribute, as the typed APIs return
    assert waiting.has_condition(model, "Available")
    assert not waiting.has_condition(model, "Progressing")


def test_condition_of_an_older_generation_does_not_count():
    obj = {"status": {"conditions": [{"type": "Accepted", "status": "True", "observedGeneration": 1}]}}
    assert waiting.has_condition(obj, "Accepted", generation=1)
    assert not waiting.has_condition(obj, "Accepted", generation=2)


def test_wait_until_returns_the_first_truthy_value_and_treats_404_as_not_yet():
    answers = iter([ApiException(status=404), None, {"ok": 1}])

    def predicate():
        value = next(answers)
        if isinstance(value, Exception):
            raise value
        return value

    assert waiting.wait_until("the thing", predicate, timeout=5, interval=0.01) == {"ok": 1}


def test_wait_until_reraises_other_api_errors():
    def predicate():
        raise ApiException(status=403)

    with pytest.raises(ApiException):
        waiting.wait_until("the thing", predicate, timeout=5, interval=0.01)


def test_timeout_names_what_and_the_last_value_seen():
    with pytest.raises(waiting.WaitTimeout, match=r"waiting for CRD x Established \(last seen: \[\]\)"):
        waiting.wait_until("CRD x Established", lambda: [], timeout=0.05, interval=0.01)
