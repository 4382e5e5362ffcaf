import pytest
from ansible.errors import AnsibleFilterError

from filter_loader import load_filter_module

mod = load_filter_module("expand_stages")
expand = mod.expand_stages


def test_tutorial_default_schedule():
    stages = expand([10, 80, 100], "backend-v1", "backend-v2")
    assert [s["label"] for s in stages] == ["90/10", "20/80", "0/100"]
    assert [s["number"] for s in stages] == [1, 2, 3]
    assert stages[0]["backends"] == [
        {"service": "backend-v1", "weight": 90},
        {"service": "backend-v2", "weight": 10},
    ]
    assert stages[2]["expected"] == {"1": 0, "2": 100}
    for stage in stages:
        assert stage["stable_weight"] + stage["canary_weight"] == 100
        assert all(isinstance(b["weight"], int) and not isinstance(b["weight"], bool) for b in stage["backends"])


def test_custom_versions_are_expected_keys():
    stages = expand([50], "a", "b", stable_version="blue", canary_version="green")
    assert stages[0]["expected"] == {"blue": 50, "green": 50}


def test_digit_strings_and_integral_floats_accepted():
    assert [s["canary_weight"] for s in expand(["5", 50.0, " 100 "], "a", "b")] == [5, 50, 100]


@pytest.mark.parametrize(
    "spec,expected",
    [
        ({"step": 20, "max": 60}, [20, 40, 60, 100]),
        ({"step": 20, "max": 60, "promote": False}, [20, 40, 60]),
        ({"step": 30, "max": 100}, [30, 60, 90, 100]),
        ({"step": 25, "max": 70}, [25, 50, 70, 100]),
        ({"step": 100, "max": 100}, [100]),
    ],
)
def test_linear_form(spec, expected):
    assert [s["canary_weight"] for s in expand(spec, "a", "b")] == expected


@pytest.mark.parametrize(
    "stages,needle",
    [
        ([], "empty"),
        ([10, 10, 100], "strictly increase"),
        ([80, 10], "strictly increase"),
        ([10, 101], "outside 0..100"),
        ([-5, 10], "outside 0..100"),
        ([True, 50], "boolean"),
        ([12.5], "whole numbers"),
        (["ten"], "not a whole number"),
        ([None], "type NoneType"),
        (42, "expected a list"),
        ("[10, 80", "not valid JSON"),
        ("10,,100", "not a whole number"),
        ("", "empty"),
        ({"step": 0, "max": 50}, "step is 0"),
        ({"step": 30, "max": 20}, "below step"),
        ({"max": 50}, "needs 'step'"),
        ({"step": 10, "max": 50, "speed": 2}, "unknown key"),
        ({"step": 10, "max": 50, "promote": "yes"}, "promote"),
    ],
)
def test_invalid_input_names_the_field(stages, needle):
    with pytest.raises(AnsibleFilterError) as err:
        expand(stages, "backend-v1", "backend-v2")
    assert "canary_stages" in str(err.value)
    assert needle in str(err.value)


def test_same_service_twice_rejected():
    with pytest.raises(AnsibleFilterError, match="must differ"):
        expand([10], "backend", "backend")


def test_same_version_twice_rejected():
    with pytest.raises(AnsibleFilterError, match="must differ"):
        expand([10], "a", "b", stable_version="1", canary_version="1")


def test_filter_is_registered():
    assert mod.FilterModule().filters()["expand_stages"] is expand


@pytest.mark.parametrize("text", ["[5, 50, 100]", "5,50,100", " 5, 50 ,100 "])
def test_string_forms_from_extra_vars(text):
    assert [s["canary_weight"] for s in expand(text, "a", "b")] == [5, 50, 100]


def test_json_mapping_string():
    assert [s["canary_weight"] for s in expand('{"step": 50, "max": 100}', "a", "b")] == [50, 100]
