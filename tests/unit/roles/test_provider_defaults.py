"""The apps role's defaults that follow the lab's mesh provider (service_mesh_provider).

``playbooks/provider_defaults.yml`` reads the role's defaults and vars with Ansible itself and renders them for a
provider: the sidecar container and the fix the apps role's sidecar check names.
"""

import json
import os
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "provider_defaults.yml")


def render(tmp_path, providers, **extra):
    out = tmp_path / "defaults.json"
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(dict(extra, provider_defaults_out=str(out), provider_defaults_providers=providers)))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1")
    proc = subprocess.run(["ansible-playbook", PLAYBOOK, "-e", "@" + str(varfile)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return proc, (json.loads(out.read_text()) if out.exists() else None)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    proc, values = render(tmp_path_factory.mktemp("provider"), ["nsm", "linkerd"])
    assert proc.returncode == 0 and values, proc.stdout + proc.stderr
    assert sorted(values) == ["linkerd", "nsm", "unset"]
    return values


def _role_vars(role):
    with open(os.path.join(REPO, "roles", role, "vars", "main.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def test_apps_sidecar_follows_the_provider(rendered):
    assert rendered["nsm"]["apps_sidecar_container"] == "nginx-mesh-sidecar"
    assert rendered["linkerd"]["apps_sidecar_container"] == "linkerd-proxy"
    assert rendered["unset"]["apps_sidecar_container"] == "nginx-mesh-sidecar"


def test_apps_sidecar_hint_follows_the_provider(rendered):
    # NSM's text is the one the filter used to hard-code.
    assert rendered["nsm"]["apps_sidecar_hint"] == (
        "the namespace lacks the label injector.nsm.nginx.com/auto-inject=enabled or the pod was created before it "
        "was set; label the namespace, then restart the workload (kubectl rollout restart)")
    assert rendered["unset"]["apps_sidecar_hint"] == rendered["nsm"]["apps_sidecar_hint"]
    linkerd = rendered["linkerd"]["apps_sidecar_hint"]
    assert "annotation linkerd.io/inject: enabled" in linkerd and "kubectl rollout restart" in linkerd
    assert "injector.nsm.nginx.com" not in linkerd


def test_apps_sidecar_check_passes_the_hint_to_the_filter():
    with open(os.path.join(REPO, "roles", "apps", "tasks", "sidecars.yml"), encoding="utf-8") as handle:
        text = handle.read()
    assert "meshlab.canary.sidecar_problems(apps_sidecar_container, apps_sidecar_hint)" in text


def test_apps_provider_table_knows_nsm_and_linkerd():
    assert sorted(_role_vars("apps")["__apps_providers"]) == ["linkerd", "nsm"]


def test_apps_refuses_an_unknown_provider_by_name(tmp_path):
    proc, values = render(tmp_path, ["istio"])
    assert proc.returncode != 0 and values is None
    assert ('service_mesh_provider is "istio", which the apps role does not know: set it to one of nsm, linkerd, '
            'or set apps_sidecar_container and apps_sidecar_hint') in proc.stdout, proc.stdout

