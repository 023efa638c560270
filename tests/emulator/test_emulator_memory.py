# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Simulated GPUs, offload, eviction, keep-alive expiry and the scheduler's environment variables."""

import threading

import ollama_emulator
import pytest
from emulator_testlib import Api

SMALL = ["qwen2.5-coder:1.5b-base", "qwen2.5-coder:7b-base", "mistral:7b", "llama3.1:8b"]


def server(make_emulator, env=None, **options):
    api = Api(make_emulator(env=env or {}, **options).url)
    return api


def load(api, name, keep_alive=-1, **extra):
    body = dict({"model": name, "keep_alive": keep_alive}, **extra)
    response = api.post("/api/generate", body=body)
    assert response.status == 200, response.body
    assert response.json()["done_reason"] == "load"


def loaded_names(api):
    return sorted(model["name"] for model in api.ps())


def test_model_that_does_not_fit_is_partially_offloaded(make_emulator):
    api = server(make_emulator, gpus=1, vram_gib=8)
    api.local("qwen3-coder:30b")
    load(api, "qwen3-coder:30b")
    (entry,) = api.ps()
    assert 0 < entry["size_vram"] < entry["size"]
    table = ollama_emulator.format_ps([entry])
    assert "% CPU/GPU" in table


def test_cpu_only_server_reports_no_vram(make_emulator):
    api = server(make_emulator, gpus=0)
    api.local("llama3.1:8b")
    load(api, "llama3.1:8b")
    (entry,) = api.ps()
    assert entry["size_vram"] == 0
    assert "100% CPU" in ollama_emulator.format_ps([entry])


def test_model_spread_over_two_gpus_is_fully_on_gpu(make_emulator):
    api = server(make_emulator, gpus=2, vram_gib=12)
    api.local("qwen3-coder:30b")
    load(api, "qwen3-coder:30b", options={"num_ctx": 4096})
    (entry,) = api.ps()
    assert entry["size_vram"] == entry["size"]
    gpus = api.control("GET", "state")["gpus"]
    assert all(gpu["used"] > 0 for gpu in gpus)


def test_max_loaded_models_evicts_the_shortest_keep_alive(make_emulator):
    api = server(make_emulator, env={"OLLAMA_MAX_LOADED_MODELS": "2"}, vram_gib=200)
    for name in SMALL[:3]:
        api.local(name)
    load(api, SMALL[0], keep_alive=-1)
    load(api, SMALL[1], keep_alive="10m")
    load(api, SMALL[2], keep_alive="1h")
    assert loaded_names(api) == sorted([SMALL[0], SMALL[2]])


def test_default_cap_is_three_per_gpu(make_emulator):
    api = server(make_emulator, gpus=1, vram_gib=200)
    for name in SMALL:
        api.local(name)
    for index, name in enumerate(SMALL):
        load(api, name, keep_alive="%dm" % (10 + index))
    assert len(api.ps()) == 3
    assert SMALL[0] not in loaded_names(api)
    assert api.control("GET", "state")["max_loaded_models"] == 3


def test_model_that_needs_room_evicts_idle_runners(make_emulator):
    api = server(make_emulator, gpus=1, vram_gib=24)
    api.local("qwen3-coder:30b")
    api.local("devstral")
    load(api, "qwen3-coder:30b", keep_alive=-1)
    load(api, "devstral", keep_alive=-1)
    assert loaded_names(api) == ["devstral:latest"]
    (entry,) = api.ps()
    assert entry["size_vram"] == entry["size"]


def test_keep_alive_timer_expires(api, poll):
    api.local("llama3.1:8b")
    load(api, "llama3.1:8b", keep_alive=-1)
    assert loaded_names(api) == ["llama3.1:8b"]
    load(api, "llama3.1:8b", keep_alive=0.3)
    poll(lambda: api.ps() == [], message="keep-alive to expire")


def test_ollama_keep_alive_sets_the_default(make_emulator, poll):
    forever = server(make_emulator, env={"OLLAMA_KEEP_ALIVE": "-1"})
    forever.local("llama3.1:8b")
    load(forever, "llama3.1:8b", keep_alive=None)
    assert int(forever.ps()[0]["expires_at"][:4]) > 2300
    short = server(make_emulator, env={"OLLAMA_KEEP_ALIVE": "200ms"})
    short.local("llama3.1:8b")
    load(short, "llama3.1:8b", keep_alive=None)
    poll(lambda: short.ps() == [], message="default keep-alive to expire")


def test_request_without_keep_alive_keeps_the_runners_value(api):
    api.local("llama3.1:8b")
    load(api, "llama3.1:8b", keep_alive=-1)
    api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "hi", "stream": False})
    assert int(api.ps()[0]["expires_at"][:4]) > 2300


def test_keep_alive_zero_with_a_prompt_unloads_after_answering(api):
    api.local("llama3.1:8b")
    answer = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "hi", "keep_alive": 0})
    assert answer.lines()[-1]["done"]
    assert api.ps() == []


def test_num_ctx_change_reloads_the_runner(api):
    api.local("llama3.1:8b")
    load(api, "llama3.1:8b", options={"num_ctx": 4096})
    assert api.ps()[0]["context_length"] == 4096
    load(api, "llama3.1:8b", options={"num_ctx": 8192})
    assert [m["context_length"] for m in api.ps()] == [8192]


@pytest.mark.parametrize(
    ("vram", "env", "expected"),
    [(8, {}, 4096), (24, {}, 32768), (48, {}, 131072), (8, {"OLLAMA_CONTEXT_LENGTH": "16384"}, 16384)],
)
def test_default_context_follows_vram_tiers(make_emulator, vram, env, expected):
    api = server(make_emulator, env=env, vram_gib=vram)
    api.local("llama3.1:8b")
    load(api, "llama3.1:8b")
    assert api.ps()[0]["context_length"] == expected


def test_loading_takes_time_and_shows_in_ps_meanwhile(make_emulator, poll):
    api = server(make_emulator, load_seconds_per_gib=10.0)
    api.local("all-minilm")
    answers = []
    thread = threading.Thread(
        target=lambda: answers.append(api.post("/api/embed", body={"model": "all-minilm", "input": []}))
    )
    thread.start()
    poll(api.ps, message="the loading runner to be listed")
    assert not answers
    thread.join(20)
    assert answers[0].status == 200


def test_concurrent_requests(api):
    api.local("llama3.1:8b")
    api.local("nomic-embed-text")
    statuses = []

    def work(index):
        if index % 2:
            response = api.post(
                "/api/chat", body={"model": "llama3.1:8b", "messages": [{"role": "user", "content": "x"}]}
            )
        else:
            response = api.post("/api/embed", body={"model": "nomic-embed-text", "input": "x %d" % index})
        statuses.append(response.status)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert statuses == [200] * 16
    assert loaded_names(api) == ["llama3.1:8b", "nomic-embed-text:latest"]


def test_many_progress_lines_stream_quickly(make_emulator):
    entry = {"size": 8 * 10**9, "progress_lines": 120000}
    api = server(make_emulator)
    api.control("POST", "catalog", {"model": "huge:1", "entry": entry})
    conn = api.connection(60)
    conn.request("POST", "/api/pull", body=b'{"model":"huge:1"}')
    response = conn.getresponse()
    count = 0
    last = b""
    while True:
        line = response.readline()
        if not line:
            break
        count += 1
        last = line
    conn.close()
    assert count > 120000
    assert last.strip() == b'{"status":"success"}'
