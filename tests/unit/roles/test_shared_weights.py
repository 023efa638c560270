# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The models role keeps the slot variants loaded, not their base models.

Ollama runs one runner per weights file, listed under the name that loaded it, and reloads it when
num_ctx changes (the emulator does the same). playbooks/03_ollama.yml runs on this machine against the
emulator, with service management off (the play loads the models) and every path under tmp_path.
"""

from __future__ import annotations

import json
import os

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import EMULATOR, PLAYBOOK_COMMAND, call, run_play


pytestmark = pytest.mark.skipif(
    PLAYBOOK_COMMAND is None or not EMULATOR.exists() or os.geteuid() != 0,
    reason="needs ansible-playbook, the emulator and root",
)


# A system prompt that templating and the Modelfile must both leave alone.
PROMPT = 'Réponds en français ✓.\nPaths look like C:\\Users\\me and "\\n" stays two characters.\n  Indented "quote".'


def _converge(tmp_path, url, selection, **extra):
    selection_file = tmp_path / "model_selection.json"
    selection_file.write_text(json.dumps(dict({"timestamp": "2025-01-15T10:30:00Z"}, **selection)))
    variables = {
        "models_selection_file": str(selection_file),
        "models_fallback": {"coding": "qwen2.5-coder:1.5b-base", "general": "llama3.1:8b", "backup": "mistral:7b"},
        "models_url": url,
    }
    variables.update(extra)
    return run_play(tmp_path, variables)


def _put_local(url, *names):
    for name in names:
        call(url, "POST", "/_emulator/local", {"model": name, "from_catalog": name})


def _loaded(url):
    return sorted(entry["name"] for entry in call(url, "GET", "/api/ps")["models"])


def test_a_base_model_loaded_by_hand_makes_way_for_its_variant(emulator, tmp_path):
    _put_local(emulator, "qwen2.5-coder:1.5b-base", "llama3.1:8b", "mistral:7b")
    # Someone ran the base by hand, with the context the coding variant asks for: the variant would be
    # served by this runner, listed under the base's name.
    call(
        emulator,
        "POST",
        "/api/generate",
        {"model": "qwen2.5-coder:1.5b-base", "keep_alive": -1, "stream": False, "options": {"num_ctx": 32768}},
    )
    done = _converge(tmp_path, emulator, {})
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert _loaded(emulator) == ["backup:latest", "coding-primary:latest", "general-primary:latest"]


def test_two_slots_with_one_base_and_two_context_sizes_are_named_as_the_cause(emulator, tmp_path):
    _put_local(emulator, "qwen2.5-coder:1.5b-base", "mistral:7b")
    done = _converge(
        tmp_path,
        emulator,
        {"slot1_coding": "qwen2.5-coder:1.5b-base", "slot2_general": "qwen2.5-coder:1.5b-base"},
        models_require_fit=True,
    )
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "coding-primary and general-primary are built FROM qwen2.5-coder:1.5b-base" in output, output[-4000:]
    assert "evict each other" in output
    # Refused before any model was loaded.
    assert _loaded(emulator) == []


def test_two_slots_sharing_one_runner_both_count_as_loaded(emulator, tmp_path):
    _put_local(emulator, "qwen2.5-coder:1.5b-base", "mistral:7b")
    # Same weights, same context: one runner, listed under whichever variant loaded it first.
    done = _converge(
        tmp_path,
        emulator,
        {"slot1_coding": "qwen2.5-coder:1.5b-base", "slot2_general": "qwen2.5-coder:1.5b-base"},
        models_variants={"general": {"num_ctx": 32768, "system": PROMPT}},
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert _loaded(emulator) == ["backup:latest", "coding-primary:latest"]
    assert "general-primary:latest: kept forever by the runner of another name" in output
    # The prompt reaches the server as written: line breaks, backslashes, quotes, non-ASCII text.
    assert call(emulator, "POST", "/api/show", {"model": "general-primary"})["system"] == PROMPT
