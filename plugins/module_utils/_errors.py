# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

# Private to the meshlab.canary collection: only its own plugins import this file. Names and behaviour
# may change in any release without notice; other collections and standalone modules must not use it.

"""The one exception type of meshlab.canary's module_utils.

Pure logic raises CanaryError; each module's main() turns it into fail_json once.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class CanaryError(Exception):
    """A domain error with a message for humans and optional result fields.

    ``fields`` are returned next to ``msg`` by the module, so that a failed
    task still carries (for example) the counts gathered so far.
    """

    def __init__(self, msg, **fields):
        super(CanaryError, self).__init__(msg)
        self.msg = msg
        self.fields = fields

    def __str__(self):
        return self.msg
