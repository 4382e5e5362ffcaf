"""Router counters: the status page must list routed and unrouted responses side by side."""

from meshsim_lib import proxy


def test_status_sorts_unrouted_next_to_routed_responses():
    router = proxy.Router(lambda: None)
    router.record("backend-svc", "backend-v1", "p", 200)
    router.record("backend-svc", None, None, 503)
    router.record("backend-svc", "backend-v1", "p", 200)

    rows = router.status()["requests"]

    assert rows == [
        {"root": "backend-svc", "service": None, "pod": None, "status": 503, "count": 1},
        {"root": "backend-svc", "service": "backend-v1", "pod": "p", "status": 200, "count": 2},
    ]
