"""Local processes standing in for pod containers (nginx backends, frontend commands).

Every child runs under ``setpriv --pdeathsig TERM`` in its own session, so it
dies with meshsim even on SIGKILL, and ``stop()`` ends its whole process group.
Spawn only from the main thread: the death signal follows the forking thread.
"""

import logging
import os
import pwd
import signal
import socket
import subprocess
import threading
import time

from . import cri, nginxconf

LOG = logging.getLogger("meshsim.procs")
NGINX = os.environ.get("MESHSIM_NGINX", "/usr/sbin/nginx")
PDEATHSIG = ["setpriv", "--pdeathsig", "TERM", "--"]


def free_port():
    """A currently free TCP port on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_open(port, timeout=0.2):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _spawn(argv, cwd, env=None, stdout=None, stderr=None):
    return subprocess.Popen(
        PDEATHSIG + list(argv), cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=stdout, stderr=stderr, start_new_session=True)


def _terminate(proc, grace=3.0):
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(grace)


# for other modules of meshsim (envoy.py) that start children the same way
spawn = _spawn
terminate = _terminate


def rfc3339_now():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _worker_user():
    """As root: nginx workers run as root too (they stat the fault flags in meshsim's private run dir)."""
    return pwd.getpwuid(0).pw_name if os.geteuid() == 0 else None


class NginxPod:
    """One backend pod: a real nginx on its own 127.0.0.1 port, serving the deployed nginx.conf."""

    def __init__(self, name, run_dir, files, container_ports=(80,)):
        self.name = name
        self.run_dir = os.path.abspath(run_dir)
        self.port = free_port()
        self.proc = None
        self._log = None
        etc = os.path.join(self.run_dir, "etc")
        os.makedirs(etc, exist_ok=True)
        if "nginx.conf" not in files:
            raise nginxconf.ConfigError("ConfigMap for pod %s has no nginx.conf key" % name)
        for key, text in files.items():
            if key == "nginx.conf":
                text = nginxconf.rewrite(text, self.port, self.run_dir, container_ports, _worker_user())
            with open(os.path.join(etc, key), "w", encoding="utf-8") as fh:
                fh.write(text)
        self.conf = os.path.join(etc, "nginx.conf")
        self.fault = "none"
        for mode in nginxconf.FAULT_MODES:  # a reused run dir starts without faults
            if os.path.exists(nginxconf.fault_flag(self.run_dir, mode)):
                os.unlink(nginxconf.fault_flag(self.run_dir, mode))

    def set_fault(self, mode):
        """Fault switch of this pod (http500, empty, bad, none): the flag file nginx tests per request."""
        if mode == self.fault:
            return False
        for name in nginxconf.FAULT_MODES:
            path = nginxconf.fault_flag(self.run_dir, name)
            if name == mode:
                with open(path, "w", encoding="utf-8"):
                    pass
            elif os.path.exists(path):
                os.unlink(path)
        LOG.info("backend pod %s: fault %s -> %s", self.name, self.fault, mode)
        self.fault = mode
        return True

    def start(self, ready_timeout=5.0):
        argv = [NGINX, "-p", self.run_dir + "/", "-e", os.path.join(self.run_dir, "error.log"), "-c", self.conf]
        out = os.open(os.path.join(self.run_dir, "nginx.out"), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            self.proc = _spawn(argv, self.run_dir, stdout=out, stderr=subprocess.STDOUT)
        finally:
            os.close(out)
        deadline = time.monotonic() + ready_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("nginx for pod %s exited with %s; see %s/error.log"
                                   % (self.name, self.proc.returncode, self.run_dir))
            if port_open(self.port):
                LOG.info("backend pod %s: nginx pid %d on 127.0.0.1:%d", self.name, self.proc.pid, self.port)
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError("nginx for pod %s did not listen on 127.0.0.1:%d within %.0fs"
                           % (self.name, self.port, ready_timeout))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        _terminate(self.proc)


class ContainerProc:
    """One frontend container: its own command, output into a CRI log file, restartable."""

    def __init__(self, pod, container, argv, env, work_dir):
        self.pod = pod
        self.container = container
        self.argv = list(argv)
        self.env = dict(env)
        self.work_dir = os.path.abspath(work_dir)
        os.makedirs(self.work_dir, exist_ok=True)
        self.log = cri.CriLogFile(os.path.join(self.work_dir, "current.log"),
                                  os.path.join(self.work_dir, "previous.log"))
        self.proc = None
        self.restarts = 0
        self.started_at = 0.0
        self.started_wall = None  # RFC 3339, for the pod status
        self._pumps = []

    def start(self):
        self.proc = _spawn(self.argv, self.work_dir, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.started_at = time.monotonic()
        self.started_wall = rfc3339_now()
        self._pumps = [
            threading.Thread(target=self.log.pump, args=("stdout", self.proc.stdout), daemon=True,
                             name="pump-%s-out" % self.pod),
            threading.Thread(target=self.log.pump, args=("stderr", self.proc.stderr), daemon=True,
                             name="pump-%s-err" % self.pod),
        ]
        for thread in self._pumps:
            thread.start()
        LOG.info("frontend pod %s/%s: pid %d, log %s", self.pod, self.container, self.proc.pid, self.log.path)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        _terminate(self.proc)
        for thread in self._pumps:
            thread.join(2.0)
        self._pumps = []

    def restart(self):
        """What the kubelet does on a container restart: stop, rotate the log, start anew."""
        self.stop()
        self.log.rotate()
        self.restarts += 1
        self.start()
        LOG.info("frontend pod %s/%s restarted (%d)", self.pod, self.container, self.restarts)

    def close(self):
        self.stop()
        self.log.close()
