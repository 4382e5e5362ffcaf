"""The one way the unit tests build a module's parameters: as ``main()`` gets them from Ansible.

module_utils trusts the validated ``module.params`` (every option present, the argument spec's defaults filled
in), so a test gives only what it is about and lets the module's own argument spec fill the rest; no test
restates a module default.
"""

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.meshlab.canary.plugins.module_utils._verdict import verdict_from_params
from ansible_collections.meshlab.canary.plugins.modules import traffic_ratio_info, traffic_split


def module_params(module, **args):
    """``args`` validated against ``module.argument_spec()``, with its defaults; fails on what it rejects."""
    result = ArgumentSpecValidator(module.argument_spec()).validate(args)
    if result.error_messages:
        raise AssertionError("the argument spec of {0} rejects {1!r}: {2}".format(
            module.__name__, args, "; ".join(result.error_messages)))
    return result.validated_parameters


def split_params(**args):
    return module_params(traffic_split, **args)


def ratio_params(**args):
    return module_params(traffic_ratio_info, **args)


def verdict(expected, **args):
    """A Verdict as traffic_ratio_info builds it: ``args`` plus the module's defaults."""
    return verdict_from_params(ratio_params(expected=expected, **args))
