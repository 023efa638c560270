# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the tests that run the role as a user would share: paths, the emulator's API, the collection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
EMULATOR = ROOT / "tests" / "emulator" / "ollama_emulator.py"
PLAYBOOK = ROOT / "playbooks" / "03_ollama.yml"
# The ansible-playbook next to this Python (a virtualenv run without activating it), else the PATH one.
PLAYBOOK_COMMAND = shutil.which("ansible-playbook", path=str(Path(sys.executable).parent)) or shutil.which(
    "ansible-playbook"
)


def collections_path():
    # A checkout finds itself through .collections/; an ansible_collections tree is found directly.
    if ROOT.parent.parent.name == "ansible_collections":
        return str(ROOT.parents[2])
    return str(ROOT / ".collections")


def call(url, method, path, payload=None):
    """One JSON request to the emulator (API or control plane); None for an empty answer."""
    data = None if payload is None else json.dumps(payload).encode()
    request = urllib.request.Request(url + path, data=data, method=method)
    with urllib.request.urlopen(request, timeout=30) as response:
        body = response.read()
    return json.loads(body) if body.strip() else None


def run_play(tmp_path, variables, timeout=600):
    """``playbooks/03_ollama.yml`` as a user runs it, on this machine as host ``gpu-test``.

    Service management is off and every file the role writes lives under ``tmp_path / "host"``,
    which stays between runs of one test; ``variables`` (the play's ``-e``) come on top.
    """
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(json.dumps({"ollama": {"hosts": {"gpu-test": {"ansible_connection": "local"}}}}))
    state = tmp_path / "host"
    extra = {
        "ansible_python_interpreter": sys.executable,
        "ansible_become_method": "ansible.builtin.su",
        "models_manage_service": False,
        "models_config_dir": str(state / "etc"),
        "models_modelfile_dir": str(state / "modelfiles"),
        "models_state_dir": str(state / "var"),
        "models_warmup_program": str(state / "warmup.py"),
        "models_systemd_dir": str(state / "systemd"),
    }
    extra.update(variables)
    return subprocess.run(
        [PLAYBOOK_COMMAND, "-i", str(inventory), "-e", json.dumps(extra), str(PLAYBOOK)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=str(ROOT),
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=collections_path(), ANSIBLE_NOCOLOR="1"),
    )
