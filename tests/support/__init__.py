"""Shared helpers for the test suites that talk to the local cluster (cluster, dataplane, integration, e2e).

Every suite imports them the same way: put ``<repo>/tests`` on ``sys.path`` and
``from support import waiting``. Nothing here starts a cluster; see ``tests/cluster/``.

- ``waiting``: bounded waits without start-up races, CRD apply/delete (Established and served);
- ``fixtures``: the fixture CRDs from the shared chart cache;
- ``localcluster-inventory.yml``: the lab's settings on the local cluster, shared by molecule
  ``default`` (an inventory source) and ``tests/e2e`` (extra vars).
"""
