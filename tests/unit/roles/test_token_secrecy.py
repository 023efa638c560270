# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The API token never reaches the output of the models role, even with --diff -vvv.

The warm-up tasks of the role run from a small playbook on this machine, as the role runs them on a
systemd host; only the unit start fails (no systemd here), after every file has been written.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import PLAYBOOK_COMMAND, ROOT, collections_path


pytestmark = pytest.mark.skipif(PLAYBOOK_COMMAND is None or os.geteuid() != 0, reason="needs ansible-playbook and root")


def _needles(token):
    # Half a token is a leak too (a truncated or partly masked copy).
    return {token, token[: len(token) // 2], token[len(token) // 2 :]}


def _leaks(text, token):
    """Lines holding the token or half of it, with those parts masked so a failure never prints it."""
    found = []
    for line in text.splitlines():
        hits = [needle for needle in _needles(token) if needle in line]
        if hits:
            masked = line
            for needle in sorted(hits, key=len, reverse=True):
                masked = masked.replace(needle, "<PART OF THE TOKEN>")
            found.append(masked[:300])
    return found


def test_the_leak_search_finds_a_token_and_never_shows_it():
    token = secrets.token_hex(24)
    found = _leaks('a\n+    "api_token": "%s",\nb %s\n' % (token, token[:24]), token)
    assert len(found) == 2
    assert not any(part in line for line in found for part in _needles(token))


def _write_playbook(tmp_path, state, token):
    slots = [
        {"slot": 1, "role": "coding", "name": "coding-primary", "base_model": "qwen2.5-coder:14b", "num_ctx": 32768},
    ]
    play = [
        {
            "name": "Run the warm-up tasks of the models role with a token",
            "hosts": "all",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Warm up",
                    "ansible.builtin.include_role": {"name": "llmops.ollama.models", "tasks_from": "warmup.yml"},
                    "vars": {
                        "models_api_token": token,
                        "models_url": "http://127.0.0.1:9",
                        "models_config_dir": str(state / "etc"),
                        "models_state_dir": str(state / "var"),
                        "models_warmup_program": str(state / "libexec" / "ollama-warmup.py"),
                        "models_systemd_dir": str(state / "systemd"),
                        "models_warmup_service": "llmops-test-no-such-warmup-%s.service" % secrets.token_hex(4),
                        "_models_service_managed": True,
                        "_models_slots": slots,
                        "_models_extras": [],
                        "_models_largest_bytes": 9 * 2**30,
                        "_models_previous": {"pulled": [], "variants": [], "warmed": []},
                        "_models_record": {"pulled": [], "variants": [], "warmed": []},
                        "__models_info": {"models": [], "loaded": []},
                    },
                }
            ],
        }
    ]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    return path


def test_a_token_never_reaches_the_output_or_the_log_and_its_file_is_root_only(tmp_path):
    token = secrets.token_hex(24)
    state = tmp_path / "host"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "gpu-test": {
                            "ansible_connection": "local",
                            "ansible_python_interpreter": sys.executable,
                            "ansible_become_method": "ansible.builtin.su",
                        }
                    }
                }
            }
        )
    )
    log = tmp_path / "ansible.log"
    done = subprocess.run(
        [
            PLAYBOOK_COMMAND,
            "-i",
            str(inventory),
            "--diff",
            "-vvv",
            str(_write_playbook(tmp_path, state, token)),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=str(ROOT),
        env=dict(
            os.environ,
            ANSIBLE_COLLECTIONS_PATH=collections_path(),
            ANSIBLE_NOCOLOR="1",
            ANSIBLE_LOG_PATH=str(log),
            ANSIBLE_DIFF_ALWAYS="true",
        ),
    )
    output = done.stdout + done.stderr
    # Everything was written; only starting the unit failed (no systemd here).
    config = state / "etc" / "warmup.json"
    assert config.exists(), _leaks(output, token) or output[-3000:]
    # Diffs are printed in this run (the unit file's), so the search below could see a token.
    assert "ollama-warmup.py --config" in output
    assert _leaks(output, token) == []
    assert _leaks(log.read_text(), token) == []
    # The token does reach the program, through a file only root can read.
    assert json.loads(config.read_text())["api_token"] == token
    info = config.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, 0)
