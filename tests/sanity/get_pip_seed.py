"""Offline stand-in for ansible-test's get-pip bootstrap script.

ansible-test creates pip-less virtual environments and runs a cached ``get_pip_<ver>.py``
(normally downloaded from a host that is unreachable here) as ``__main__`` with pip's
arguments.  This script bootstraps pip from the interpreter's own ``ensurepip`` and then
installs what was asked for (``pip==X``) from the package index configured in pip.conf.
``--no-setuptools``/``--no-wheel`` are get-pip options that pip itself does not know.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ("--no-setuptools", "--no-wheel")


def main():
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    saved = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    os.environ.clear()
    os.environ.update(saved)
    return subprocess.call([sys.executable, "-m", "pip", "install"] + args)


if __name__ == "__main__":
    sys.exit(main())
