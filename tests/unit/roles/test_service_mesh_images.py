"""The images the mesh releases pull (NGINX Service Mesh, Linkerd), rendered from the real charts by the role itself.

Runs the service_mesh role's chart, post-renderer and image tasks (``playbooks/release_images.yml``) on the
cached, digest-verified ``nginx-service-mesh-2.0.0.tgz`` with the role's defaults, then checks the exact list
and that every image points at a repository where it is published (facts: shared/reference/nsm-facts.md §9,
read in the upstream release scripts, not checked against live registries).

Needs helm (the one ``tests/cluster/localcluster build`` makes, or any on PATH) and the chart cache
(``tests/fixtures/chart-cache-dir``: ``../shared/charts`` beside the checkout, or MESHLAB_CACHE_DIR). Without them the tests are skipped, unless
MESHLAB_REQUIRE_CHART_RENDER=1 (the cluster suite 10-smoke sets it), which turns that into a failure.
"""

import base64
import hashlib
import json
import os
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
PLAYBOOK = os.path.join(os.path.dirname(os.path.abspath(__file__)), "playbooks", "release_images.yml")
DEFAULTS = os.path.join(REPO, "roles", "service_mesh", "defaults", "main.yml")


def _cache_dir():
    """tests/fixtures/chart-cache-dir: $MESHLAB_CACHE_DIR or ../shared/charts beside the checkout."""
    proc = subprocess.run([os.path.join(REPO, "tests", "fixtures", "chart-cache-dir")], capture_output=True,
                          text=True, timeout=30, check=False)
    return proc.stdout.strip(), proc.stderr.strip()


CACHE, CACHE_PROBLEM = _cache_dir()

# Where each repository publishes which tags (nsm-facts §9). A repository absent here, or a tag it does not
# publish, is an image the cluster cannot pull.
PUBLISHED = {
    "docker-registry.nginx.com/nsm/nginx-mesh-controller": {"2.0.0"},
    "docker-registry.nginx.com/nsm/nginx-mesh-metrics": {"2.0.0"},
    "docker-registry.nginx.com/nsm/nginx-mesh-cert-reloader": {"2.0.0"},
    "docker-registry.nginx.com/nsm/nginx-mesh-sidecar": {"2.0.0"},
    "docker-registry.nginx.com/nsm/nginx-mesh-init": {"2.0.0"},
    # SPIRE v1.5.6 release script: server, agent (and oidc-discovery-provider) to ghcr.io/spiffe ...
    "ghcr.io/spiffe/spire-server": {"1.5.6"},
    "ghcr.io/spiffe/spire-agent": {"1.5.6"},
    "ghcr.io/spiffe/oidc-discovery-provider": {"1.5.6"},
    # ... while k8s-workload-registrar was published to gcr.io only (removed in SPIRE 1.6).
    "gcr.io/spiffe-io/spire-server": {"1.5.6"},
    "gcr.io/spiffe-io/spire-agent": {"1.5.6"},
    "gcr.io/spiffe-io/k8s-workload-registrar": {"1.5.6"},
    "nats": {"2.9-alpine"},
    "curlimages/curl": {"latest"},
    # Bitnami's free tier keeps only an unversioned latest.
    "bitnami/kubectl": {"latest"},
}

EXPECTED = [
    "bitnami/kubectl",
    "curlimages/curl",
    "docker-registry.nginx.com/nsm/nginx-mesh-cert-reloader:2.0.0",
    "docker-registry.nginx.com/nsm/nginx-mesh-controller:2.0.0",
    "docker-registry.nginx.com/nsm/nginx-mesh-init:2.0.0",
    "docker-registry.nginx.com/nsm/nginx-mesh-metrics:2.0.0",
    "docker-registry.nginx.com/nsm/nginx-mesh-sidecar:2.0.0",
    "gcr.io/spiffe-io/k8s-workload-registrar:1.5.6",
    "ghcr.io/spiffe/spire-agent:1.5.6",
    "ghcr.io/spiffe/spire-server:1.5.6",
    "nats:2.9-alpine",
]


def _helm_dir():
    if shutil.which("helm"):
        return None
    try:
        out = subprocess.run([os.path.join(REPO, "tests", "cluster", "localcluster"), "bindir"],
                             capture_output=True, text=True, timeout=30, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if os.path.isfile(os.path.join(out, "helm")) else None


def _need(condition, why):
    if condition:
        return
    if os.environ.get("MESHLAB_REQUIRE_CHART_RENDER") == "1":
        pytest.fail(why)
    pytest.skip(why)


def render(tmp_path, verbose=False, **extra):
    """Run the role's image tasks (``-v`` when verbose); return (process, the written result or None)."""
    helm_dir = _helm_dir()
    _need(shutil.which("helm") or helm_dir, "no helm: run tests/cluster/localcluster build (or put helm on PATH)")
    _need(CACHE, CACHE_PROBLEM)
    out = tmp_path / "images.json"
    variables = {"release_images_out": str(out), "meshlab_cache_dir": CACHE,
                 "service_mesh_work_dir": str(tmp_path / "work")}
    variables.update(extra)
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1")
    if helm_dir:
        env["PATH"] = helm_dir + os.pathsep + env["PATH"]
    proc = subprocess.run(["ansible-playbook", PLAYBOOK, "-e", "@" + str(varfile)] + (["-v"] if verbose else []), cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    return proc, (json.loads(out.read_text()) if out.exists() else None)


def repository_and_tag(image):
    repository, tag = image, "latest"
    if ":" in image.rsplit("/", 1)[-1]:
        repository, tag = image.rsplit(":", 1)
    return repository, tag


@pytest.fixture(scope="module")
def default_release(tmp_path_factory):
    proc, result = render(tmp_path_factory.mktemp("release"))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return {entry["image"]: entry for entry in result["images"]}


def test_exact_images_of_the_release_with_the_role_defaults(default_release):
    assert sorted(default_release) == EXPECTED


def test_injected_and_hook_images_are_counted(default_release):
    for name in ("nginx-mesh-sidecar", "nginx-mesh-init"):
        entry = default_release["docker-registry.nginx.com/nsm/%s:2.0.0" % name]
        assert any("meshconfig.json" in source and "(injected)" in source for source in entry["sources"]), entry
    assert default_release["bitnami/kubectl"]["hook"] is True
    assert default_release["ghcr.io/spiffe/spire-server:1.5.6"]["hook"] is False


def test_every_image_points_where_it_is_published(default_release):
    unpublished = []
    for image in default_release:
        repository, tag = repository_and_tag(image)
        if tag not in PUBLISHED.get(repository, set()):
            unpublished.append(image)
    assert not unpublished, "images not published where they point (nsm-facts §9): %s" % unpublished


def test_default_rewrites_point_at_published_repositories():
    """Independent of helm: every default rewrite target exists for the chart's tag (1.5.6 for SPIRE)."""
    with open(DEFAULTS, encoding="utf-8") as handle:
        rewrites = yaml.safe_load(handle)["service_mesh_image_rewrites"]
    assert rewrites, "no default rewrites"
    for rewrite in rewrites:
        assert rewrite["from"] in PUBLISHED, rewrite
        assert rewrite["to"] in PUBLISHED, "%s: %s is not published (nsm-facts §9)" % (rewrite["from"], rewrite["to"])
        assert PUBLISHED[rewrite["from"]] & PUBLISHED[rewrite["to"]], rewrite


def test_a_mirror_rewrite_moves_injected_images_and_only_the_named_repository(tmp_path):
    proc, result = render(tmp_path, service_mesh_image_rewrites=[
        {"from": "docker-registry.nginx.com/nsm/nginx-mesh-sidecar", "to": "mirror.example:5000/nsm/nginx-mesh-sidecar"},
        {"from": "gcr.io/spiffe-io/k8s-workload-registrar", "to": "mirror.example:5000/spiffe/k8s-workload-registrar"},
    ])
    assert proc.returncode == 0, proc.stdout[-4000:]
    images = sorted(entry["image"] for entry in result["images"])
    assert "mirror.example:5000/nsm/nginx-mesh-sidecar:2.0.0" in images
    assert "mirror.example:5000/spiffe/k8s-workload-registrar:1.5.6" in images
    # the init image shares the prefix and must not move; without the default rewrites SPIRE stays on gcr.io
    assert "docker-registry.nginx.com/nsm/nginx-mesh-init:2.0.0" in images
    assert "gcr.io/spiffe-io/spire-server:1.5.6" in images


def test_a_registry_prefix_rewrite_is_refused_before_rendering(tmp_path):
    proc, result = render(tmp_path, service_mesh_image_rewrites=[{"from": "gcr.io/spiffe-io/", "to": "ghcr.io/spiffe/"}])
    assert proc.returncode != 0 and result is None
    assert "exact image repository" in proc.stdout and "prefix is not supported" in proc.stdout, proc.stdout[-3000:]


def test_extra_post_renderers_run_after_the_rewrites(tmp_path):
    marker = tmp_path / "seen.yaml"
    step = tmp_path / "tee-step"
    step.write_text("#!/bin/sh\ntee %s\n" % marker)
    step.chmod(0o755)
    proc, result = render(tmp_path, service_mesh_post_renderers=[str(step)])
    assert proc.returncode == 0, proc.stdout[-4000:]
    seen = marker.read_text()
    assert "ghcr.io/spiffe/spire-server:1.5.6" in seen and "gcr.io/spiffe-io/spire-server" not in seen
    assert "kind: APIService" in seen


def test_a_wrong_chart_digest_stops_with_one_line(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "nginx-service-mesh-2.0.0.tgz").write_bytes(b"not the chart\n")
    proc, result = render(tmp_path, meshlab_cache_dir=str(cache))
    assert proc.returncode != 0 and result is None
    line = [ln for ln in proc.stdout.splitlines() if "has sha256" in ln and "ERROR" in ln]
    assert len(line) == 1, proc.stdout[-3000:]
    assert str(cache / "nginx-service-mesh-2.0.0.tgz") in line[0]
    assert "expected 021eadef587547ffef1fcaa936c2ad10a7dcf7a3aeca3453bdefe0ef9831d8f6" in line[0]
    assert hashlib.sha256(b"not the chart\n").hexdigest() in line[0]


def test_prefetch_saves_the_verified_chart_and_every_image(tmp_path):
    """playbooks/prefetch.yml offline: the chart is pre-seeded in the download directory (no registry here) and a
    stand-in for docker records the pulls and writes the saved archives."""
    helm_dir = _helm_dir()
    _need(shutil.which("helm") or helm_dir, "no helm: run tests/cluster/localcluster build (or put helm on PATH)")
    _need(CACHE, CACHE_PROBLEM)
    work, cache = tmp_path / "work", tmp_path / "cache"
    (work / "charts").mkdir(parents=True)
    shutil.copy(os.path.join(CACHE, "nginx-service-mesh-2.0.0.tgz"), str(work / "charts"))
    tool = tmp_path / "fake-docker"
    log = tmp_path / "tool.log"
    tool.write_text('#!/bin/sh\necho "$*" >> %s\nif [ "$1" = save ]; then echo archive > "$3"; fi\n' % log)
    tool.chmod(0o755)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(REPO, "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1")
    if helm_dir:
        env["PATH"] = helm_dir + os.pathsep + env["PATH"]
    cmd = ["ansible-playbook", os.path.join(REPO, "playbooks", "prefetch.yml"), "-e", "meshlab_cache_dir=%s" % cache,
           "-e", "service_mesh_work_dir=%s" % work, "-e", "prefetch_image_tool=%s" % tool]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-4000:]
    with open(str(cache / "nginx-service-mesh-2.0.0.tgz"), "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == "021eadef587547ffef1fcaa936c2ad10a7dcf7a3aeca3453bdefe0ef9831d8f6"
    pulled = sorted(line.split()[1] for line in log.read_text().splitlines() if line.startswith("pull "))
    assert pulled == EXPECTED
    saved = sorted(p.name for p in (cache / "images").iterdir())
    assert len(saved) == len(EXPECTED)
    assert "gcr.io_spiffe-io_k8s-workload-registrar_1.5.6.tar" in saved and "docker.io_bitnami_kubectl_latest.tar" in saved
    # a second run keeps what is there (nothing pulled again)
    log.write_text("")
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0 and log.read_text() == "", proc.stdout[-3000:]


# Linkerd (service_mesh_provider=linkerd): the three cached charts, rendered with the role's values. The
# charts ship unfilled placeholders (linkerdVersionValue, linkerdSMIVersionValue) that the role must fill.
LINKERD_EXPECTED = [
    "cr.l5d.io/linkerd/controller:edge-26.8.3",
    "cr.l5d.io/linkerd/extension-init:v0.1.0",
    "cr.l5d.io/linkerd/proxy:edge-26.8.3",
    "cr.l5d.io/linkerd/smi-adaptor:v0.2.7",
]


@pytest.fixture(scope="module")
def linkerd_twice(tmp_path_factory):
    """The Linkerd release rendered twice with one work directory: (first, second) as (proc, result, files)."""
    tmp = tmp_path_factory.mktemp("linkerd")
    runs = []
    for _run in range(2):
        proc, result = render(tmp, verbose=True, service_mesh_provider="linkerd")
        assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
        identity = tmp / "work" / "linkerd-identity"
        files = {p.name: (p.read_bytes(), p.stat().st_mode & 0o777) for p in sorted(identity.iterdir())}
        runs.append((proc, result, files))
    return runs


def test_linkerd_exact_images_with_the_placeholders_filled(linkerd_twice):
    result = linkerd_twice[0][1]
    images = sorted(entry["image"] for entry in result["images"])
    assert images == LINKERD_EXPECTED
    assert not [i for i in images if "VersionValue" in i], images
    hooks = {entry["image"]: entry["hook"] for entry in result["images"]}
    assert hooks["cr.l5d.io/linkerd/extension-init:v0.1.0"] is True
    assert hooks["cr.l5d.io/linkerd/controller:edge-26.8.3"] is False


def test_linkerd_identity_is_made_once_reused_and_never_printed(linkerd_twice):
    (proc1, _result1, first), (proc2, _result2, second) = linkerd_twice
    assert sorted(first) == ["anchor.crt", "anchor.csr", "anchor.key", "issuer.crt", "issuer.csr", "issuer.key"]
    assert first == second, "the second run changed the identity files"
    for name in ("anchor.key", "issuer.key"):
        assert first[name][1] == 0o600, (name, oct(first[name][1]))
    # -v shows every rendering and module result: the issuer key is in none of them (it never goes through
    # Helm), in plain or base64 form; the public anchor does go into the values.
    key_b64 = base64.b64encode(first["issuer.key"][0]).decode()
    for proc in (proc1, proc2):
        out = proc.stdout + proc.stderr
        assert "PRIVATE KEY" not in out
        assert key_b64[:40] not in out and key_b64[40:80] not in out


def test_linkerd_issuer_is_a_p256_ca_signed_by_the_anchor(linkerd_twice):
    files = linkerd_twice[0][2]
    crypto = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives.asymmetric import ec

    anchor = crypto.load_pem_x509_certificate(files["anchor.crt"][0])
    issuer = crypto.load_pem_x509_certificate(files["issuer.crt"][0])
    for cert in (anchor, issuer):
        assert isinstance(cert.public_key(), ec.EllipticCurvePublicKey) and cert.public_key().curve.name == "secp256r1"
        assert cert.extensions.get_extension_for_class(crypto.BasicConstraints).value.ca is True
    assert issuer.issuer == anchor.subject
    assert issuer.extensions.get_extension_for_class(crypto.BasicConstraints).value.path_length == 0
    anchor.public_key().verify(issuer.signature, issuer.tbs_certificate_bytes, ec.ECDSA(issuer.signature_hash_algorithm))
    assert issuer.subject.rfc4514_string() == "CN=identity.linkerd.cluster.local"


def test_a_wrong_linkerd_chart_digest_stops_with_one_line(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "linkerd-crds-2026.8.3.tgz").write_bytes(b"not the chart\n")
    proc, result = render(tmp_path, meshlab_cache_dir=str(cache), service_mesh_provider="linkerd")
    assert proc.returncode != 0 and result is None
    line = [ln for ln in proc.stdout.splitlines() if "has sha256" in ln and "ERROR" in ln]
    assert len(line) == 1, proc.stdout[-3000:]
    assert str(cache / "linkerd-crds-2026.8.3.tgz") in line[0]
    assert "expected c5d23c880a5d88bee0be9a3c7d7a099c6b131750b613e46713b42d024e0d8162" in line[0]
