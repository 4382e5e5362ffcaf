"""The tutorial's objects (Microservices March 2022 canary lab) as API dicts.

Used by meshsim's benchmark and tests; the ``apps`` role is the source of truth
for what the collection deploys, these mirror the tutorial's YAML.
"""

NGINX_CONF = """events {}
http {
  server {
    listen 80;
    location / {
      return 200 '{"name":"backend","version":"%s"}';
    }
  }
}"""
FRONTEND_COMMAND = ["/bin/sh", "-c", "--"]
FRONTEND_ARGS = "sleep 10; while true; do curl -s http://backend-svc/; sleep 1 && echo ' '; done"


def configmap(version):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "backend-v" + version},
            "data": {"nginx.conf": NGINX_CONF % version}}


def backend_deployment(version, replicas=1):
    labels = {"app": "backend", "version": version}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "backend-v" + version},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{
                                      "name": "backend-v" + version, "image": "nginx",
                                      "ports": [{"containerPort": 80}],
                                      "volumeMounts": [{"mountPath": "/etc/nginx", "name": "nginx-config"}]}],
                                      "volumes": [{"name": "nginx-config",
                                                   "configMap": {"name": "backend-v" + version}}]}}}}


def frontend_deployment(args=FRONTEND_ARGS):
    labels = {"app": "frontend"}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "frontend"},
            "spec": {"selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "frontend", "image": "curlimages/curl:7.72.0",
                                                           "command": list(FRONTEND_COMMAND), "args": [args]}]}}}}


def service(name, selector, labels=None):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "labels": dict(labels or selector)},
            "spec": {"ports": [{"port": 80, "targetPort": 80}], "selector": dict(selector)}}


def services():
    return [service("backend-svc", {"app": "backend"}),
            service("backend-v1", {"app": "backend", "version": "1"}),
            service("backend-v2", {"app": "backend", "version": "2"})]


def traffic_split(v1, v2, name="backend-ts"):
    return {"apiVersion": "split.smi-spec.io/v1alpha3", "kind": "TrafficSplit",
            "metadata": {"name": name},
            "spec": {"service": "backend-svc",
                     "backends": [{"service": "backend-v1", "weight": v1}, {"service": "backend-v2", "weight": v2}]}}
