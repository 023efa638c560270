# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fixtures for the emulator's own tests: in-process emulators, raw HTTP, subprocesses."""

import os
import select
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import ollama_emulator  # noqa: E402
from emulator_testlib import EMULATOR_PY, Api, wait_until  # noqa: E402


@pytest.fixture
def make_emulator():
    started = []

    def make(**options):
        emulator = ollama_emulator.start_emulator(**options)
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emulator(make_emulator):
    return make_emulator(env={})


@pytest.fixture
def api(emulator):
    return Api(emulator.url)


@pytest.fixture
def poll():
    return wait_until


class Spawned:
    def __init__(self, proc, url):
        self.proc = proc
        self.url = url


@pytest.fixture
def spawn():
    """Start `ollama_emulator.py` as a subprocess and wait for its `listening on` line."""
    procs = []

    def start(*args, env=None, python=None, wait=True, timeout=20):
        full_env = dict(os.environ)
        for name in list(full_env):
            if name.startswith("OLLAMA_"):
                del full_env[name]
        full_env.update(env or {})
        proc = subprocess.Popen(
            [python or sys.executable, EMULATOR_PY, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            text=True,
        )
        procs.append(proc)
        if not wait:
            return Spawned(proc, None)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _unused, _unused = select.select([proc.stdout], [], [], 0.2)
            if ready:
                line = proc.stdout.readline()
                if line.startswith("listening on "):
                    return Spawned(proc, line.split(" ", 2)[2].strip())
                if not line and proc.poll() is not None:
                    break
        proc.kill()
        pytest.fail("emulator did not announce itself: %s" % proc.stderr.read())

    yield start
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            stream.close()
