# -*- coding: utf-8 -*-

# Copyright: (c) 2026, meshlab.canary maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)

"""Action plugin of meshlab.canary.traffic_ratio_info: runs the module in rounds and prints progress between them.

The module measures for at most ``progress_interval`` seconds per call and returns ``finished: false`` with its
``state`` (counts, sequential tests, what was read) while undecided; this plugin prints the round's progress line
on the controller (standard error, whatever the stdout callback) and calls the module again with ``resume`` set to that state, until it finishes or fails. The
sequential tests depend only on what was counted, so the rounds give the decision one call would.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.meshlab.canary.plugins.module_utils._progress import progress_line

display = Display()

MODULE = "meshlab.canary.traffic_ratio_info"


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        if args.get("resume") is not None:
            raise AnsibleActionFail("resume is set by the traffic_ratio_info action plugin between rounds; remove it "
                                    "from the task")
        host = (task_vars or {}).get("inventory_hostname", "localhost")
        rounds = 0
        while True:
            module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
            rounds += 1
            if module_result.get("failed") or module_result.get("finished", True):
                break
            state, progress = module_result.get("state"), module_result.get("progress")
            if not isinstance(state, dict) or not isinstance(progress, dict):
                raise AnsibleActionFail("traffic_ratio_info returned an unfinished round without state and progress")
            # on stderr: progress is not a result, and a machine-readable stdout callback (json) stays parsable
            display.display("[{0}] traffic_ratio_info round {1}: {2}".format(host, rounds, progress_line(progress)),
                            stderr=True)
            args = dict(args, resume=state)
        for internal in ("state", "progress", "finished"):
            module_result.pop(internal, None)
        # the invocation shows the task's arguments, not the state handed from round to round
        ((module_result.get("invocation") or {}).get("module_args") or {}).pop("resume", None)
        module_result["rounds"] = rounds
        result.update(module_result)
        return result
