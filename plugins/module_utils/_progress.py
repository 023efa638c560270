# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Progress accounting for streamed pulls and creates.

PRIVATE to the collection: may change at any time. Keeps one number per layer (constant memory
however many progress lines arrive) and, when asked, rewrites a small JSON file that another
process can poll: ``{model, status, completed, total, percent, rate, updated}``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile
import time


class Progress:
    """Sums ``completed``/``total`` over layers and writes the optional progress file."""

    def __init__(self, model, path=None, clock=time.monotonic, wall=time.time, min_interval=1.0):
        self.model = model
        self.path = path
        self.clock = clock
        self.wall = wall
        self.min_interval = min_interval
        self.started = clock()
        self.layers = {}
        self.status = None
        self.lines = 0
        self._last_write = None
        self.write_errors = []

    @property
    def completed(self):
        return sum(done for done, _total in self.layers.values())

    @property
    def total(self):
        return sum(total for _done, total in self.layers.values())

    def seconds(self):
        return max(self.clock() - self.started, 0.0)

    def rate(self):
        seconds = self.seconds()
        return int(self.completed / seconds) if seconds > 0 else None

    def update(self, line):
        """Account one NDJSON line; returns True when it showed progress."""
        self.lines += 1
        before = (self.status, self.completed)
        self.status = line.get("status") or self.status
        digest = line.get("digest")
        if digest and (line.get("total") or line.get("completed")):
            done, total = self.layers.get(digest, (0, 0))
            self.layers[digest] = (
                max(done, int(line.get("completed") or 0)),
                max(total, int(line.get("total") or 0)),
            )
        if self.path:
            now = self.clock()
            if self._last_write is None or now - self._last_write >= self.min_interval:
                self.write()
        return (self.status, self.completed) != before

    def record(self):
        total = self.total
        return {
            "model": self.model,
            "status": self.status,
            "completed": self.completed,
            "total": total,
            "percent": round(100.0 * self.completed / total, 1) if total else None,
            "rate": self.rate(),
            "updated": self.wall(),
        }

    def write(self):
        """Replace the progress file atomically; a failure is remembered, never fatal."""
        if not self.path:
            return
        self._last_write = self.clock()
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            handle, temp = tempfile.mkstemp(prefix=".progress-", dir=directory)
            try:
                with os.fdopen(handle, "w") as stream:
                    json.dump(self.record(), stream)
                os.replace(temp, self.path)
            except Exception:
                os.unlink(temp)
                raise
        except OSError as exc:
            if not self.write_errors:
                self.write_errors.append("could not write progress_path %s: %s" % (self.path, exc))

    def summary(self):
        seconds = self.seconds()
        return {
            "bytes": self.completed,
            "total": self.total,
            "seconds": round(seconds, 3),
            "rate": self.rate(),
            "lines": self.lines,
        }
