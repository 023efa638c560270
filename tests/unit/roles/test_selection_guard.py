# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An invalid model_selection.json stops playbooks/03_ollama.yml before any host changes."""

from __future__ import annotations

import json

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import PLAYBOOK, PLAYBOOK_COMMAND, ROOT, run_play


pytestmark = pytest.mark.skipif(PLAYBOOK_COMMAND is None or not PLAYBOOK.exists(), reason="needs ansible-playbook")


def test_an_invalid_selection_file_stops_the_play_before_any_change(tmp_path):
    selection = tmp_path / "model_selection.json"
    # A typo in a slot key must never fall back silently; a bad name neither.
    selection.write_text(
        json.dumps(
            {
                "timestamp": "2025-01-15T10:30:00Z",
                "slot1_codeing": "qwen2.5-coder:14b",
                "slot2_general": "Not A/Valid:Name:",
            }
        )
    )
    done, output, state = _run_play(tmp_path, models_selection_file=str(selection))
    assert done.returncode != 0, output[-3000:]
    assert "slot1_codeing" in output
    assert "Map the selection file onto the four slots" in output
    assert not state.exists()
    assert "changed=0" in output


def _run_play(tmp_path, **extra_vars):
    variables = {"models_url": "http://127.0.0.1:9", "models_api_wait_timeout": 1}
    variables.update(extra_vars)
    done = run_play(tmp_path, variables, timeout=300)
    return done, done.stdout + done.stderr, tmp_path / "host"


@pytest.mark.parametrize("name", ["invalid_empty.json", "invalid_not_json.json", "invalid_truncated.json"])
def test_a_selection_file_that_is_not_json_is_named_with_the_fix(tmp_path, name):
    selection = tmp_path / "model_selection.json"
    selection.write_bytes((ROOT / "tests" / "data" / "selection" / name).read_bytes())
    done, output, state = _run_play(tmp_path, models_selection_file=str(selection))
    assert done.returncode != 0, output[-3000:]
    assert "%s is not valid JSON" % selection in output, output[-3000:]
    assert "delete it" in output
    assert not state.exists()


def test_a_system_prompt_that_would_end_the_modelfile_block_is_refused(tmp_path):
    variants = {"general": {"system": 'Reply with """\ncode\n""" blocks.'}}
    done, output, state = _run_play(
        tmp_path, models_selection_file=str(tmp_path / "absent.json"), models_variants=variants
    )
    assert done.returncode != 0, output[-3000:]
    assert "models_variants.general.system" in output, output[-3000:]
    assert not state.exists()
