# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

import pytest
from ansible.errors import AnsibleFilterError

FALLBACK = {"coding": "qwen2.5-coder:7b", "general": "llama3.1:8b", "backup": "mistral:7b"}
TIMESTAMP = "2025-01-15T10:30:00Z"
NAME_EXPECTED = "an Ollama model name such as llama3.1:8b ([host/][namespace/]model[:tag])"
TIME_EXPECTED = "an RFC 3339 date-time with a time zone, such as 2025-01-15T10:30:00Z"

_PROBLEM_LINE = re.compile(r"^- (.+?): expected (.*)$")


def problems_of(call, *args, **kwargs):
    """Run a filter that must fail; return its problem lines as [(path, rest of line)] in message order."""
    with pytest.raises(AnsibleFilterError) as info:
        call(*args, **kwargs)
    lines = str(info.value.message).splitlines()
    problems = [_PROBLEM_LINE.match(line).groups() for line in lines[1:]]
    assert lines[0].endswith("(%d problem%s):" % (len(problems), "" if len(problems) == 1 else "s"))
    return problems


def paths_of(call, *args, **kwargs):
    return [problem[0] for problem in problems_of(call, *args, **kwargs)]
