"""Every role's defaults and its meta/argument_specs.yml must describe the same variables.

The argument spec is what users read (``ansible-doc -t role``) and what validates their input;
a default that is not in it is undocumented, and a documented option without a default (and not
required) is a lie.  Every variable is also prefixed with the role's name.
"""

import pathlib

import pytest
import yaml

ROLES = pathlib.Path(__file__).resolve().parents[3] / "roles"
ROLE_DIRS = sorted(p for p in ROLES.glob("*") if (p / "tasks").is_dir()) if ROLES.is_dir() else []


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


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
