# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Long pulls are not silent: the role prints progress on the controller while a pull runs.

Runs the role's pull step with ansible-playbook against an emulator that downloads slowly, and
reads what the controller printed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import EMULATOR, PLAYBOOK_COMMAND, collections_path


PLAYBOOK = """
- name: Pull through the role's pull step
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/llmops.ollama.ollama:
      url: "{{ emulator_url }}"
  tasks:
    - name: Pull the models of one slot
      ansible.builtin.include_role:
        name: llmops.ollama.models
        tasks_from: pull.yml
      vars:
        _models_slots:
          - {slot: 1, role: coding, name: coding-primary, base_model: mistral:7b, num_ctx: 8192, source: fallback}
"""


@pytest.mark.skipif(
    not EMULATOR.exists() or PLAYBOOK_COMMAND is None or os.geteuid() != 0,
    reason="needs the emulator, ansible-playbook and root (the role writes its state directory)",
)
def test_a_long_pull_reports_progress_on_the_controller(tmp_path):
    # mistral:7b is about 4.4 GB: at 250 MB/s the pull takes ~17 s, several progress intervals of 1 s.
    emulator = subprocess.Popen(
        [sys.executable, str(EMULATOR), "--host", "127.0.0.1", "--port", "0", "--pull-bytes-per-second", "250000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        url = emulator.stdout.readline().split()[-1].rstrip("/")
        playbook = tmp_path / "pull.yml"
        playbook.write_text(PLAYBOOK)
        env = dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=collections_path(),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOCALHOST_WARNING="0",
            ANSIBLE_BECOME_METHOD="ansible.builtin.su",
        )
        done = subprocess.run(
            [
                PLAYBOOK_COMMAND,
                "-i",
                "localhost,",
                "-c",
                "local",
                "-e",
                "ansible_python_interpreter=%s" % sys.executable,
                "-e",
                json.dumps(
                    {
                        "emulator_url": url,
                        "models_state_dir": str(tmp_path / "state"),
                        "models_progress_interval": 1,
                    }
                ),
                str(playbook),
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=300,
            check=False,
            cwd=str(tmp_path),
        )
        with urllib.request.urlopen(url + "/api/tags", timeout=10) as response:
            local = [entry["name"] for entry in json.loads(response.read())["models"]]
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    percents = [float(value) for value in re.findall(r"Pulling mistral:7b: [^,]*, ([0-9.]+)% of", done.stdout)]
    assert len(percents) >= 2, done.stdout[-3000:]
    assert percents == sorted(percents)
    assert 0 < percents[-1] <= 100
    assert re.search(r"Pulling mistral:7b: .*GiB\s+at [0-9.]+ MiB/s", done.stdout)
    assert "mistral:7b" in local
