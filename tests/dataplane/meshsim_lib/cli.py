"""meshsim command line: start (background) / stop / status / run (foreground).

meshsim is a loopback stand-in for the service mesh data plane, for tests only.
"""

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import time

from . import bench, faults, routestatus

DEFAULT_MAX_RUNTIME = 3 * 3600
PID_FILE = "meshsim.pid"
LOG_FILE = "meshsim.log"
READY_FILE = "router.port"


def _env(name, default=""):
    return os.environ.get(name, default)


def _controller_name(value):
    try:
        return routestatus.check_controller_name(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _common(parser):
    parser.add_argument("--kubeconfig", required=True, help="kubeconfig of the local cluster")
    parser.add_argument("--namespace", default="default", help="namespace of the lab's objects")
    parser.add_argument("--state-dir", required=True, help="pid file, logs, pod run dirs (created)")
    parser.add_argument("--router-port", type=int, default=0,
                        help="127.0.0.1 port of the proxy (Envoy's listener; 0 = a free one)")
    parser.add_argument("--envoy-admin-port", type=int, default=0, help="127.0.0.1 port of Envoy's admin (0 = any)")
    parser.add_argument("--poll-interval", type=float, default=0.5, help="seconds between API reads")
    parser.add_argument("--max-runtime", type=float, default=DEFAULT_MAX_RUNTIME,
                        help="exit after this many seconds (bounded, self-terminating)")
    parser.add_argument("--api-timeout", type=float, default=60.0,
                        help="exit when the API has been unreachable this long (cluster gone)")
    parser.add_argument("--backend-selector", default="app=backend", help="pods served by nginx")
    parser.add_argument("--frontend-selector", default="app=frontend", help="pods whose command runs locally")
    parser.add_argument("--frontend-sleep-scale", type=float, default=float(_env("MESHSIM_FRONTEND_SLEEP_SCALE", "1")),
                        help="multiply literal 'sleep N' in frontend shell commands (e.g. 0.1)")
    parser.add_argument("--misroute", default=_env("MESHSIM_MISROUTE"), choices=("", "none", "uniform"),
                        help="fault: 'uniform' ignores split weights everywhere")
    parser.add_argument("--backend-fault", action="append",
                        default=[t for t in _env("MESHSIM_BACKEND_FAULT").split(",") if t],
                        help="fault: SELECTOR:http500|empty, e.g. version=2:http500 (repeatable)")
    parser.add_argument("--frontend-restart-every", type=float,
                        default=float(_env("MESHSIM_FRONTEND_RESTART_EVERY", "0") or 0),
                        help="fault: restart every frontend container this often (seconds, 0 = never)")
    parser.add_argument("--route-controller-name", metavar="NAME", type=_controller_name,
                        default=routestatus.CONTROLLER_NAME,
                        help="controllerName written into HTTPRoute status.parents (the mesh controller stood in "
                             "for, e.g. linkerd.io/policy-controller; default %(default)s)")
    parser.add_argument("--verbose", action="store_true")


def build_parser():
    parser = argparse.ArgumentParser(prog="meshsim", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    _common(sub.add_parser("run", help="run in the foreground"))
    _common(sub.add_parser("start", help="run in the background; returns once the router listens"))
    stop = sub.add_parser("stop", help="stop a background meshsim and its processes")
    stop.add_argument("--state-dir", required=True)
    status = sub.add_parser("status", help="print the state (proxy URL, Envoy, pods, request counts)")
    status.add_argument("--state-dir", required=True)
    bench = sub.add_parser("bench", help="measure Envoy on loopback: requests/s, file propagation (no cluster)")
    bench.add_argument("--requests", type=int, default=4000)
    bench.add_argument("--concurrency", type=int, default=4)
    bench.add_argument("--curl", type=int, default=300, help="requests from a curl shell loop (0 = skip)")
    bench.add_argument("--flips", type=int, default=20, help="split changes timed (0 = skip)")
    bench_api = sub.add_parser("bench-api", help="measure propagation API write -> Envoy (inside the cluster netns)")
    bench_api.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), help="default: $KUBECONFIG")
    bench_api.add_argument("--flips", type=int, default=20, help="TrafficSplit changes timed")
    bench_api.add_argument("--poll-interval", type=float, default=0.5, help="meshsim's API poll interval")
    return parser


def _read_pid(state_dir):
    try:
        with open(os.path.join(state_dir, PID_FILE), encoding="utf-8") as fh:
            return int(fh.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open("/proc/%d/stat" % pid, encoding="utf-8") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def cmd_start(args, argv):
    state = os.path.abspath(args.state_dir)
    os.makedirs(state, exist_ok=True)
    pid = _read_pid(state)
    if pid and _alive(pid):
        print("meshsim already running (pid %d); stop it first" % pid, file=sys.stderr)
        return 1
    for name in (READY_FILE, PID_FILE):
        if os.path.exists(os.path.join(state, name)):
            os.unlink(os.path.join(state, name))
    run_argv = ["run"] + argv[argv.index("start") + 1:]
    log = os.open(os.path.join(state, LOG_FILE), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        env = dict(os.environ)
        package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        child = subprocess.Popen(
            [sys.executable, "-m", "meshsim_lib"] + run_argv, env=env,
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    finally:
        os.close(log)
    with open(os.path.join(state, PID_FILE), "w", encoding="utf-8") as fh:
        fh.write("%d\n" % child.pid)
    deadline = time.monotonic() + 30
    ready = os.path.join(state, READY_FILE)
    while time.monotonic() < deadline:
        if child.poll() is not None:
            print("meshsim exited with %s; see %s" % (child.returncode, os.path.join(state, LOG_FILE)),
                  file=sys.stderr)
            return 1
        if os.path.exists(ready):
            with open(ready, encoding="utf-8") as fh:
                print("meshsim started: pid %d, router %s" % (child.pid, fh.read().strip()))
            return 0
        time.sleep(0.1)
    print("meshsim did not become ready in 30s; see %s" % os.path.join(state, LOG_FILE), file=sys.stderr)
    return 1


def cmd_stop(args):
    state = os.path.abspath(args.state_dir)
    pid = _read_pid(state)
    if not pid or not _alive(pid):
        print("meshsim not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.1)
    if _alive(pid):
        os.kill(pid, signal.SIGKILL)
        print("meshsim (pid %d) killed after 20s" % pid)
    else:
        print("meshsim (pid %d) stopped" % pid)
    os.unlink(os.path.join(state, PID_FILE))
    return 0


def cmd_status(args):
    try:
        with open(os.path.join(os.path.abspath(args.state_dir), "status.json"), encoding="utf-8") as fh:
            print(json.dumps(json.load(fh), indent=1, sort_keys=True))
    except OSError as exc:
        print("no status: %s" % exc, file=sys.stderr)
        return 1
    return 0


class _Stop(BaseException):
    """SIGTERM/SIGINT; not an Exception, so the loop's ``except Exception`` (a failed reconcile or
    API read) cannot swallow it and keep meshsim running until ``stop`` kills it."""


def _raise_stop(signum, frame):
    raise _Stop(signum)


def cmd_run(args):
    # imported here so that stop/status work without the kubernetes client
    from . import controller, envoy, kube

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    log = logging.getLogger("meshsim")
    state = os.path.abspath(args.state_dir)
    os.makedirs(state, exist_ok=True)
    switches = faults.make_switches(args.misroute, args.backend_fault, args.frontend_restart_every)
    ctl = controller.Controller(kube.Kube(args.kubeconfig, args.namespace), state, switches, args)
    signal.signal(signal.SIGTERM, _raise_stop)
    signal.signal(signal.SIGINT, _raise_stop)
    started = time.monotonic()
    last_ok = started
    last_status = 0.0
    try:
        try:
            port = ctl.start_router()
        except envoy.EnvoyError as exc:
            log.error("%s", exc)
            return 1
        # status.json before the ready file: `meshsim start` returns on the ready file, and its callers read the
        # status right away (a loaded machine can take seconds to the first reconcile and its status write)
        ctl.write_status()
        with open(os.path.join(state, READY_FILE), "w", encoding="utf-8") as fh:
            fh.write("http://127.0.0.1:%d\n" % port)
        log.info("meshsim (loopback stand-in for the mesh) watching namespace %s; switches %s; HTTPRoute status "
                 "as %s", args.namespace, switches, args.route_controller_name)
        while True:
            now = time.monotonic()
            if now - started > args.max_runtime:
                log.warning("max runtime %.0fs reached: exiting", args.max_runtime)
                break
            try:
                objs = ctl.kube.list_all()
                last_ok = now
                ctl.api_error = None
            except Exception as exc:
                if now - last_ok > args.api_timeout:
                    log.error("API unreachable for %.0fs (%s): exiting", now - last_ok, exc)
                    break
                log.warning("API read failed: %s", exc)
                ctl.api_error = str(exc)
                objs = None
            if objs is not None:
                try:
                    ctl.reconcile(objs)
                except Exception:  # keep serving; the next poll retries
                    log.exception("reconcile failed")
            if now - last_status >= 2.0:
                ctl.write_status()
                last_status = now
            time.sleep(args.poll_interval)
    except _Stop:
        log.info("signal received: stopping")
    finally:
        ctl.shutdown()
        ctl.write_status()
        log.info("meshsim stopped; all local pod processes ended")
    return 0


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    try:
        if args.cmd == "start":
            faults.make_switches(args.misroute, args.backend_fault, args.frontend_restart_every)
            return cmd_start(args, argv)
        if args.cmd == "stop":
            return cmd_stop(args)
        if args.cmd == "status":
            return cmd_status(args)
        if args.cmd == "bench":
            return bench.run(args.requests, args.concurrency, args.curl, args.flips)
        if args.cmd == "bench-api":
            if not args.kubeconfig:
                print("meshsim bench-api: set --kubeconfig or KUBECONFIG (run inside the cluster's netns)",
                      file=sys.stderr)
                return 2
            return bench.run_api(args.kubeconfig, args.flips, args.poll_interval)
        return cmd_run(args)
    except faults.SwitchError as exc:
        print("meshsim: %s" % exc, file=sys.stderr)
        return 2
