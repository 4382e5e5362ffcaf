"""Which kubectl (and helm) the minikube role takes as its own, and when it replaces kubectl.

``playbooks/minikube_tool_versions.yml`` reads the role's defaults and vars with Ansible itself, gives them the
tools the preflight module found and the role's version stamps, and writes what install.yml decides: kubectl is
installed when none is found, or when the copy the role stamped in minikube_bin_dir is at another version than
minikube_kubectl_version (it follows minikube_kubernetes_version, and so the mesh provider). Any other kubectl,
and an unstamped one, is left alone. A minikube_bin_dir with a trailing slash names the same directory.
"""

import json
import os
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "minikube_tool_versions.yml")


def _kubectl(path, version=None):
    return {"kubectl": {"found": bool(path), "path": path, "version": version}}


# name: (found tools, stamps, provider, bin dir suffix); {bin} is the case's bin dir.
CASES = {
    "missing": (_kubectl(None), {}, "linkerd", ""),
    "own-other-version": (_kubectl("{bin}/kubectl", "v1.26.15"), {"kubectl": "v1.26.15"}, "linkerd", ""),
    "own-other-version-slash": (_kubectl("{bin}/kubectl", "v1.26.15"), {"kubectl": "v1.26.15"}, "linkerd", "/"),
    "own-wanted-version": (_kubectl("{bin}/kubectl", "v1.26.15"), {"kubectl": "v1.26.15"}, "nsm", ""),
    "users-kubectl": (_kubectl("/usr/bin/kubectl"), {}, "linkerd", ""),
    "own-unstamped": (_kubectl("{bin}/kubectl"), {}, "linkerd", ""),
    "helm": ({"helm": {"found": True, "path": "{bin}/helm", "version": "v3.19.3"}}, {"helm": "v3.19.3"}, "nsm", ""),
    "helm-slash": ({"helm": {"found": True, "path": "{bin}/helm", "version": "v3.19.3"}}, {"helm": "v3.19.3"}, "nsm",
                   "/"),
}


@pytest.fixture(scope="module")
def decided(tmp_path_factory):
    root = tmp_path_factory.mktemp("tools")
    cases = []
    for name, (found, stamps, provider, suffix) in CASES.items():
        bin_dir, download = root / name / "bin", root / name / "cache"
        download.mkdir(parents=True)
        for tool, version in stamps.items():
            (download / ("%s.version" % tool)).write_text(version + "\n")
        found = json.loads(json.dumps(found).replace("{bin}", str(bin_dir)))
        cases.append({"name": name, "bin_dir": str(bin_dir) + suffix, "download_dir": str(download),
                      "provider": provider, "found": found})
    out = root / "decisions.json"
    varfile = root / "vars.json"
    varfile.write_text(json.dumps({"minikube_tool_versions_out": str(out), "minikube_tool_versions_cases": cases}))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(["ansible-playbook", PLAYBOOK, "-e", "@" + str(varfile)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and out.exists(), proc.stdout + proc.stderr
    result = json.loads(out.read_text())
    assert sorted(result) == sorted(CASES)
    return result


def test_minikube_installs_a_missing_kubectl_at_the_providers_version(decided):
    assert decided["missing"]["kubectl_install"] is True
    assert decided["missing"]["kubectl_version"] == "v1.33.1"


@pytest.mark.parametrize("case", ["own-other-version", "own-other-version-slash"])
def test_minikube_replaces_its_own_kubectl_when_the_provider_changes(decided, case):
    # The preflight reports the stamped copy with the stamp's version (known_versions), never running it.
    assert decided[case]["known_versions"]["kubectl"]["version"] == "v1.26.15"
    assert decided[case]["tool_versions"]["kubectl"] == "v1.26.15"
    assert decided[case]["kubectl_install"] is True


def test_minikube_keeps_its_own_kubectl_at_the_wanted_version(decided):
    assert decided["own-wanted-version"]["kubectl_version"] == "v1.26.15"
    assert decided["own-wanted-version"]["kubectl_install"] is False


def test_minikube_leaves_other_kubectls_alone(decided):
    # On PATH elsewhere: the user's (version unknown: kubectl is never run).
    assert decided["users-kubectl"]["tool_versions"]["kubectl"] == ""
    assert decided["users-kubectl"]["kubectl_install"] is False


def test_minikube_leaves_an_unstamped_kubectl_in_its_bin_dir_alone(decided):
    assert "kubectl" not in decided["own-unstamped"]["known_versions"]
    assert decided["own-unstamped"]["tool_versions"]["kubectl"] == ""
    assert decided["own-unstamped"]["kubectl_install"] is False


@pytest.mark.parametrize("case", ["helm", "helm-slash"])
def test_minikube_helm_in_its_bin_dir_counts_with_or_without_a_trailing_slash(decided, case):
    assert decided[case]["known_versions"]["helm"]["version"] == "v3.19.3"
    assert decided[case]["tool_versions"]["helm"] == "v3.19.3"
