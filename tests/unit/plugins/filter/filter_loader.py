"""Load the collection's filter plugins straight from plugins/filter/.

They import only ansible-core, so loading them by path works with plain pytest from the
repository root and under ansible-test units alike, without an installed collection.
"""

import importlib.util
import pathlib

FILTER_DIR = pathlib.Path(__file__).resolve().parents[4] / "plugins" / "filter"


def load_filter_module(name):
    spec = importlib.util.spec_from_file_location("meshlab_canary_filter_" + name, FILTER_DIR / (name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
