"""Make ``ansible_collections.meshlab.canary`` importable for plain ``pytest tests/unit``.

``make setup`` links the checkout as .collections/ansible_collections/meshlab/canary; without it (or under a
fresh clone) a temporary link is made. Under ``ansible-test units`` the collection is already importable and
this changes nothing.
"""

import importlib.util
import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_root():
    made = os.path.join(REPO, ".collections")
    if os.path.isdir(os.path.join(made, "ansible_collections", "meshlab", "canary", "plugins")):
        return made
    root = tempfile.mkdtemp(prefix="meshlab-canary-units-")
    os.makedirs(os.path.join(root, "ansible_collections", "meshlab"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "meshlab", "canary"))
    return root


def _importable():
    try:
        return importlib.util.find_spec("ansible_collections.meshlab.canary.plugins.module_utils") is not None
    except ImportError:
        return False


if not _importable():
    sys.path.insert(0, _collection_root())
