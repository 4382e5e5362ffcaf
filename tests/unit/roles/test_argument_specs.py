"""Every role's defaults and its meta/argument_specs.yml must describe the same variables.

The argument spec is what users read (``ansible-doc -t role``) and what validates their input;
a default that is not in it is undocumented, and a documented option without a default (and not
required) is a lie.  Every variable is also prefixed with the role's name.

A role may have more entry points than ``main`` (``remove``, called with ``tasks_from: remove``). Each has
a tasks file of its name, and its options are a subset of the role's variables: every one of them has a
default in defaults/main.yml or is required, and agrees with the ``main`` spec (type, default, choices).
"""

import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"
ROLE_DIRS = sorted(p for p in ROLES.glob("*") if (p / "tasks").is_dir()) if ROLES.is_dir() else []


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


def _specs(role):
    return _load(role / "meta" / "argument_specs.yml")["argument_specs"]


def test_roles_exist():
    assert ROLE_DIRS, "no roles found under %s" % ROLES


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_defaults_match_argument_spec(role):
    spec_file = role / "meta" / "argument_specs.yml"
    assert spec_file.is_file(), "%s has no meta/argument_specs.yml" % role.name
    spec = _load(spec_file)["argument_specs"]["main"]
    options = spec.get("options", {})
    defaults_file = role / "defaults" / "main.yml"
    defaults = _load(defaults_file) if defaults_file.is_file() else {}

    undocumented = sorted(set(defaults) - set(options))
    assert not undocumented, "%s: defaults missing from argument_specs: %s" % (role.name, undocumented)

    without_default = sorted(
        name for name, opt in options.items() if name not in defaults and not opt.get("required", False)
    )
    assert not without_default, "%s: optional options without a default in defaults/main.yml: %s" % (
        role.name,
        without_default,
    )

    for name, opt in options.items():
        assert opt.get("description"), "%s: option %s has no description" % (role.name, name)
        assert opt.get("type"), "%s: option %s has no type" % (role.name, name)


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_variables_are_role_prefixed(role):
    spec = _load(role / "meta" / "argument_specs.yml")["argument_specs"]["main"]
    names = list(spec.get("options", {}))
    defaults_file = role / "defaults" / "main.yml"
    if defaults_file.is_file():
        names += list(_load(defaults_file))
    bad = sorted(n for n in set(names) if not n.startswith(role.name + "_"))
    assert not bad, "%s: variables not prefixed with '%s_': %s" % (role.name, role.name, bad)


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_every_entry_point_has_its_tasks_file(role):
    for entry in _specs(role):
        assert (role / "tasks" / (entry + ".yml")).is_file(), "%s: entry point %s has no tasks/%s.yml" % (
            role.name, entry, entry)


@pytest.mark.parametrize("role", ROLE_DIRS, ids=lambda p: p.name)
def test_other_entry_points_agree_with_main_and_defaults(role):
    specs = _specs(role)
    main = specs["main"].get("options", {})
    defaults_file = role / "defaults" / "main.yml"
    defaults = _load(defaults_file) if defaults_file.is_file() else {}
    for entry, spec in specs.items():
        if entry == "main":
            continue
        assert spec.get("short_description"), "%s: entry point %s has no short_description" % (role.name, entry)
        for name, opt in spec.get("options", {}).items():
            where = "%s: %s option %s" % (role.name, entry, name)
            assert name.startswith(role.name + "_"), where + " is not prefixed"
            assert opt.get("description") and opt.get("type"), where + " needs a type and a description"
            assert name in defaults or opt.get("required", False), where + " has no default and is not required"
            assert name in main, where + " is not a variable of the main entry point"
            for key in ("type", "default", "choices", "elements"):
                assert opt.get(key) == main[name].get(key), "%s: %s differs from main (%r != %r)" % (
                    where, key, opt.get(key), main[name].get(key))


def test_a_remove_entry_point_per_role_and_no_state_switch():
    """Teardown calls every role through tasks_from: remove; no role keeps a *_state switch."""
    for role in ROLE_DIRS:
        assert "remove" in _specs(role), "%s has no remove entry point" % role.name
        defaults_file = role / "defaults" / "main.yml"
        defaults = _load(defaults_file) if defaults_file.is_file() else {}
        assert role.name + "_state" not in defaults, "%s still has %s_state" % (role.name, role.name)
