# -*- coding: utf-8 -*-
# Copyright: meshlab.canary contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

# This module_utils file is PRIVATE to the meshlab.canary collection: its functions can change at
# any time without notice. Do not import it from other collections or from standalone modules.

"""The minikube CLI as pure functions: parse its JSON, plan a profile, build the argv.

Nothing here imports AnsibleModule. Errors are raised as MinikubeError; the module converts them
once into fail_json. The only side effect is through the injected ``run`` callable of MinikubeCli
(module.run_command in the module, a recording fake in the tests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re

# First Kubernetes minor release without --service-account-api-audiences (kubernetes/kubernetes#108624).
AUDIENCES_RENAMED_IN = (1, 25)
# minikube's profile-list status names (pkg/minikube/cluster/status.go codeNames) that mean "serving";
# "Running" is what releases before the status codes printed.
RUNNING_PROFILE_STATES = ("OK", "HAppy", "Running")
# Extra options this module owns in a profile: a profile carrying one of them that is not wanted drifts.
MANAGED_EXTRA_PREFIXES = ("apiserver.service-account-", "apiserver.api-audiences")
# Settings compared between a profile and the request, in report order.
SETTINGS = ("driver", "cpus", "memory_mb", "kubernetes_version", "container_runtime")

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")
_VERSION_IN_OUTPUT = re.compile(r"v?(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)")
_EXTRA = re.compile(r"^[a-z][a-z-]*\.[A-Za-z0-9][A-Za-z0-9._-]*=.*$")


class MinikubeError(Exception):
    """A request that cannot be carried out; ``fields`` go into the failure result."""

    def __init__(self, msg, **fields):
        super(MinikubeError, self).__init__(msg)
        self.fields = fields


# ---------------------------------------------------------------------------------------------
# versions and flags


def parse_kubernetes_version(version, field="kubernetes_version"):
    """(major, minor, patch) of a string such as v1.26.15; MinikubeError naming ``field`` otherwise."""
    if not isinstance(version, str):
        raise MinikubeError("%s: expected a string such as 'v1.26.15', got %r" % (field, version))
    match = _VERSION.match(version.strip())
    if not match:
        raise MinikubeError("%s: %r is not a Kubernetes version; use the form v1.26.15" % (field, version))
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def normalise_version(version):
    """'1.26.15' and 'v1.26.15' compare equal: minikube stores the v form."""
    text = str(version or "").strip()
    if text and not text.startswith("v"):
        text = "v" + text
    return text


def audiences_key(version):
    """The apiserver flag (without component) that sets the API audiences on this Kubernetes version."""
    major, minor, _patch = parse_kubernetes_version(version)
    if (major, minor) >= AUDIENCES_RENAMED_IN:
        return "api-audiences"
    return "service-account-api-audiences"


def extra_config(version, service_account=None, extra=None):
    """The ``--extra-config`` values (without the prefix) for token projection plus ``extra``, version-aware."""
    service_account = service_account or {}
    audiences = service_account.get("audiences") or []
    if isinstance(audiences, str):
        audiences = [audiences]
    audiences = [str(item) for item in audiences if str(item)]
    result = []
    for name in ("signing_key_file", "key_file", "issuer"):
        value = service_account.get(name)
        if value:
            result.append("apiserver.service-account-%s=%s" % (name.replace("_", "-"), value))
    key = audiences_key(version) if version else None
    if audiences and key is None:
        raise MinikubeError("service_account.audiences needs kubernetes_version: the flag that sets them "
                            "depends on it (apiserver.api-audiences from Kubernetes 1.25 on)")
    if audiences:
        result.append("apiserver.%s=%s" % (key, ",".join(audiences)))
    for item in extra or []:
        if not isinstance(item, str) or not _EXTRA.match(item):
            raise MinikubeError("extra_config: %r is not of the form component.key=value "
                                "(for example kubelet.max-pods=150)" % (item,))
        if item.startswith("apiserver.service-account-api-audiences=") and key == "api-audiences":
            raise MinikubeError("extra_config: apiserver.service-account-api-audiences was removed in Kubernetes 1.25 "
                                "and %s would not start; use service_account.audiences instead" % version)
        result.append(item)
    return result


def split_extra(items):
    """['apiserver.x=1'] -> {'apiserver.x': '1'} (later entries win, as with minikube)."""
    result = {}
    for item in items or []:
        key, sep, value = str(item).partition("=")
        if not sep:
            raise MinikubeError("extra_config: %r is not component.key=value" % (item,))
        result[key] = value
    return result


def parse_tool_version(text):
    """The version a tool prints: ``minikube version --output=json`` or a text form such as
    'minikube version: v1.35.0' or helm's 'v3.19.3+g1a2b3c4' (build metadata dropped); None when
    there is none. Always in the v form."""
    text = (text or "").strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and data.get("minikubeVersion"):
        text = str(data["minikubeVersion"])
    match = _VERSION_IN_OUTPUT.search(text)
    return normalise_version(match.group(1)) if match else None


def parse_supported_versions(text):
    """The list ``minikube config defaults kubernetes-version --output=json`` prints (newest first), or None."""
    try:
        data = json.loads((text or "").strip())
    except ValueError:
        return None
    if not isinstance(data, list):
        return None
    return [normalise_version(item) for item in data if isinstance(item, str)]


def _release_key(version):
    match = _VERSION.match(version or "")
    if not match:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def version_support_problem(kubernetes_version, supported, minikube_version):
    """A message when the wanted Kubernetes version is older than the oldest this minikube starts, else None.

    minikube refuses such versions without --force (cmd/minikube/cmd/start.go, KubernetesTooOld); the check is made
    before anything is changed so the failure names the fix.
    """
    if not kubernetes_version or not supported:
        return None
    releases = [key for key in (_release_key(item) for item in supported if "-" not in item) if key]
    if not releases:
        return None
    oldest, newest = min(releases), max(releases)
    wanted = parse_kubernetes_version(kubernetes_version)
    if wanted >= oldest:
        return None
    return ("kubernetes_version %s is older than minikube %s supports (v%d.%d.%d to v%d.%d.%d) and minikube start "
            "would refuse it; pin a minikube release that supports it (minikube v1.36.0 starts v1.20.0 and later) "
            "or choose a newer kubernetes_version. Nothing was changed."
            % (normalise_version(kubernetes_version), minikube_version or "(unknown version)",
               oldest[0], oldest[1], oldest[2], newest[0], newest[1], newest[2]))


# ---------------------------------------------------------------------------------------------
# reading minikube's state


def parse_profile_list(stdout, rc=0, stderr=""):
    """``minikube profile list --output=json`` -> {'valid': [...], 'invalid': [...]}.

    No profile at all is ``{"invalid": [], "valid": []}`` (minikube >= 1.2x) or an error object naming
    MK_USAGE_NO_PROFILE (older releases); anything else that is not JSON is an operational error.
    """
    text = (stdout or "").strip()
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        raise MinikubeError("minikube profile list printed no JSON (rc %s): %s"
                            % (rc, _tail(stderr) or _tail(stdout) or "no output"), rc=rc)
    if not isinstance(data, dict):
        raise MinikubeError("minikube profile list printed %s, not a JSON object" % type(data).__name__, rc=rc)
    if "error" in data and not data.get("valid"):
        error = data.get("error") or {}
        message = json.dumps(error, sort_keys=True) if not isinstance(error, str) else error
        if "no minikube profile" in message.lower() or "MK_USAGE_NO_PROFILE" in message:
            return {"valid": [], "invalid": []}
        raise MinikubeError("minikube profile list failed: %s" % message, rc=rc)
    if rc not in (0, None) and not data:
        raise MinikubeError("minikube profile list failed (rc %s): %s" % (rc, _tail(stderr) or "no output"), rc=rc)
    return {"valid": list(data.get("valid") or []), "invalid": list(data.get("invalid") or [])}


def find_profile(profiles, name):
    """(entry, invalid) of the named profile, or (None, False)."""
    for entry in profiles.get("valid") or []:
        if entry.get("Name") == name:
            return entry, False
    for entry in profiles.get("invalid") or []:
        if entry.get("Name") == name:
            return entry, True
    return None, False


def parse_status(stdout):
    """``minikube status --output=json``: one object for one node, a list for several; None when not JSON."""
    text = (stdout or "").strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and "Host" in data:
        return [data]
    if isinstance(data, list) and all(isinstance(item, dict) and "Host" in item for item in data) and data:
        return data
    return None


def status_running(nodes):
    """True when every node's host and kubelet run and every control plane's API server runs; None if unknown."""
    if not nodes:
        return None
    for node in nodes:
        if node.get("Host") != "Running" or node.get("Kubelet") != "Running":
            return False
        if not node.get("Worker") and node.get("APIServer") != "Running":
            return False
    return True


def describe_status(nodes, listed):
    if nodes:
        first = nodes[0]
        return "host %s, kubelet %s, apiserver %s" % (first.get("Host", "?"), first.get("Kubelet", "?"),
                                                      first.get("APIServer", "?"))
    return str(listed or "Unknown")


def profile_settings(config):
    """The compared settings of a profile's ``Config`` (minikube's ClusterConfig)."""
    config = config or {}
    kube = config.get("KubernetesConfig") or {}
    options = ["%s.%s=%s" % (option.get("Component", ""), option.get("Key", ""), option.get("Value", ""))
               for option in kube.get("ExtraOptions") or []]
    return {
        "driver": config.get("Driver"),
        "cpus": config.get("CPUs"),
        "memory_mb": config.get("Memory"),
        "kubernetes_version": normalise_version(kube.get("KubernetesVersion")) or None,
        "container_runtime": kube.get("ContainerRuntime") or None,
        "extra_config": options,
    }


# ---------------------------------------------------------------------------------------------
# wanted settings, drift and the plan


def desired_settings(params):
    """The request as settings: None means "not asked for" (minikube's default, never compared)."""
    version = params.get("kubernetes_version") or None
    if version:
        parse_kubernetes_version(version)
    for name in ("cpus", "memory_mb"):
        value = params.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise MinikubeError("%s: expected a whole number of at least 1, got %r" % (name, value))
    return {
        "driver": params.get("driver") or None,
        "cpus": params.get("cpus"),
        "memory_mb": params.get("memory_mb"),
        "kubernetes_version": normalise_version(version) or None,
        "container_runtime": params.get("container_runtime") or None,
        "extra_config": extra_config(version, params.get("service_account"), params.get("extra_config")),
    }


def _managed(current_options, wanted):
    """The profile's extra options that are compared: the wanted keys and the token-projection ones."""
    return [item for item in current_options
            if item.partition("=")[0] in wanted or item.partition("=")[0].startswith(MANAGED_EXTRA_PREFIXES)]


def profile_drift(current, desired):
    """Human-readable differences between a profile's settings and the request (asked-for settings only)."""
    drift = []
    for name in SETTINGS:
        wanted = desired.get(name)
        if wanted in (None, ""):
            continue
        have = current.get(name)
        if str(have) != str(wanted):
            drift.append("%s: profile has %s, wanted %s" % (name, have if have not in (None, "") else "(unset)", wanted))
    wanted = split_extra(desired.get("extra_config"))
    have = split_extra(_managed(current.get("extra_config") or [], wanted))
    for key in wanted:
        if key not in have:
            drift.append("extra-config %s: not set in profile, wanted %s" % (key, wanted[key]))
        elif have[key] != wanted[key]:
            drift.append("extra-config %s: profile has %s, wanted %s" % (key, have[key], wanted[key]))
    for key in sorted(have):
        if key not in wanted:
            drift.append("extra-config %s: profile has %s, not wanted" % (key, have[key]))
    return drift


def _view(settings, desired, state):
    """The diff view of a profile: the asked-for settings (and the token-projection options), plus its state."""
    wanted_keys = split_extra(desired.get("extra_config"))
    view = dict((name, settings.get(name)) for name in SETTINGS if desired.get(name) not in (None, ""))
    view["extra_config"] = _managed(settings.get("extra_config") or [], wanted_keys)
    view["state"] = state
    return view


def plan_profile(profiles, status_nodes, profile, desired, state="present", recreate=False):
    """What to do with a profile: create, start, stop, delete, recreate, conflict or none.

    ``profiles`` is parse_profile_list's result, ``status_nodes`` parse_status's (or None). Returns a dict with
    ``action``, ``changed``, ``exists``, ``running``, ``status``, ``drift``, ``message`` and the diff ``before``/``after``.
    """
    entry, invalid = find_profile(profiles, profile)
    if entry is None:
        before = {"state": "absent"}
        if state == "present":
            after = dict((name, desired.get(name)) for name in SETTINGS if desired.get(name) not in (None, ""))
            after.update(extra_config=list(desired.get("extra_config") or []), state="running")
            return _plan("create", before, after, exists=False, running=False, status="absent",
                         message="profile %s does not exist; it will be created and started" % profile)
        return _plan("none", before, before, exists=False, running=False, status="absent",
                     message="profile %s does not exist; nothing to %s" % (profile, "stop" if state == "stopped" else "delete"))

    listed = entry.get("Status")
    running = status_running(status_nodes)
    if running is None:
        running = (not invalid) and listed in RUNNING_PROFILE_STATES
    status = "invalid" if invalid else describe_status(status_nodes, listed)
    current = profile_settings(entry.get("Config"))
    now = "running" if running else "stopped"
    before = _view(current, desired, now)

    if state == "absent":
        return _plan("delete", before, {"state": "absent"}, exists=True, running=running, status=status,
                     message="profile %s (%s) will be deleted" % (profile, status))
    if state == "stopped":
        if running:
            after = dict(before, state="stopped")
            return _plan("stop", before, after, exists=True, running=True, status=status,
                         message="profile %s runs (%s); it will be stopped" % (profile, status))
        return _plan("none", before, before, exists=True, running=False, status=status,
                     message="profile %s is not running (%s)" % (profile, status))

    drift = ["profile is listed as invalid by minikube"] if invalid else []
    drift.extend(profile_drift(current, desired))
    if drift:
        after = dict((name, desired.get(name)) for name in SETTINGS if desired.get(name) not in (None, ""))
        after.update(extra_config=list(desired.get("extra_config") or []), state="running")
        if recreate:
            return _plan("recreate", before, after, exists=True, running=running, status=status, drift=drift,
                         message="profile %s differs from the wanted settings and will be deleted and created again: %s"
                         % (profile, "; ".join(drift)))
        return _plan("conflict", before, after, exists=True, running=running, status=status, drift=drift,
                     message="profile %s exists with other settings: %s. Nothing was changed. Delete it "
                     "(minikube delete -p %s), pick another profile, or allow recreate (recreate=true)"
                     % (profile, "; ".join(drift), profile))
    if running:
        return _plan("none", before, before, exists=True, running=True, status=status,
                     message="profile %s is running with the wanted settings" % profile)
    return _plan("start", before, dict(before, state="running"), exists=True, running=False, status=status,
                 message="profile %s has the wanted settings but is not running (%s); it will be started" % (profile, status))


def _plan(action, before, after, exists, running, status, message, drift=None):
    return {"action": action, "changed": action not in ("none", "conflict"), "exists": exists,
            "running": bool(running), "status": status, "drift": drift or [], "message": message,
            "before": before, "after": after}


# ---------------------------------------------------------------------------------------------
# argv


def start_argv(binary, profile, desired, params):
    argv = [binary, "start", "--profile=%s" % profile]
    if desired.get("driver"):
        argv.append("--driver=%s" % desired["driver"])
    if desired.get("cpus") is not None:
        argv.append("--cpus=%d" % desired["cpus"])
    if desired.get("memory_mb") is not None:
        argv.append("--memory=%dmb" % desired["memory_mb"])
    if params.get("disk_size"):
        argv.append("--disk-size=%s" % params["disk_size"])
    if desired.get("kubernetes_version"):
        argv.append("--kubernetes-version=%s" % desired["kubernetes_version"])
    if desired.get("container_runtime"):
        argv.append("--container-runtime=%s" % desired["container_runtime"])
    argv.append("--wait=all")
    if params.get("wait_timeout") is not None:
        argv.append("--wait-timeout=%ds" % params["wait_timeout"])
    argv.extend("--extra-config=%s" % item for item in desired.get("extra_config") or [])
    return argv


def stop_argv(binary, profile):
    return [binary, "stop", "--profile=%s" % profile]


def delete_argv(binary, profile):
    return [binary, "delete", "--profile=%s" % profile]


# ---------------------------------------------------------------------------------------------
# the CLI and the whole operation


def _tail(text, lines=5):
    text = (text or "").strip()
    return "\n".join(text.splitlines()[-lines:]) if text else ""


class MinikubeCli(object):
    """The minikube binary behind an injected ``run(argv) -> (rc, stdout, stderr)`` (module.run_command)."""

    def __init__(self, run, binary):
        self.run = run
        self.binary = binary
        self.commands = []

    def read(self, *args):
        """A read-only call: never recorded as a change, rc returned to the caller."""
        return self.run([self.binary] + list(args))

    def change(self, argv, what):
        """A call that changes the profile; a non-zero rc is a MinikubeError with minikube's own words."""
        self.commands.append(argv)
        rc, out, err = self.run(argv)
        if rc != 0:
            raise MinikubeError("%s failed (rc %d): %s" % (what, rc, _tail(err) or _tail(out) or "no output"),
                                rc=rc, stdout=out, stderr=err, cmd=argv)
        return out


def read_state(cli, profile):
    """(minikube version, profiles, status nodes or None) of the named profile."""
    rc, out, _err = cli.read("version", "--output=json")
    version = parse_tool_version(out) if rc == 0 else None
    rc, out, err = cli.read("profile", "list", "--output=json")
    profiles = parse_profile_list(out, rc, err)
    entry, invalid = find_profile(profiles, profile)
    nodes = None
    if entry is not None and not invalid:
        # minikube status exits non-zero when something is not running; its JSON still says what.
        _rc, out, _err = cli.read("status", "--profile=%s" % profile, "--output=json")
        nodes = parse_status(out)
    return version, profiles, nodes


def ensure_profile(cli, params, check_mode=False):
    """Bring the profile to ``params['state']``; returns the module result (without ``diff`` unless asked)."""
    profile = params["profile"]
    state = params.get("state") or "present"
    desired = desired_settings(params) if state == "present" else {
        "extra_config": [], "driver": None, "cpus": None, "memory_mb": None,
        "kubernetes_version": None, "container_runtime": None}
    version, profiles, nodes = read_state(cli, profile)
    plan = plan_profile(profiles, nodes, profile, desired, state=state, recreate=bool(params.get("recreate")))
    result = {"changed": plan["changed"], "action": plan["action"], "message": plan["message"],
              "profile": profile, "status": plan["status"], "drift": plan["drift"], "minikube_version": version,
              "diff": {"before": plan["before"], "after": plan["after"]}}
    refused = dict(result)
    refused.update(changed=False, commands=[])
    if plan["action"] == "conflict":
        raise MinikubeError(plan["message"], **refused)
    if plan["action"] in ("create", "start", "recreate"):
        rc, out, _err = cli.read("config", "defaults", "kubernetes-version", "--output=json")
        problem = version_support_problem(desired.get("kubernetes_version"),
                                          parse_supported_versions(out) if rc == 0 else None, version)
        if problem:
            raise MinikubeError(problem, **refused)

    steps = []
    if plan["action"] in ("delete", "recreate"):
        steps.append((delete_argv(cli.binary, profile), "minikube delete"))
    if plan["action"] in ("create", "start", "recreate"):
        steps.append((start_argv(cli.binary, profile, desired, params), "minikube start"))
    if plan["action"] == "stop":
        steps.append((stop_argv(cli.binary, profile), "minikube stop"))
    result["commands"] = [argv for argv, _what in steps]
    if check_mode:
        return result
    for argv, what in steps:
        try:
            cli.change(argv, what)
        except MinikubeError as exc:
            if plan["action"] == "recreate" and what == "minikube start":
                exc.args = ("%s (the old profile %s was already deleted)" % (exc.args[0], profile),)
            exc.fields.update(changed=bool(cli.commands[:-1]), action=plan["action"], profile=profile,
                              commands=list(cli.commands))
            raise
    return result


def preview_without_minikube(params):
    """Check mode on a host where minikube is not installed yet (the play installs it first): the plan as if
    no profile existed, so ``--check`` previews a fresh machine instead of failing."""
    profile, state = params["profile"], params.get("state") or "present"
    desired = desired_settings(params) if state == "present" else {"extra_config": []}
    plan = plan_profile({"valid": [], "invalid": []}, None, profile, desired, state=state)
    commands = [start_argv("minikube", profile, desired, params)] if plan["action"] == "create" else []
    return {"changed": plan["changed"], "action": plan["action"], "profile": profile, "status": "absent",
            "drift": [], "commands": commands, "minikube_version": None,
            "message": "minikube is not installed (yet); %s" % plan["message"],
            "diff": {"before": plan["before"], "after": plan["after"]}}
