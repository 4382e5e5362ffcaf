"""The apps and minikube roles' defaults that follow the lab's mesh provider (service_mesh_provider).

``playbooks/provider_defaults.yml`` reads each role's defaults and vars with Ansible itself and renders them for a
provider: the sidecar container and the fix the apps role's sidecar check names, and the Kubernetes (and so
kubectl) version the minikube profile gets. The rendered values are checked against the facts they come from:
the Linkerd charts' kubeVersion (from the chart cache when it is there), the range of Kubernetes versions the
pinned minikube starts, and the token-projection flags the minikube module picks for that version.
"""

import json
import os
import re
import subprocess
import tarfile

import pytest
import yaml

from ansible_collections.meshlab.canary.plugins.module_utils._minikube import extra_config, parse_kubernetes_version

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "provider_defaults.yml")
MINIKUBE_DEFAULTS = os.path.join(REPO, "roles", "minikube", "defaults", "main.yml")

# minikube v1.36.0 (the pinned minikube_version): OldestKubernetesVersion and NewestKubernetesVersion in
# pkg/minikube/constants/constants.go at tag v1.36.0. Older versions are refused without --force; newer ones
# are not in its version list.
MINIKUBE_STARTS = {"v1.36.0": ((1, 20, 0), (1, 33, 1))}
# Linkerd edge-26.8.3's linkerd-crds and linkerd-control-plane Chart.yaml: kubeVersion '>=1.31.0-0'.
LINKERD_KUBE_MIN = (1, 31, 0)


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


def test_minikube_kubernetes_version_follows_the_provider(rendered):
    assert rendered["nsm"]["minikube_kubernetes_version"] == "v1.26.15"
    assert rendered["unset"]["minikube_kubernetes_version"] == "v1.26.15"
    assert rendered["linkerd"]["minikube_kubernetes_version"] == "v1.33.1"


@pytest.mark.parametrize("provider", ["nsm", "linkerd"])
def test_minikube_versions_are_ones_the_pinned_minikube_starts(rendered, provider):
    with open(MINIKUBE_DEFAULTS, encoding="utf-8") as handle:
        pinned = yaml.safe_load(handle)["minikube_version"]
    oldest, newest = MINIKUBE_STARTS[pinned]
    version = parse_kubernetes_version(rendered[provider]["minikube_kubernetes_version"])
    assert oldest <= version <= newest, (provider, version, pinned)


def test_minikube_linkerd_version_meets_the_charts_kube_version(rendered):
    assert parse_kubernetes_version(rendered["linkerd"]["minikube_kubernetes_version"]) >= LINKERD_KUBE_MIN
    assert parse_kubernetes_version(rendered["nsm"]["minikube_kubernetes_version"]) < LINKERD_KUBE_MIN


def test_minikube_linkerd_kube_version_is_the_cached_charts():
    proc = subprocess.run([os.path.join(REPO, "tests", "fixtures", "chart-cache-dir")], capture_output=True,
                          text=True, timeout=30, check=False)
    cache = proc.stdout.strip()
    charts = [os.path.join(cache, name) for name in ("linkerd-crds-2026.8.3.tgz", "linkerd-control-plane-2026.8.3.tgz")]
    if not cache or not all(os.path.isfile(path) for path in charts):
        pytest.skip("no Linkerd charts in the chart cache (%s)" % (proc.stderr.strip() or cache))
    for path in charts:
        with tarfile.open(path) as archive:
            member = next(m for m in archive.getmembers() if re.fullmatch(r"[^/]+/Chart\.yaml", m.name))
            chart = yaml.safe_load(archive.extractfile(member))
        assert chart["kubeVersion"] == ">=%d.%d.%d-0" % LINKERD_KUBE_MIN, (path, chart["kubeVersion"])


@pytest.mark.parametrize("provider", ["nsm", "linkerd"])
def test_minikube_kubectl_follows_the_version_and_its_checksum_file(rendered, provider):
    values = rendered[provider]
    version = values["minikube_kubernetes_version"]
    assert values["minikube_kubectl_version"] == version
    assert "/release/%s/bin/" % version in values["minikube_kubectl_url"]
    # Not a pinned digest: the .sha256 file published beside that very release, so a new version needs no new pin.
    assert values["minikube_kubectl_checksum"] == "sha256:%s.sha256" % values["minikube_kubectl_url"]


@pytest.mark.parametrize("provider", ["nsm", "linkerd"])
def test_minikube_token_projection_flags_for_the_providers_version(rendered, provider):
    flags = extra_config(rendered[provider]["minikube_kubernetes_version"],
                         {"issuer": "kubernetes/serviceaccount", "signing_key_file": "/var/lib/minikube/certs/sa.key",
                          "key_file": "/var/lib/minikube/certs/sa.pub", "audiences": ["api"]})
    assert "apiserver.api-audiences=api" in flags
    assert not [flag for flag in flags if flag.startswith("apiserver.service-account-api-audiences")]
    assert "apiserver.service-account-issuer=kubernetes/serviceaccount" in flags


@pytest.mark.parametrize("role, name", [("apps", "__apps_providers"), ("minikube", "__minikube_providers")])
def test_apps_and_minikube_provider_tables_know_the_same_providers(role, name):
    assert sorted(_role_vars(role)[name]) == ["linkerd", "nsm"]


def test_apps_refuses_an_unknown_provider_by_name(tmp_path):
    proc, values = render(tmp_path, ["istio"])
    assert proc.returncode != 0 and values is None
    assert ('service_mesh_provider is "istio", which the apps role does not know: set it to one of nsm, linkerd, '
            'or set apps_sidecar_container and apps_sidecar_hint') in proc.stdout, proc.stdout


def test_minikube_refuses_an_unknown_provider_by_name(tmp_path):
    # The apps role's values given: what remains is the minikube role's Kubernetes version.
    proc, values = render(tmp_path, ["istio"], apps_sidecar_container="istio-proxy", apps_sidecar_hint="label it")
    assert proc.returncode != 0 and values is None
    assert ('service_mesh_provider is "istio", which the minikube role does not know: set it to one of nsm, linkerd, '
            'or set minikube_kubernetes_version') in proc.stdout, proc.stdout
