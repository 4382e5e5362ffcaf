"""An in-memory kubeconfig's credentials never reach ``-v``/``-vvv`` output; the rest of it stays readable.

The kubeconfig option is ``type: raw``, so a play may pass the kubeconfig itself (a mapping) instead of a path.
The test builds that mapping from the local cluster's own kubeconfig, adds a second, unused user whose
``token`` and ``client-key-data`` are known secret-looking strings, and runs ``traffic_split`` (a real write, so
the mapping is what the module connected with) and ``traffic_ratio`` (fails: no client pods) with the default
callback at ``-v`` and ``-vvv``. Neither secret may appear anywhere in stdout or stderr. The cluster's server
URL and the namespace must appear as they are: a redaction that masks the whole option also masks every
short value of it (``v1``, ``Config``, names) wherever it occurs in the result.
"""

import os
import subprocess
import sys
import tempfile
import uuid

import pytest
import yaml

from conftest import INVENTORY, PLAY_TIMEOUT, PLAYBOOKS, REPO, SMI, get_object

TOKEN = "it-redaction-token-" + uuid.uuid4().hex
KEY_DATA = "aXQtcmVkYWN0aW9uLWtleS0" + uuid.uuid4().hex[:12]


def _kubeconfig_with_secrets():
    with open(os.environ["KUBECONFIG"]) as handle:
        data = yaml.safe_load(handle)
    data.setdefault("users", []).append({"name": "it-unused-user", "user": {"token": TOKEN, "client-key-data": KEY_DATA}})
    return data


def _run_verbose(playbook, extra_vars, verbosity):
    """``ansible-playbook -v...`` with the default callback; returns (rc, stdout + stderr)."""
    bindir = os.path.dirname(sys.executable)
    env = dict(os.environ)
    env.update(ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"), ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"),
               ANSIBLE_STDOUT_CALLBACK="ansible.builtin.default", ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               PATH=bindir + os.pathsep + env.get("PATH", ""))
    with tempfile.NamedTemporaryFile("w", suffix=".yml", prefix="it-vars-", delete=False) as handle:
        yaml.safe_dump(extra_vars, handle)
    try:
        proc = subprocess.run([os.path.join(bindir, "ansible-playbook"), "-" + "v" * verbosity, "-i", INVENTORY,
                               os.path.join(PLAYBOOKS, playbook + ".yml"), "-e", "@" + handle.name],
                              capture_output=True, text=True, env=env, timeout=PLAY_TIMEOUT, cwd=REPO, check=False)
    finally:
        os.unlink(handle.name)
    return proc.returncode, proc.stdout + proc.stderr


def _assert_redacted(output, kubeconfig, verbosity):
    assert TOKEN not in output, "the token of the in-memory kubeconfig is in the output"
    assert KEY_DATA not in output, "the client-key-data of the in-memory kubeconfig is in the output"
    if verbosity >= 3:  # the invocation (module_args) is shown: what is not a credential stays as it is
        assert "server: {0}".format(kubeconfig["clusters"][0]["cluster"]["server"]) in output, output[-3000:]
        assert "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER" in output, output[-3000:]


@pytest.mark.parametrize("verbosity", [1, 3], ids=["-v", "-vvv"])
def test_traffic_split_dict_kubeconfig(api, crds, custom, lab_services, verbosity):
    kubeconfig = _kubeconfig_with_secrets()
    name = "redaction-{0}".format(verbosity)
    rc, output = _run_verbose("traffic_split", {
        "it_name": name, "it_namespace": lab_services, "it_service": "backend-svc",
        "it_backends": [{"service": "backend-v1", "weight": 90}, {"service": "backend-v2", "weight": 10}],
        "it_kubeconfig": kubeconfig}, verbosity)
    assert rc == 0, output[-3000:]
    assert get_object(custom, SMI, lab_services, name) is not None, "the split was not written with the dict"
    _assert_redacted(output, kubeconfig, verbosity)


@pytest.mark.parametrize("verbosity", [1, 3], ids=["-v", "-vvv"])
def test_traffic_ratio_dict_kubeconfig_on_failure(api, namespace, verbosity):
    kubeconfig = _kubeconfig_with_secrets()
    extra_vars = {"it_namespace": namespace, "it_expected": {"1": 90, "2": 10}, "it_kubeconfig": kubeconfig}
    rc, output = _run_verbose("kubeconfig_redaction", extra_vars, verbosity)
    # the message names the namespace unmasked (a whole-option redaction masks any kubeconfig value in it)
    assert rc != 0 and "matches no pods in namespace {0}:".format(namespace) in output, output[-3000:]
    _assert_redacted(output, kubeconfig, verbosity)
