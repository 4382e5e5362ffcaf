"""Shared helpers for the test suites that talk to the local cluster (cluster, dataplane, integration, e2e).

Every suite imports them the same way: put ``<repo>/tests`` on ``sys.path`` and
``from support import waiting``. Nothing here starts a cluster; see ``tests/cluster/``.
"""
