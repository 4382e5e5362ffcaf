"""nginx.conf from the pod's ConfigMap, rewritten only to run on loopback."""

import http.client
import os
import subprocess

import pytest

from meshsim_lib import faults, nginxconf, procs

from meshsim_lib.tutorial import NGINX_CONF


def _nginx_test(conf_text, run_dir):
    path = os.path.join(run_dir, "nginx.conf")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(conf_text)
    return subprocess.run([procs.NGINX, "-t", "-p", run_dir + "/", "-e", os.path.join(run_dir, "error.log"),
                           "-c", path], capture_output=True, text=True, check=False)


def test_tutorial_conf_rewritten_and_accepted_by_nginx(tmp_path):
    out = nginxconf.rewrite(NGINX_CONF % "1", 18080, str(tmp_path))
    assert "listen 127.0.0.1:18080;" in out
    assert "listen 80" not in out
    assert "return 200 '{\"name\":\"backend\",\"version\":\"1\"}';" in out  # the app itself is untouched
    assert "pid %s/nginx.pid;" % tmp_path in out and "daemon off;" in out
    assert "client_body_temp_path %s/client_body_temp;" % tmp_path in out
    result = _nginx_test(out, str(tmp_path))
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("listen,expected", [
    ("listen 80 default_server;", "listen 127.0.0.1:9999 default_server;"),
    ("listen *:80;", "listen 127.0.0.1:9999;"),
    ("listen 0.0.0.0:80;", "listen 127.0.0.1:9999;"),
    ("listen 80; listen [::]:80 ipv6only=on;", "listen 127.0.0.1:9999; "),
])
def test_listen_forms(listen, expected, tmp_path):
    conf = "events {}\nhttp { server { %s return 204; } }" % listen
    out = nginxconf.rewrite(conf, 9999, str(tmp_path))
    assert expected in out
    assert "[::]" not in out


@pytest.mark.parametrize("conf,message", [
    ("events {}\nhttp { server { listen 10.1.2.3:80; } }", "fixed address"),
    ("events {}\nhttp { server { listen 8080; } }", "not a declared containerPort"),
    ("events {}\nhttp { server { return 200; } }", "no 'listen'"),
    ("events {}\nstream { server { listen 80; } }", "no 'http {'"),
    ("events {}\nhttp { proxy_temp_path /x; server { listen 80; } }", "proxy_temp_path"),
])
def test_rejects_what_cannot_run_on_loopback(conf, message, tmp_path):
    with pytest.raises(nginxconf.ConfigError, match=message):
        nginxconf.rewrite(conf, 9999, str(tmp_path))


def test_existing_pid_and_daemon_are_replaced_not_duplicated(tmp_path):
    conf = "pid /run/nginx.pid;\ndaemon on;\nevents {}\nhttp { server { listen 80; return 204; } }"
    out = nginxconf.rewrite(conf, 9999, str(tmp_path))
    assert out.count("pid ") == 1 and "/run/nginx.pid" not in out
    assert out.count("daemon ") == 1 and "daemon off;" in out
    assert _nginx_test(out, str(tmp_path)).returncode == 0


def test_declared_container_port_other_than_80(tmp_path):
    out = nginxconf.rewrite("events {}\nhttp { server { listen 8080; return 204; } }", 9999, str(tmp_path), [8080])
    assert "listen 127.0.0.1:9999;" in out


def test_fault_flags_are_tested_at_the_top_of_each_server_block(tmp_path):
    conf = NGINX_CONF % "2" + "\n# server { return 404; }\n"
    out = nginxconf.rewrite(conf, 18080, str(tmp_path), worker_user="root")
    hooks = ["if (-f %s) {" % nginxconf.fault_flag(str(tmp_path), m) for m in nginxconf.FAULT_MODES]
    server = out.index("  server {")
    assert all(out.index(h) > server for h in hooks) and all(out.count(h) == 1 for h in hooks)
    assert "return 500 '%s';" % faults.HTTP500_BODY.decode() in out and "return 200 '';" in out
    assert out.rstrip().endswith("# server { return 404; }")  # a commented-out block stays untouched
    assert "user root;" in out
    result = _nginx_test(out, str(tmp_path))
    assert result.returncode == 0, result.stderr


def test_flag_files_switch_the_answer_of_a_running_nginx(tmp_path):
    pod = procs.NginxPod("backend-v2-a", str(tmp_path / "pod"), {"nginx.conf": NGINX_CONF % "2"})
    pod.start()
    try:
        def answer():
            conn = http.client.HTTPConnection("127.0.0.1", pod.port, timeout=5)
            try:
                conn.request("GET", "/")
                resp = conn.getresponse()
                return resp.status, resp.read().decode()
            finally:
                conn.close()
        assert answer() == (200, '{"name":"backend","version":"2"}')
        assert pod.set_fault("http500") and answer() == (500, faults.HTTP500_BODY.decode())
        assert not pod.set_fault("http500")  # unchanged
        assert pod.set_fault("empty") and answer() == (200, "")
        assert pod.set_fault("bad") and answer()[0] == 502
        assert pod.set_fault("none") and answer() == (200, '{"name":"backend","version":"2"}')
        assert not any(os.path.exists(nginxconf.fault_flag(pod.run_dir, m)) for m in nginxconf.FAULT_MODES)
    finally:
        pod.stop()
