# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper, not part of the collection's content: records when each task starts and
when each host's result arrives, and writes them as JSON lines to $BENCH_TIMING_FILE when the
playbook ends. benchmarks/bench.py turns these records into per-task costs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: bench_timing
type: aggregate
short_description: task timings for benchmarks/bench.py
description: Writes one JSON line per task start and per host result to the file named by BENCH_TIMING_FILE.
options: {}
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_timing"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self._path = os.environ.get("BENCH_TIMING_FILE")
        self._events = []

    def _add(self, **event):
        event["t"] = time.monotonic()
        self._events.append(event)

    def v2_playbook_on_start(self, playbook):
        self._add(ev="playbook_start")

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._add(ev="task", uuid=task._uuid, name=task.get_name(), action=task.action)

    def v2_playbook_on_handler_task_start(self, task):
        self._add(ev="task", uuid=task._uuid, name=task.get_name(), action=task.action)

    def _result(self, status, result):
        data = result._result
        items = data.get("results") if isinstance(data.get("results"), list) else None
        event = {
            "ev": "result",
            "status": status,
            "host": result._host.get_name(),
            "uuid": result._task._uuid,
            "action": result._task.action,
            "changed": bool(data.get("changed")),
            "items": len(items) if items is not None else None,
        }
        # Benchmark control tasks (named "bench: ...") hand data to the harness, e.g. the
        # emulator's request log read by a uri task.
        if result._task.get_name().startswith("bench:") and isinstance(data.get("json"), dict):
            event["requests"] = len(data["json"].get("requests") or [])
        if items is not None:
            event["item_status"] = [
                "skipped" if item.get("skipped") else ("failed" if item.get("failed") else "ok") for item in items
            ]
        if status == "failed":
            event["msg"] = str(data.get("msg", ""))[:500]
        self._add(**event)

    def v2_runner_on_ok(self, result):
        self._result("ok", result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._result("ignored" if ignore_errors else "failed", result)

    def v2_runner_on_skipped(self, result):
        self._result("skipped", result)

    def v2_runner_on_unreachable(self, result):
        self._result("unreachable", result)

    def v2_playbook_on_stats(self, stats):
        self._add(ev="playbook_end")
        if not self._path:
            return
        with open(self._path, "a") as handle:
            for event in self._events:
                handle.write(json.dumps(event) + "\n")
