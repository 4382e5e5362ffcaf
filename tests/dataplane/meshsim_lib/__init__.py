"""meshsim: a loopback stand-in for the service mesh data plane (tests only).

It is NOT NGINX Service Mesh. It materialises the lab's kwok pods as local
processes on 127.0.0.1 (nginx per backend pod, the frontend container command
per frontend pod) and routes ``http_proxy`` traffic by the TrafficSplit /
HTTPRoute weights read from the API, so the canary tests see real requests.
"""

ANNOTATION_PREFIX = "meshsim.test/"
