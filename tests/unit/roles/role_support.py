# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What the tests that run the role as a user would share: paths, the emulator's API, the collection."""

from __future__ import annotations

import json
import shutil
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
