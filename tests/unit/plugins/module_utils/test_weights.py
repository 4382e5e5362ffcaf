import pytest

from ansible_collections.meshlab.canary.plugins.module_utils._errors import CanaryError
from ansible_collections.meshlab.canary.plugins.module_utils._weights import (
    milli_shares,
    parse_weight,
    render_smi_backends,
    validate_backends,
)


def b(service, weight):
    return {"service": service, "weight": weight}


@pytest.mark.parametrize("backends, api, expected", [
    ([b("backend-v1", 90), b("backend-v2", 10)], "smi", [("backend-v1", 90), ("backend-v2", 10)]),
    ([b("backend-v1", 0), b("backend-v2", 100)], "smi", [("backend-v1", 0), ("backend-v2", 100)]),
    ([b(" backend-v1 ", 1)], "smi", [("backend-v1", 1)]),
    ([b("a", 1000000), b("b", 0)], "gateway", [("a", 1000000), ("b", 0)]),
])
def test_validate_backends_accepts(backends, api, expected):
    assert validate_backends(backends, api) == expected


@pytest.mark.parametrize("backends, api, fragment", [
    ([], "smi", "non-empty list"),
    (None, "smi", "non-empty list"),
    ([b("backend-v1", -1), b("backend-v2", 10)], "smi", "backends[0].weight must be >= 0, got -1"),
    ([b("backend-v1", 9.5), b("backend-v2", 10)], "smi", "backends[0].weight must be a whole number"),
    ([b("backend-v1", "90"), b("backend-v2", 10)], "smi", "got '90' (str)"),
    ([b("backend-v1", True), b("backend-v2", 10)], "smi", "got True (bool)"),
    ([b("backend-v1", None)], "smi", "backends[0].weight must be a whole number"),
    ([b("backend-v1", 0), b("backend-v2", 0)], "smi", "all backend weights are zero"),
    ([b("backend-v1", 50), b("backend-v1", 50)], "smi", "backends[1].service 'backend-v1' is listed twice"),
    ([b("", 50)], "smi", "backends[0].service must be the name of a Service"),
    ([b("   ", 50)], "smi", "backends[0].service must be the name of a Service"),
    ([{"weight": 50}], "smi", "backends[0].service must be the name"),
    ([b("Backend_V1", 50)], "smi", "is not a valid Service name"),
    (["backend-v1"], "smi", "backends[0] must be a dict"),
    ([b("a", 1000001), b("b", 1)], "gateway", "exceeds the Gateway API maximum of 1000000"),
    ([b("s%d" % i, 1) for i in range(17)], "gateway", "at most 16 backendRefs"),
])
def test_validate_backends_rejects(backends, api, fragment):
    with pytest.raises(CanaryError) as err:
        validate_backends(backends, api)
    assert fragment in str(err.value)


def test_large_smi_weight_is_fine():
    # only the Gateway API caps weights
    assert validate_backends([b("a", 1000001)], "smi") == [("a", 1000001)]


@pytest.mark.parametrize("version, expected", [
    ("v1alpha4", [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]),
    ("v1alpha3", [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]),
    ("v1alpha2", [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}]),
    ("v1alpha1", [{"service": "backend-v1", "weight": "900m"}, {"service": "backend-v2", "weight": "100m"}]),
])
def test_render_smi_backends_per_version(version, expected):
    rendered = render_smi_backends([("backend-v1", 90), ("backend-v2", 10)], version)
    assert rendered == expected
    if version != "v1alpha1":
        assert all(isinstance(item["weight"], int) and not isinstance(item["weight"], bool) for item in rendered)


@pytest.mark.parametrize("pairs, expected", [
    ([("a", 1), ("b", 1), ("c", 1)], {"a": 334, "b": 333, "c": 333}),
    ([("a", 2), ("b", 1)], {"a": 667, "b": 333}),
    ([("a", 0), ("b", 100)], {"a": 0, "b": 1000}),
    ([("a", 20), ("b", 80)], {"a": 200, "b": 800}),
])
def test_milli_shares_add_up_to_1000(pairs, expected):
    shares = milli_shares(pairs)
    assert shares == expected
    assert sum(shares.values()) == 1000


@pytest.mark.parametrize("value, expected", [
    (90, 90), ("900m", 0.9), ("1", 1), ("500m", 0.5), ("1000m", 1), (10.0, 10), (None, 1), ("2k", 2000),
])
def test_parse_weight(value, expected):
    got = parse_weight(value)
    assert got == expected
    assert isinstance(got, type(expected))


@pytest.mark.parametrize("value", ["ninety", [], {"a": 1}])
def test_parse_weight_rejects_garbage(value):
    with pytest.raises(CanaryError):
        parse_weight(value)
