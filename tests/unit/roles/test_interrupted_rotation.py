# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A slot 4 rotation cut short by a failing pull or create is finished by a rerun, and the model
that was serving keeps serving until its replacement is pulled and built (docs/reliability.md, F7).

playbooks/03_ollama.yml runs on this machine against the emulator, with service management off
(the play loads the models) and every path under tmp_path. The emulator's request log shows what
the role asked the server, and in which order.
"""

from __future__ import annotations

import os

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import EMULATOR, PLAYBOOK_COMMAND, call, run_play


pytestmark = pytest.mark.skipif(
    PLAYBOOK_COMMAND is None or not EMULATOR.exists() or os.geteuid() != 0,
    reason="needs ansible-playbook, the emulator and root",
)

OLD = "smollm2:135m-instruct-fp16"
NEW = "qwen2.5-coder:7b-base"
FALLBACK = {"coding": "qwen2.5-coder:1.5b-base", "general": "llama3.1:8b", "backup": "mistral:7b"}
VARIANTS = ["backup:latest", "coding-primary:latest", "experimental:latest", "general-primary:latest"]


def _play(tmp_path, url, slot4_model, **extra):
    """Run the play as a user would (-e slot4_model=...); the host's state stays under tmp_path between runs."""
    variables = {
        "slot4_model": slot4_model,
        "models_selection_file": str(tmp_path / "no-selection.json"),
        "models_fallback": FALLBACK,
        "models_url": url,
    }
    variables.update(extra)
    done = run_play(tmp_path, variables)
    return done, done.stdout + done.stderr


def _local(url):
    """Model name -> manifest digest, as /api/tags lists them."""
    return {entry["name"]: entry["digest"] for entry in call(url, "GET", "/api/tags")["models"]}


def _serving(url):
    """Loaded name -> (digest, expiry): a reload, even of the same model, gives a new expiry."""
    return {entry["name"]: (entry["digest"], entry["expires_at"]) for entry in call(url, "GET", "/api/ps")["models"]}


def _forever(serving):
    return all(int(expires_at[:4]) > 2200 for _digest, expires_at in serving.values())


def _fault(url, **fault):
    call(url, "DELETE", "/_emulator/faults")
    if fault:
        call(url, "POST", "/_emulator/faults", fault)
    call(url, "DELETE", "/_emulator/requests")


def _requests(url):
    return call(url, "GET", "/_emulator/requests")["requests"]


def _is_unload(request, name):
    body = request["body"] if isinstance(request["body"], dict) else {}
    return (
        request["path"] == "/api/generate"
        and body.get("keep_alive") == 0
        and body.get("model", "").split(":")[0] == name.split(":")[0]
    )


def _writes(url):
    return [r for r in _requests(url) if r["method"] != "GET" and r["path"] not in ("/api/show",)]


def _assert_old_keeps_serving(url, serving_before, local_before):
    assert _serving(url) == serving_before, "a serving model was unloaded or reloaded"
    local = _local(url)
    assert local["experimental:latest"] == local_before["experimental:latest"]
    assert not [name for name in local if "candidate" in name]
    assert not [r for r in _requests(url) if _is_unload(r, "experimental")]


def test_an_interrupted_rotation_keeps_the_old_model_serving_and_a_rerun_finishes_it(emulator, tmp_path):
    for name in [*FALLBACK.values(), OLD]:
        call(emulator, "POST", "/_emulator/local", {"model": name, "from_catalog": name})
    done, output = _play(tmp_path, emulator, OLD)
    assert done.returncode == 0, output[-4000:]
    serving_before, local_before = _serving(emulator), _local(emulator)
    assert sorted(serving_before) == VARIANTS
    assert _forever(serving_before)

    # The new base model's pull dies halfway: the role stops before it touches any variant.
    _fault(emulator, kind="pull_fail", model=NEW, after_fraction=0.5, error="simulated registry failure")
    done, output = _play(tmp_path, emulator, NEW)
    assert done.returncode != 0, output[-4000:]
    assert "Failed to pull model '%s'" % NEW in output, output[-4000:]
    assert "simulated registry failure" in output
    _assert_old_keeps_serving(emulator, serving_before, local_before)
    assert not [r for r in _writes(emulator) if r["path"] in ("/api/create", "/api/delete")]
    assert not [name for name in _local(emulator) if name.startswith("qwen2.5-coder:7b")]

    # The pull goes through this time, but the server refuses to create any model.
    _fault(emulator, kind="create_fail", error="simulated create failure")
    done, output = _play(tmp_path, emulator, NEW)
    assert done.returncode != 0, output[-4000:]
    assert "Failed to create model 'experimental:latest'" in output, output[-4000:]
    assert "simulated create failure" in output
    assert "the previous model is unchanged and still loaded" in output
    _assert_old_keeps_serving(emulator, serving_before, local_before)
    assert NEW in _local(emulator)

    # The rerun finishes the rotation; with pruning on it also removes the old base model.
    _fault(emulator)
    done, output = _play(tmp_path, emulator, NEW, models_prune=True)
    assert done.returncode == 0, output[-4000:]
    local, serving = _local(emulator), _serving(emulator)
    assert sorted(serving) == VARIANTS
    assert _forever(serving)
    assert local["experimental:latest"] != local_before["experimental:latest"]
    assert serving["experimental:latest"][0] == local["experimental:latest"]
    shown = call(emulator, "POST", "/api/show", {"model": "experimental"})
    assert shown["details"]["parent_model"].endswith(NEW)
    assert OLD not in local
    assert not [name for name in local if "candidate" in name]
    # The other slots were not touched: same runner, same expiry.
    for name in VARIANTS:
        if name != "experimental:latest":
            assert serving[name] == serving_before[name], name
    # The old model left memory only once its replacement had been built under another name.
    log = _requests(emulator)
    built = [
        i
        for i, r in enumerate(log)
        if r["path"] == "/api/create" and r["status"] == 200 and "candidate" in (r["body"] or {}).get("model", "")
    ]
    unloads = [i for i, r in enumerate(log) if _is_unload(r, "experimental")]
    assert built and unloads, [(r["method"], r["path"], r["body"]) for r in log]
    assert built[0] < unloads[0]

    done, output = _play(tmp_path, emulator, NEW, models_prune=True)
    assert done.returncode == 0, output[-4000:]
    assert " changed=0 " in output, output[-3000:]
    assert _serving(emulator) == serving
