# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The warm-up program of the models role, run against the Ollama emulator.

The emulator runs as a subprocess (one per module, reset before each test); the program runs
in-process through ``main(argv, environ)`` or, for the exit status seen by systemd, as a subprocess.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ansible_collections.llmops.ollama.tests.unit.roles.role_support import EMULATOR, ROOT, call

PROGRAM = ROOT / "roles" / "models" / "files" / "ollama-warmup.py"

pytestmark = pytest.mark.skipif(not EMULATOR.exists(), reason="the Ollama emulator is not in this tree")


def _load_program():
    spec = importlib.util.spec_from_file_location("ollama_warmup", PROGRAM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


warmup = _load_program()


def _start_emulator(*extra, env=None):
    process = subprocess.Popen(
        [sys.executable, str(EMULATOR), "serve", "--host", "127.0.0.1", "--port", "0", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, **(env or {})),
    )
    line = process.stdout.readline()
    if not line.startswith("listening on "):
        process.kill()
        raise RuntimeError("emulator did not start: %r" % line)
    return process, line.split()[-1].rstrip("/")


def _stop(process):
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def emulator_process():
    # Room for four slots and an embedder, so only the tests that want evictions get them.
    process, url = _start_emulator("--gpus", "2", "--vram-gib", "48", env={"OLLAMA_MAX_LOADED_MODELS": "8"})
    yield url
    _stop(process)


class Emulator:
    def __init__(self, url):
        self.url = url

    def put_local(self, *names):
        for name in names:
            call(self.url, "POST", "/_emulator/local", {"model": name, "from_catalog": name})

    def requests(self, path=None):
        logged = call(self.url, "GET", "/_emulator/requests")["requests"]
        return [entry for entry in logged if path is None or entry["path"] == path]

    def loaded(self):
        with urllib.request.urlopen(self.url + "/api/ps", timeout=10) as response:
            return {entry["name"]: entry for entry in json.loads(response.read())["models"]}

    def fault(self, **fault):
        call(self.url, "POST", "/_emulator/faults", fault)


@pytest.fixture
def emulator(emulator_process):
    call(emulator_process, "POST", "/_emulator/reset")
    return Emulator(emulator_process)


def _config(tmp_path, url, models, **extra):
    path = tmp_path / "warmup.json"
    path.write_text(json.dumps(dict({"url": url, "models": models, "api_wait_timeout": 5}, **extra)))
    return str(path)


def _run(capsys, argv, environ=None):
    status = warmup.main(argv, environ={} if environ is None else environ)
    return status, capsys.readouterr().out.splitlines()


def _load_order(emulator):
    loads = [entry for entry in emulator.requests() if entry["path"] in ("/api/generate", "/api/embed")]
    return [entry["body"]["model"] for entry in loads]


def test_loads_slot_1_first_then_slots_2_to_4_then_extras(emulator, tmp_path, capsys):
    emulator.put_local("qwen2.5-coder:14b", "llama3.1:8b", "deepseek-coder-v2:16b", "mistral:7b", "all-minilm")
    models = [
        {"name": "all-minilm", "slot": None},
        {"name": "deepseek-coder-v2:16b", "slot": 3},
        {"name": "mistral:7b", "slot": 4},
        {"name": "qwen2.5-coder:14b", "slot": 1},
        {"name": "llama3.1:8b", "slot": 2},
    ]
    status, lines = _run(capsys, ["--config", _config(tmp_path, emulator.url, models)])
    assert status == 0, lines
    assert _load_order(emulator) == [
        "qwen2.5-coder:14b",
        "llama3.1:8b",
        "deepseek-coder-v2:16b",
        "mistral:7b",
        "all-minilm",
    ]
    assert set(emulator.loaded()) == {
        "qwen2.5-coder:14b",
        "llama3.1:8b",
        "deepseek-coder-v2:16b",
        "mistral:7b",
        "all-minilm:latest",
    }


def test_every_model_is_kept_forever_with_a_numeric_keep_alive(emulator, tmp_path, capsys):
    emulator.put_local("llama3.1:8b")
    # YAML and -e turn -1 into the string "-1", which the API would refuse with 400.
    config = _config(tmp_path, emulator.url, ["llama3.1:8b"], keep_alive="-1")
    status, lines = _run(capsys, ["--config", config])
    assert status == 0, lines
    (load,) = emulator.requests("/api/generate")
    assert load["body"]["keep_alive"] == -1
    assert warmup.is_forever(emulator.loaded()["llama3.1:8b"]["expires_at"])


def test_embedding_models_are_loaded_through_the_embed_api(emulator, tmp_path, capsys):
    emulator.put_local("nomic-embed-text", "llama3.1:8b")
    config = _config(tmp_path, emulator.url, ["llama3.1:8b", "nomic-embed-text"])
    status, lines = _run(capsys, ["--config", config])
    assert status == 0, lines
    embeds = emulator.requests("/api/embed")
    assert [(entry["body"]["model"], entry["body"]["input"]) for entry in embeds] == [("nomic-embed-text", [])]
    assert [entry["body"]["model"] for entry in emulator.requests("/api/generate")] == ["llama3.1:8b"]
    assert all(entry["status"] == 200 for entry in emulator.requests())
    assert warmup.is_forever(emulator.loaded()["nomic-embed-text:latest"]["expires_at"])
    assert any("nomic-embed-text" in line and "embedding" in line for line in lines)


def test_an_embedding_model_forced_to_completion_still_loads(emulator, tmp_path, capsys):
    emulator.put_local("nomic-embed-text")
    config = _config(tmp_path, emulator.url, [{"name": "nomic-embed-text", "kind": "completion"}])
    status, lines = _run(capsys, ["--config", config])
    assert status == 0, lines
    assert "nomic-embed-text:latest" in emulator.loaded()


def test_one_line_per_model_with_its_load_time(emulator, tmp_path, capsys):
    emulator.put_local("llama3.1:8b", "mistral:7b")
    status, lines = _run(capsys, ["--config", _config(tmp_path, emulator.url, ["llama3.1:8b", "mistral:7b"])])
    assert status == 0
    per_model = [line for line in lines if "] loaded " in line]
    assert len(per_model) == 2
    for name, line in zip(["llama3.1:8b", "mistral:7b"], per_model):
        assert name in line
        assert " in " in line and "s:" in line.split(" in ", 1)[1]
    assert lines[-1].endswith("all 2 model(s) loaded and kept in memory")


def test_carries_on_past_a_failing_model_and_names_it(emulator, tmp_path, capsys):
    emulator.put_local("llama3.1:8b", "mistral:7b", "deepseek-coder-v2:16b")
    emulator.fault(kind="load_oom", model="mistral:7b")
    models = ["llama3.1:8b", "mistral:7b", "not-there:1b", "deepseek-coder-v2:16b"]
    status, lines = _run(capsys, ["--config", _config(tmp_path, emulator.url, models)])
    assert status == warmup.EXIT_FAILED
    assert set(emulator.loaded()) == {"llama3.1:8b", "deepseek-coder-v2:16b"}
    summary = lines[-1]
    assert "2 of 4" in summary
    assert "mistral:7b" in summary and "not-there:1b" in summary
    assert "llama3.1:8b" not in summary.split("FAILED", 1)[1]


def test_reports_models_evicted_by_a_later_load(tmp_path, capsys):
    process, url = _start_emulator(env={"OLLAMA_MAX_LOADED_MODELS": "1"})
    try:
        Emulator(url).put_local("llama3.1:8b", "mistral:7b")
        status, lines = _run(capsys, ["--config", _config(tmp_path, url, ["llama3.1:8b", "mistral:7b"])])
    finally:
        _stop(process)
    assert status == warmup.EXIT_FAILED
    assert "llama3.1:8b (evicted" in lines[-1]


def test_exit_status_and_summary_as_systemd_sees_them(emulator, tmp_path):
    emulator.put_local("llama3.1:8b")
    config = _config(tmp_path, emulator.url, ["llama3.1:8b", "ghost:7b"])
    done = subprocess.run(
        [sys.executable, str(PROGRAM), "--config", config], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 1
    assert "FAILED: ghost:7b" in done.stdout.splitlines()[-1]


def test_reads_ollama_preload_models_without_a_config_file(emulator, tmp_path, capsys):
    emulator.put_local("llama3.1:8b", "nomic-embed-text")
    environ = {
        "OLLAMA_PRELOAD_MODELS": " llama3.1:8b, ,nomic-embed-text,",
        "OLLAMA_HOST": emulator.url,
        "OLLAMA_PRELOAD_PULL": "0",
    }
    status, lines = _run(capsys, ["--config", str(tmp_path / "absent.json")], environ)
    assert status == 0, lines
    assert _load_order(emulator) == ["llama3.1:8b", "nomic-embed-text"]
    assert "OLLAMA_PRELOAD_MODELS" in lines[0]


def test_preload_models_pulls_what_is_missing(emulator, tmp_path, capsys):
    environ = {"OLLAMA_PRELOAD_MODELS": "mistral:7b", "OLLAMA_HOST": emulator.url}
    status, lines = _run(capsys, ["--config", str(tmp_path / "absent.json")], environ)
    assert status == 0, lines
    assert [entry["body"]["model"] for entry in emulator.requests("/api/pull")] == ["mistral:7b"]
    assert "mistral:7b" in emulator.loaded()


def test_empty_preload_list_does_nothing(emulator, tmp_path, capsys):
    environ = {"OLLAMA_PRELOAD_MODELS": "", "OLLAMA_HOST": emulator.url}
    status, lines = _run(capsys, ["--config", str(tmp_path / "absent.json")], environ)
    assert status == 0
    assert "nothing to do" in lines[-1]
    assert emulator.requests() == []


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_waits_for_an_api_that_is_not_up_yet(tmp_path, capsys):
    port = _free_port()
    # Like a server still starting at boot: the port refuses connections for a while.
    process = subprocess.Popen(
        [sys.executable, str(EMULATOR), "--host", "127.0.0.1", "--port", str(port), "--boot-delay", "1.5"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = "http://127.0.0.1:%d" % port
    try:
        config = _config(tmp_path, url, ["ghost:1b"], api_wait_timeout=30)
        status, lines = _run(capsys, ["--config", config])
    finally:
        _stop(process)
    attempts = int(lines[0].split(" after ")[1].split()[0])
    assert attempts > 1
    # It reached the API and tried the model (which the fresh server does not have).
    assert status == warmup.EXIT_FAILED
    assert "ghost:1b" in lines[-1]


def test_gives_up_when_the_api_never_answers(tmp_path, capsys):
    port = _free_port()
    config = _config(tmp_path, "http://127.0.0.1:%d" % port, ["llama3.1:8b"], api_wait_timeout=1)
    started = time.monotonic()
    status, lines = _run(capsys, ["--config", config])
    assert status == warmup.EXIT_NO_API
    assert "did not answer within 1s" in lines[-1]
    assert time.monotonic() - started < 30


@pytest.mark.parametrize(
    "content",
    ['{"models": [{"kind": "completion"}]}', "[1, 2]", "{not json", '{"models": [{"name": "m", "kind": "chat"}]}'],
)
def test_a_broken_config_is_refused_before_any_request(emulator, tmp_path, capsys, content):
    path = tmp_path / "warmup.json"
    path.write_text(content)
    status, lines = _run(capsys, ["--config", str(path), "--url", emulator.url])
    assert status == warmup.EXIT_CONFIG
    assert lines[-1].startswith("ollama-warmup: FAILED")
    assert emulator.requests() == []


def test_the_token_is_sent_but_never_printed(tmp_path, capsys):
    process, url = _start_emulator("--require-token", "s3cret-token")
    try:
        Emulator(url).put_local("llama3.1:8b")
        config = _config(tmp_path, url, ["llama3.1:8b", "ghost:1b"], api_token="s3cret-token")
        status, lines = _run(capsys, ["--config", config])
    finally:
        _stop(process)
    assert status == warmup.EXIT_FAILED
    assert "ghost:1b" in lines[-1] and "llama3.1:8b" not in lines[-1].split("FAILED", 1)[1]
    assert not any("s3cret-token" in line for line in lines)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "http://127.0.0.1:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        ("127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://ollama.lan", "http://ollama.lan:80"),
        ("https://ollama.example.com", "https://ollama.example.com:443"),
        ('"10.0.0.5:11434"', "http://10.0.0.5:11434"),
    ],
)
def test_ollama_host_is_read_as_the_server_reads_it(value, expected):
    assert warmup.url_from_ollama_host(value) == expected


def _create(emulator, name, base, **fields):
    call(emulator.url, "POST", "/api/create", dict({"model": name, "from": base, "stream": False}, **fields))


def _generate(emulator, name, **options):
    payload = {"model": name, "keep_alive": -1, "stream": False}
    if options:
        payload["options"] = options
    call(emulator.url, "POST", "/api/generate", payload)


def test_a_variant_served_by_the_runner_of_its_base_counts_as_loaded(emulator, tmp_path, capsys):
    # Someone ran the base by hand before; the variant (same weights, same context) reuses its runner,
    # which /api/ps keeps listing under the base's name.
    emulator.put_local("llama3.1:8b")
    _create(emulator, "coding-primary", "llama3.1:8b", system="Be careful.")
    _generate(emulator, "llama3.1:8b")
    status, lines = _run(capsys, ["--config", _config(tmp_path, emulator.url, [{"name": "coding-primary", "slot": 1}])])
    assert status == 0, lines
    assert list(emulator.loaded()) == ["llama3.1:8b"]
    assert any("loaded coding-primary" in line and "listed as llama3.1:8b" in line for line in lines), lines


def test_a_runner_of_the_same_weights_with_another_context_does_not_count(emulator, tmp_path, capsys):
    emulator.put_local("llama3.1:8b")
    _create(emulator, "coding-primary", "llama3.1:8b", parameters={"num_ctx": 8192})
    _create(emulator, "general-primary", "llama3.1:8b", parameters={"num_ctx": 4096})
    models = [{"name": "coding-primary", "slot": 1}, {"name": "general-primary", "slot": 2}]
    status, lines = _run(capsys, ["--config", _config(tmp_path, emulator.url, models)])
    # One runner per weights file: the second load replaced the first, which must not pass for loaded.
    assert status == warmup.EXIT_FAILED, lines
    assert list(emulator.loaded()) == ["general-primary:latest"]
    assert "coding-primary (shares its weights with general-primary" in lines[-1]
    assert "num_ctx" in lines[-1]


def test_a_token_with_a_line_break_is_refused_without_printing_it(emulator, tmp_path, capsys):
    # http.client would refuse the header with an error quoting it, token included, into the journal.
    config = _config(tmp_path, emulator.url, ["llama3.1:8b"], api_token="s3cret\ntoken-part")
    status, lines = _run(capsys, ["--config", config])
    assert status == warmup.EXIT_CONFIG
    assert "line break" in lines[-1]
    assert not any("s3cret" in line or "token-part" in line for line in lines)
    assert emulator.requests() == []
