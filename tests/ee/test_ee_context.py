"""The execution environment's build context, rendered offline by ``ansible-builder create``.

The image build itself needs a container engine, which CI does not have.  What can be checked without
one is checked here: the context renders with no network (inside ``unshare --net`` when that is
possible), it holds the collection tarball built from this checkout with its EE metadata, the
introspection the image build runs finds the collection's Python and system requirements (and
nothing a UBI build cannot install), the tools come from the minikube role's pinned, sha256-checked
release URLs, and the pins restated in the EE files agree with the ones the tests use.
"""

import os
import pathlib
import re
import shlex
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml
from bindep.depends import Depends
from jinja2 import Environment, StrictUndefined

REPO = pathlib.Path(__file__).resolve().parents[2]
EE_FILE = REPO / "execution-environment.yml"
NAVIGATOR_FILE = REPO / "ansible-navigator.yml"

# bindep profiles of the base image (UBI 9: distro id rhel) and of Debian/Ubuntu controllers.
UBI9_PROFILES = ["platform:rpm", "platform:redhat", "platform:rhel", "platform:rhel-9", "platform:rhel-9.6"]
DEBIAN_PROFILES = ["platform:dpkg", "platform:debian", "platform:debian-12"]
UBUNTU_PROFILES = ["platform:dpkg", "platform:ubuntu", "platform:ubuntu-noble"]
# System packages known to be in the UBI 9 BaseOS/AppStream repositories (no subscription needed).
UBI9_PACKAGES = {"tar", "gzip"}


def _load(path):
    with open(path, encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _run(argv, **kwargs):
    result = subprocess.run(argv, capture_output=True, text=True, check=False, **kwargs)
    assert result.returncode == 0, "%s failed (rc %d):\n%s\n%s" % (
        shlex.join(argv),
        result.returncode,
        result.stdout,
        result.stderr,
    )
    return result


def _no_network_prefix():
    """``unshare --net`` when this user may create a network namespace, else nothing."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "--net", "true"], capture_output=True, check=False).returncode == 0:
        return [unshare, "--net"]
    return []


def _pins(path):
    """``name==version`` lines of a requirements file, by lower-case name."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)==([A-Za-z0-9_.+-]+)", line)
        assert match, "%s: %r is not an exact name==version pin" % (path.name, line)
        pins[match.group(1).lower()] = match.group(2)
    return pins


def _active_packages(bindep_text, profiles):
    return sorted({rule[0] for rule in Depends(bindep_text).active_rules(profiles)})


@pytest.fixture(scope="module")
def ee(tmp_path_factory):
    """Build the tarball, render the context offline, install the tarball where introspection looks."""
    work = tmp_path_factory.mktemp("ee")
    # The EE file's additional_build_files are relative to it: give it a dist/ee of its own.
    shutil.copy(EE_FILE, work / EE_FILE.name)
    _run(["ansible-galaxy", "collection", "build", str(REPO), "--output-path", str(work / "dist" / "ee"), "--force"])
    prefix = _no_network_prefix()
    context = work / "context"
    create = _run(
        prefix
        + [
            "ansible-builder", "create", "--file", str(work / EE_FILE.name), "--context", str(context),
            "--output-filename", "Containerfile", "-v", "3",
        ]
    )
    tarballs = sorted((work / "dist" / "ee").glob("*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    collections = work / "collections"
    _run(["ansible-galaxy", "collection", "install", "--offline", "--no-deps", "--force", "-p", str(collections), str(tarballs[0])])
    # kubernetes.core and community.crypto as the image gets them: the versions the tests run with (bundled by
    # the ansible package).
    import ansible_collections.community.crypto as community_crypto  # pylint: disable=import-outside-toplevel
    import ansible_collections.kubernetes.core as kubernetes_core  # pylint: disable=import-outside-toplevel

    for namespace, name, package in (("kubernetes", "core", kubernetes_core), ("community", "crypto", community_crypto)):
        (collections / "ansible_collections" / namespace).mkdir()
        os.symlink(list(package.__path__)[0], collections / "ansible_collections" / namespace / name)
    return {
        "context": context,
        "containerfile": (context / "Containerfile").read_text(encoding="utf-8"),
        "create": create,
        "offline": bool(prefix),
        "collections": collections,
        "tarball": tarballs[0],
    }


@pytest.fixture(scope="module")
def introspection(ee):
    """Run the context's own introspect step with the options the Containerfile gives it."""
    line = next(x for x in ee["containerfile"].splitlines() if "introspect.py introspect" in x)
    argv = shlex.split(line[len("RUN "):])
    assert argv[:2] == ["$PYCMD", "/output/scripts/introspect.py"], line
    options = []
    for arg in argv[3:]:
        name, _sep, value = arg.partition("=")
        if name in ("--write-bindep", "--write-pip"):
            continue
        # Files the Containerfile COPYs into /build from _build/ under the same name.
        options.append("%s=%s" % (name, ee["context"] / "_build" / value))
    out = _run([sys.executable, str(ee["context"] / "_build" / "scripts" / "introspect.py"), "introspect"]
               + options + [str(ee["collections"])])
    return yaml.safe_load(out.stdout.split("---", 1)[1])


def test_create_renders_without_errors_or_warnings(ee):
    assert "Complete! The build context can be found at" in ee["create"].stdout
    output = ee["create"].stdout + ee["create"].stderr
    assert "No matches" not in output and "does not exist" not in output, output
    assert ee["containerfile"].startswith('ARG EE_BASE_IMAGE="%s"' % _load(EE_FILE)["images"]["base_image"]["name"])


def test_create_needed_no_network(ee):
    if not ee["offline"]:
        pytest.skip("unshare --net is not permitted for this user; ansible-builder create ran with the network")
    assert ee["offline"]


def test_context_installs_this_checkout_and_kubernetes_core(ee):
    galaxy = _load(ee["context"] / "_build" / "requirements.yml")
    by_name = {c["name"]: c for c in galaxy["collections"]}
    import ansible_collections.kubernetes.core as kubernetes_core  # pylint: disable=import-outside-toplevel

    import ansible_collections.community.crypto as community_crypto  # pylint: disable=import-outside-toplevel

    for fqcn, package in (("kubernetes.core", kubernetes_core), ("community.crypto", community_crypto)):
        manifest = pathlib.Path(list(package.__path__)[0]) / "MANIFEST.json"
        tested = yaml.safe_load(manifest.read_text(encoding="utf-8"))["collection_info"]["version"]
        assert str(by_name[fqcn]["version"]) == tested, fqcn
    files = [c for c in galaxy["collections"] if c.get("type") == "file"]
    assert len(files) == 1, files
    # The Containerfile copies _build/ to /build before ansible-galaxy runs.
    path = pathlib.PurePosixPath(files[0]["name"])
    assert path.parts[:2] == ("/", "build"), path
    in_context = ee["context"] / "_build" / pathlib.Path(*path.parts[2:])
    assert in_context.is_file(), "the galaxy requirement %s is not in the context (galaxy.yml version bumped?)" % path
    assert in_context.name == ee["tarball"].name


def test_tarball_ships_ee_metadata_but_not_the_image_files(ee):
    with tarfile.open(ee["tarball"]) as tar:
        names = set(tar.getnames())
        meta = yaml.safe_load(tar.extractfile("meta/execution-environment.yml"))
    assert {"meta/execution-environment.yml", "requirements.txt", "bindep.txt"} <= names
    assert meta["dependencies"] == {"python": "requirements.txt", "system": "bindep.txt"}
    assert not {"execution-environment.yml", "ansible-navigator.yml"} & names


def test_introspection_finds_the_collections_python_requirements(introspection):
    python = introspection["python"]
    for name, version in _pins(REPO / "requirements.txt").items():
        assert "%s==%s  # from collection meshlab.canary" % (name, version) in python, python
    # kubernetes.core's own lines are still there (pip resolves both).
    assert any(line.endswith("# from collection kubernetes.core") for line in python), python


def test_introspection_system_requirements_build_on_ubi_and_debian(introspection):
    system = introspection["system"]
    ours = [line for line in system if line.endswith("# from collection meshlab.canary")]
    assert sorted(line.split()[0] for line in ours) == ["gzip", "tar"], system
    text = "".join(line.split("#", 1)[0].strip() + "\n" for line in system)
    on_ubi = _active_packages(text, UBI9_PROFILES)
    # kubernetes.core #1141: openshift-clients (rhel-9) is not in the UBI repositories.
    assert "openshift-clients" not in on_ubi
    assert set(on_ubi) <= UBI9_PACKAGES, on_ubi
    assert _active_packages(text, DEBIAN_PROFILES) == ["gzip", "tar"]
    assert _active_packages(text, UBUNTU_PROFILES) == ["gzip", "tar"]


def test_without_the_exclusion_ubi_would_be_asked_for_openshift_clients(ee):
    """The exclusion is what keeps the build on UBI: kubernetes.core asks for openshift-clients."""
    out = _run([sys.executable, str(ee["context"] / "_build" / "scripts" / "introspect.py"), "introspect",
                str(ee["collections"])])
    system = yaml.safe_load(out.stdout.split("---", 1)[1])["system"]
    text = "".join(line.split("#", 1)[0].strip() + "\n" for line in system)
    assert "openshift-clients" in _active_packages(text, UBI9_PROFILES)


def _role_defaults(ee):
    installed = ee["collections"] / "ansible_collections" / "meshlab" / "canary"
    defaults = _load(installed / "roles" / "minikube" / "defaults" / "main.yml")
    role_vars = _load(installed / "roles" / "minikube" / "vars" / "main.yml")
    return defaults, role_vars


def _render(value, variables):
    env = Environment(undefined=StrictUndefined)
    for _round in range(5):
        if "{{" not in str(value):
            break
        value = env.from_string(str(value)).render(**variables)
    return value


def _role_step(containerfile):
    lines = containerfile.splitlines()
    steps = [i for i, line in enumerate(lines) if "meshlab.canary.minikube" in line]
    assert len(steps) == 1, steps
    return lines, steps[0]


def test_tools_are_installed_by_the_minikube_role_with_its_pins(ee):
    lines, index = _role_step(ee["containerfile"])
    step = lines[index]
    assert "tasks_from=install" in step
    # Nothing is overridden: versions, URLs, checksums and directories are the role's defaults.
    assert not re.search(r"\s(-e|--extra-vars)[\s=]", step), step
    home = [line.split("=", 1)[1] for line in lines[:index] if line.startswith("ENV HOME=")]
    assert home, "the image sets no HOME before the role runs"
    after = [line for line in lines[index + 1:] if line.startswith("ENV HOME=")]
    assert not after, "HOME changes after the tools were installed: %s" % after

    defaults, role_vars = _role_defaults(ee)
    # The image's build runs tasks_from=install outside the lab's playbooks: no service_mesh_provider, so nsm's.
    kubernetes_version = role_vars["__minikube_providers"]["nsm"]["kubernetes_version"]
    variables = dict(defaults, __minikube_os="linux", __minikube_arch="amd64", minikube_kubernetes_version=kubernetes_version)
    variables["lookup"] = lambda plugin, name: {"HOME": home[-1]}[name]
    assert role_vars["__minikube_arch_map"]["x86_64"] == "amd64"
    assert _render(defaults["minikube_bin_dir"], variables) == home[-1] + "/.local/bin"
    expected = {
        "minikube": ("minikube_minikube_url", "minikube_minikube_checksum", defaults["minikube_version"], ".sha256"),
        "helm": ("minikube_helm_url", "minikube_helm_checksum", defaults["minikube_helm_version"], ".sha256sum"),
        "kubectl": ("minikube_kubectl_url", "minikube_kubectl_checksum", kubernetes_version, ".sha256"),
    }
    for tool, (url_var, checksum_var, version, suffix) in expected.items():
        url = _render(defaults[url_var], variables)
        checksum = _render(defaults[checksum_var], variables)
        assert re.fullmatch(r"v\d+\.\d+\.\d+", version), (tool, version)
        assert url.startswith("https://") and version in url and "linux" in url and "amd64" in url, url
        assert checksum == "sha256:%s%s" % (url, suffix), (tool, checksum)
        # The step checks that each tool runs.
        assert "%s version" % tool in step, tool


def test_image_user_gets_the_home_the_tools_are_in(ee):
    """ansible-builder's entrypoint sets HOME from /etc/passwd (else /runner): it must be the build's HOME."""
    lines, index = _role_step(ee["containerfile"])
    user = _load(EE_FILE)["options"]["user"]
    assert "USER %s" % user in lines[index:], lines[index:]
    home = [line.split("=", 1)[1] for line in lines[:index] if line.startswith("ENV HOME=")][-1]
    entries = [re.search(r"echo '([^']+)' >> /etc/passwd", line) for line in lines[:index]]
    entries = [m.group(1).split(":") for m in entries if m]
    assert [(e[2], e[3], e[5]) for e in entries] == [(str(user), "0", home)], entries
    # The tools are also on PATH for a run under any other HOME.
    links = [line for line in lines[index + 1:] if line.startswith("RUN ln -s ")]
    assert len(links) == 1, links
    argv = shlex.split(links[0][len("RUN "):])
    assert argv[-1] == "/usr/local/bin/"
    assert sorted(argv[2:-1]) == sorted("%s/.local/bin/%s" % (home, t) for t in ("helm", "kubectl", "minikube"))


def test_navigator_runs_the_site_playbook_in_this_image():
    navigator = _load(NAVIGATOR_FILE)["ansible-navigator"]
    definition = _load(EE_FILE)
    assert navigator["ansible"]["playbook"]["path"] == "playbooks/site.yml"
    assert (REPO / navigator["ansible"]["playbook"]["path"]).is_file()
    assert navigator["execution-environment"]["image"] == definition["options"]["tags"][0]
    # The role finds the image's tools under HOME: nothing may point it elsewhere or replace HOME.
    assert "cmdline" not in navigator["ansible"], navigator["ansible"]
    assert "HOME" not in str(navigator["execution-environment"].get("environment-variables", {}))


def test_restated_versions_agree(ee):
    definition = _load(EE_FILE)
    galaxy = _load(REPO / "galaxy.yml")
    tested = _pins(REPO / "requirements-test.txt")
    for name, version in _pins(REPO / "requirements.txt").items():
        assert tested.get(name) == version, "requirements.txt pins %s==%s, requirements-test.txt %s" % (
            name, version, tested.get(name))
    assert definition["dependencies"]["ansible_core"]["package_pip"] == "ansible-core==%s" % tested["ansible-core"]
    tag = definition["options"]["tags"][0]
    assert tag.endswith(":%s" % galaxy["version"]), tag
    assert ee["tarball"].name == "%s-%s-%s.tar.gz" % (galaxy["namespace"], galaxy["name"], galaxy["version"])


ARCHES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}

LAB_TIME_PLAYBOOK = """\
- name: What the minikube role does with the image's tools at lab time
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Preflight
      ansible.builtin.include_role:
        name: meshlab.canary.minikube
        tasks_from: preflight
    - name: Install
      ansible.builtin.include_role:
        name: meshlab.canary.minikube
        tasks_from: install
    - name: Notes
      ansible.builtin.debug:
        msg: "NOTES={{ __minikube_preflight.notes | to_json }}"
"""


def _fake_releases(root, defaults, arch):
    """Stand-ins for the three release downloads, with checksum files in each project's format."""
    root.mkdir()
    scripts = {
        "minikube": "#!/bin/sh\necho %s\n" % defaults["minikube_version"],
        "kubectl": "#!/bin/sh\necho kubectl-stand-in\n",
        "helm": "#!/bin/sh\necho helm-stand-in\n",
    }
    for name in ("minikube", "kubectl"):
        (root / name).write_text(scripts[name], encoding="utf-8")
    inner = root / ("linux-%s" % arch)
    inner.mkdir()
    (inner / "helm").write_text(scripts["helm"], encoding="utf-8")
    (inner / "helm").chmod(0o755)
    helm_tar = root / ("helm-%s-linux-%s.tar.gz" % (defaults["minikube_helm_version"], arch))
    with tarfile.open(helm_tar, "w:gz") as tar:
        tar.add(inner, arcname=inner.name)
    urls = {}
    for var, path, sidecar in (
        ("minikube_minikube_url", root / "minikube", ".sha256"),
        ("minikube_kubectl_url", root / "kubectl", ".sha256"),
        ("minikube_helm_url", helm_tar, ".sha256sum"),
    ):
        digest = _run(["sha256sum", str(path)]).stdout.split()[0]
        line = digest if sidecar == ".sha256" else "%s  %s" % (digest, path.name)
        pathlib.Path(str(path) + sidecar).write_text(line + "\n", encoding="utf-8")
        urls[var] = "file://%s" % path
        urls[var.replace("_url", "_checksum")] = "sha256:file://%s%s" % (path, sidecar)
    return urls


def test_build_step_installs_the_tools_where_the_lab_finds_them(ee, tmp_path):
    """Run the image's tool step (release URLs pointed at local stand-ins), then the role as the lab does."""
    if os.geteuid() != 0:
        pytest.skip("the image step runs as root (chgrp to group 0)")
    defaults, _role_vars = _role_defaults(ee)
    arch = ARCHES[os.uname().machine]
    urls = _fake_releases(tmp_path / "releases", defaults, arch)
    overrides = tmp_path / "urls.json"
    overrides.write_text(yaml.safe_dump(urls), encoding="utf-8")
    home = tmp_path / "home"
    fake_bin = tmp_path / "fake-bin"
    fake_bin.mkdir()
    (fake_bin / "qemu-img").write_text("#!/bin/sh\necho qemu-img stand-in\n", encoding="utf-8")
    (fake_bin / "qemu-img").chmod(0o755)
    (tmp_path / "ansible.cfg").write_text("[defaults]\n", encoding="utf-8")
    env = dict(
        os.environ,
        HOME=str(home),
        PATH="%s:%s" % (fake_bin, os.environ["PATH"]),
        ANSIBLE_CONFIG=str(tmp_path / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(ee["collections"]),
        ANSIBLE_LOCALHOST_WARNING="false",
    )

    lines, index = _role_step(ee["containerfile"])
    anchor = "tasks_from=install'"
    assert lines[index].count(anchor) == 1, lines[index]
    # Only the release URLs change (to the stand-ins); the directories stay the role's defaults.
    step = lines[index][len("RUN "):].replace(anchor, "%s -e @%s" % (anchor, overrides))
    built = _run(_no_network_prefix() + ["bash", "-ec", step], env=env, cwd=str(tmp_path))
    # The step's own check ran the installed tools.
    assert defaults["minikube_version"] in built.stdout and "helm-stand-in" in built.stdout, built.stdout
    for tool in ("minikube", "helm", "kubectl"):
        assert (home / ".local" / "bin" / tool).is_file(), tool
    assert (home / ".cache" / "meshlab-canary" / "helm.version").read_text(encoding="utf-8").strip() == defaults[
        "minikube_helm_version"]
    assert not list((home / ".cache" / "meshlab-canary").glob("*.tar.gz"))
    # The run-time user (uid 1000, group 0) creates HOME/.minikube and HOME/.kube.
    assert home.stat().st_gid == 0 and home.stat().st_mode & 0o070 == 0o070, oct(home.stat().st_mode)

    # Lab time: preflight sees every tool at its pinned version and the install tasks change nothing.
    (tmp_path / "lab.yml").write_text(LAB_TIME_PLAYBOOK, encoding="utf-8")
    lab = _run(
        _no_network_prefix()
        + [
            "ansible-playbook", str(tmp_path / "lab.yml"), "-e", "@%s" % overrides,
            "-e", "minikube_driver=qemu2", "-e", "minikube_cpus=1", "-e", "minikube_memory_mb=1",
            "-e", "minikube_preflight_min_cpus=1", "-e", "minikube_preflight_min_free_memory_mb=0",
            "-e", "minikube_preflight_min_free_disk_gb=0",
        ],
        env=env,
        cwd=str(tmp_path),
    )
    assert re.search(r"localhost\s+: ok=\d+\s+changed=0\s", lab.stdout), lab.stdout
    notes = re.search(r"NOTES=(\[.*?\])", lab.stdout).group(1)
    assert "will be installed" not in notes, notes
