# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An emulator with room for every slot (two GPUs, eight loaded models) for the role's tests."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import EMULATOR


@pytest.fixture
def emulator():
    process = subprocess.Popen(
        [sys.executable, str(EMULATOR), "serve", "--host", "127.0.0.1", "--port", "0", "--gpus", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, OLLAMA_MAX_LOADED_MODELS="8"),
    )
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError("emulator did not start: %r" % line)
    yield line.split()[-1].rstrip("/")
    process.terminate()
    process.wait(timeout=10)
