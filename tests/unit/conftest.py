# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Shared fixtures: a fake Ollama behind ``_api.open_url``, a fake clock, and a module runner."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.llmops.ollama.plugins.module_utils import _api
from ansible_collections.llmops.ollama.tests.unit.plugins.module_utils.fake_ollama import FakeOllama


class FakeTime:
    """Monotonic clock that only moves when the code under test sleeps (no real waiting)."""

    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def time(self):
        return self.now


@pytest.fixture
def clock(monkeypatch):
    fake_time = FakeTime()
    monkeypatch.setattr(_api, "time", fake_time)
    return fake_time


@pytest.fixture
def fake(monkeypatch, clock):
    server = FakeOllama()
    monkeypatch.setattr(_api, "open_url", server)
    return server


class ModuleExit(Exception):
    def __init__(self, result, failed):
        super().__init__(result.get("msg"))
        self.result = result
        self.failed = failed


@pytest.fixture
def run_module(monkeypatch):
    """Run a module's ``main()`` with arguments; returns its result dict (``failed`` set on failure)."""

    def exit_json(self, **kwargs):
        kwargs.setdefault("changed", False)
        kwargs["warnings"] = list(getattr(self, "_llmops_warnings", []))
        raise ModuleExit(kwargs, False)

    def fail_json(self, msg, **kwargs):
        kwargs["msg"] = msg
        kwargs["failed"] = True
        raise ModuleExit(kwargs, True)

    def warn(self, warning):
        self.__dict__.setdefault("_llmops_warnings", []).append(warning)

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", exit_json)
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", fail_json)
    monkeypatch.setattr(basic.AnsibleModule, "warn", warn)

    def run(main, args, check_mode=False, diff=False):
        args = dict(args)
        args["_ansible_check_mode"] = check_mode
        args["_ansible_diff"] = diff
        with patch_module_args(args), pytest.raises(ModuleExit) as caught:
            main()
        result = caught.value.result
        # What Ansible would print must survive JSON, as a real run would send it.
        json.dumps(result)
        return result

    return run
