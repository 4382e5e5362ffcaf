"""Make ``ansible_collections.meshlab.canary`` importable (the filter and _verdict), as tests/unit/conftest.py does:
``make setup`` links the checkout as .collections/ansible_collections/meshlab/canary; without it a temporary
link is made."""

import os
import sys
import tempfile

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _collection_root():
    made = os.path.join(REPO, ".collections")
    if os.path.isdir(os.path.join(made, "ansible_collections", "meshlab", "canary", "plugins")):
        return made
    root = tempfile.mkdtemp(prefix="meshlab-canary-browser-")
    os.makedirs(os.path.join(root, "ansible_collections", "meshlab"))
    os.symlink(REPO, os.path.join(root, "ansible_collections", "meshlab", "canary"))
    return root


sys.path.insert(0, _collection_root())
