"""pytest set-up for the meshsim (loopback mesh stand-in) tests: makes ``meshsim_lib`` importable."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
