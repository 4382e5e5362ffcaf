"""The canary role reads the split at the version discovery finds, discovered once per run (issue 13).

The role used to read a TrafficSplit at split.smi-spec.io/v1alpha3 whatever the cluster served: under linkerd-smi
(v1alpha1 and v1alpha2 only) the live split looked absent, the run decided "start" with no resourceVersion and a
rerun's write failed with a 409. The choice itself is the filter canary_split_api_version (its own tests); here
the role's task (tasks/split_versions.yml) runs through ansible-playbook on given discovery results, no cluster;
the whole role runs against a kubeconfig without a cluster to show that its first cluster call is the discovery,
reached from the pre-split check or else from the rollout, under the role's tags; and the task files are checked
for one discovery per run and no version written into them.
"""

import json
import os
import pathlib
import re
import subprocess

import pytest
import yaml

REPO = pathlib.Path(__file__).resolve().parents[3]
ROLE = REPO / "roles" / "canary"
PLAYBOOKS = pathlib.Path(__file__).resolve().parent / "playbooks"
PLAYBOOK = PLAYBOOKS / "canary_split_version.yml"

SMI = "split.smi-spec.io"
GATEWAY = "gateway.networking.k8s.io"
LINKERD_SMI = {"v1": {"Service": {}}, SMI + "/v1alpha1": {"TrafficSplit": {}}, SMI + "/v1alpha2": {"TrafficSplit": {}}}


def play(tmp_path, playbook, variables, *options):
    varfile = tmp_path / "vars.json"
    varfile.write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1",
               KUBECONFIG=str(tmp_path / "no-kubeconfig"))
    return subprocess.run(["ansible-playbook", str(playbook), "-e", "@" + str(varfile)] + list(options),
                          cwd=str(REPO), env=env, capture_output=True, text=True, timeout=300, check=False)


def choose(tmp_path, apis, **variables):
    """Run the role's choice on ``apis``; return (process, chosen apiVersion or None)."""
    out = tmp_path / "version.txt"
    variables.update({"split_version_out": str(out), "__canary_cluster_apis": {"apis": apis}})
    proc = play(tmp_path, PLAYBOOK, variables)
    return proc, (out.read_text() if out.exists() else None)


def test_linkerd_smi_is_read_at_v1alpha2(tmp_path):
    proc, version = choose(tmp_path, LINKERD_SMI)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert version == SMI + "/v1alpha2"


def test_canary_api_version_still_wins(tmp_path):
    proc, version = choose(tmp_path, LINKERD_SMI, canary_api_version="v1alpha1")
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert version == SMI + "/v1alpha1"


def test_a_kind_the_cluster_does_not_serve_fails_naming_canary_api_and_the_fix(tmp_path):
    proc, version = choose(tmp_path, LINKERD_SMI, canary_api="gateway")
    assert proc.returncode != 0 and version is None
    flat = " ".join(proc.stdout.split())
    assert "canary_api=gateway needs the HTTPRoute kind of the API group " + GATEWAY in flat, proc.stdout[-3000:]
    assert "install the Gateway API CRDs" in flat


FROM_PRESPLIT = "Discover the split APIs the cluster serves"
FROM_ROLLOUT = "Discover the split APIs the cluster serves (the pre-split check did not)"
DISCOVERY = "Discover the API versions the cluster serves"


def sections(stdout):
    """The play's output as [(task name, output)], in order."""
    found = []
    for part in re.split(r"^TASK \[", stdout, flags=re.M)[1:]:
        head, _sep, body = part.partition("\n")
        name = head.split("]")[0].split(" : ", 1)[-1]
        found.append((name, body))
    return found


@pytest.mark.parametrize("presplit,options,include", [
    (True, [], FROM_PRESPLIT),
    (False, [], FROM_ROLLOUT),
    (True, ["--tags", "canary_presplit"], FROM_PRESPLIT),
    (True, ["--tags", "canary_rollout"], FROM_ROLLOUT),
    (True, ["--skip-tags", "canary_presplit"], FROM_ROLLOUT),
], ids=["presplit", "no-presplit", "tag-presplit", "tag-rollout", "skip-presplit"])
def test_the_first_cluster_call_is_the_one_discovery(tmp_path, presplit, options, include):
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n")
    proc = play(tmp_path, PLAYBOOKS / "canary_discovery.yml",
                {"canary_test_kubeconfig": str(kubeconfig), "canary_presplit_check": presplit,
                 "canary_report_dir": str(tmp_path / "reports")}, *options)
    assert proc.returncode != 0
    tasks = sections(proc.stdout)
    failed = [name for name, body in tasks if re.search(r"^(fatal|failed): ", body, flags=re.M)]
    # the play stops at discovery (no kubeconfig cluster), and nothing failed before it
    assert failed == [DISCOVERY], proc.stdout[-4000:]
    names = [name for name, _body in tasks]
    assert names.count(DISCOVERY) == 1, names
    position = names.index(DISCOVERY)
    assert names[position - 1] == include and "discover.yml" in tasks[position - 1][1], names


def _tasks(name):
    with open(str(ROLE / "tasks" / name), encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _walk(tasks):
    for task in tasks or []:
        yield task
        for key in ("block", "rescue", "always"):
            yield from _walk(task.get(key))


def _all_tasks():
    for path in sorted((ROLE / "tasks").glob("*.yml")):
        for task in _walk(_tasks(path.name)):
            yield path.name, task


def test_one_discovery_task_included_while_this_run_has_none():
    discovery = [name for name, task in _all_tasks() if "kubernetes.core.k8s_cluster_info" in task]
    assert discovery == ["discover.yml"], discovery
    includes = dict((name, task) for name, task in _all_tasks()
                    if isinstance(task.get("ansible.builtin.include_tasks"), dict)
                    and task["ansible.builtin.include_tasks"].get("file") == "discover.yml")
    assert sorted(includes) == ["presplit.yml", "rollout.yml"], includes
    for task in includes.values():
        assert task["when"] == "__canary_read_api_version | default(none) is none", task
    reset = [task for _name, task in _all_tasks() if "__canary_read_api_version" in
             (task.get("ansible.builtin.set_fact") or {})]
    main = [task for task in _walk(_tasks("main.yml")) if task in reset]
    assert main and main[0]["ansible.builtin.set_fact"]["__canary_read_api_version"] is None
    assert main[0]["tags"] == ["always"]


def test_reads_and_writes_use_the_discovered_version():
    reads = [task["kubernetes.core.k8s_info"]["api_version"] for name, task in _all_tasks()
             if "kubernetes.core.k8s_info" in task and name != "presplit.yml"]
    assert reads and set(reads) == {"{{ __canary_read_api_version }}"}, reads
    defaults = [task["module_defaults"]["meshlab.canary.traffic_split"] for _name, task in _all_tasks()
                if "meshlab.canary.traffic_split" in (task.get("module_defaults") or {})]
    assert [d["api_version"] for d in defaults] == ["{{ __canary_read_api_version }}"], defaults


def test_no_split_version_written_into_the_role():
    found = []
    for path in sorted(list((ROLE / "tasks").glob("*.yml")) + list((ROLE / "vars").glob("*.yml"))):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if re.search(r"(?<![a-z0-9])v1(alpha|beta)?[0-9]*(?![a-z0-9])", code):
                found.append("%s:%d: %s" % (path.name, number, line.strip()))
    assert not found, found
