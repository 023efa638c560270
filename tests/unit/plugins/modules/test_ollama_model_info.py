# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import json

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_model_info

URL = "http://127.0.0.1:11434"


@pytest.fixture
def server(fake):
    fake.put_local("llama3.2", parameters={"num_ctx": 8192, "stop": ["<eos>"]})
    fake.put_local("nomic-embed-text", embedding=True)
    fake.load("llama3.2", -1)
    return fake


@pytest.mark.parametrize("check_mode", [False, True])
def test_reports_version_models_and_loaded_models(server, run_module, check_mode):
    result = run_module(ollama_model_info.main, {"url": URL}, check_mode=check_mode)
    assert result["changed"] is False
    assert result["version"] == "0.32.15"
    by_name = {m["name"]: m for m in result["models"]}
    assert set(by_name) == {"llama3.2:latest", "nomic-embed-text:latest"}
    assert by_name["llama3.2:latest"]["parameters"] == {"num_ctx": 8192, "stop": ["<eos>"]}
    assert by_name["llama3.2:latest"]["digest"] == server.model("llama3.2")["digest"]
    assert by_name["nomic-embed-text:latest"]["kind"] == "embedding"
    assert by_name["nomic-embed-text:latest"]["capabilities"] == ["embedding"]
    (loaded,) = result["loaded"]
    assert (loaded["name"], loaded["forever"], loaded["gpu_percent"]) == ("llama3.2:latest", True, 100)
    assert server.writes() == []


def test_name_filter(server, run_module):
    result = run_module(ollama_model_info.main, {"url": URL, "name": "NOMIC-embed-text"})
    assert [m["name"] for m in result["models"]] == ["nomic-embed-text:latest"]
    assert result["loaded"] == []


def test_old_server_without_capabilities(server, run_module):
    server.version = "0.5.4"
    result = run_module(ollama_model_info.main, {"url": URL, "name": "nomic-embed-text"})
    assert result["models"][0]["capabilities"] is None
    assert result["models"][0]["kind"] == "embedding"


def test_unreachable_server_fails_with_the_address(fake, run_module):
    fake.refuse = 1
    result = run_module(ollama_model_info.main, {"url": URL, "api_token": "tok-x"})
    assert result["failed"] is True
    assert URL in result["msg"]
    assert "tok-x" not in result["msg"]


@pytest.mark.parametrize("token", ["abc123secret\r\nX-Evil: 1", "abc123 secret", "abc123\x00secret"])
def test_a_token_that_cannot_be_a_header_is_refused_without_showing_it(fake, run_module, token):
    result = run_module(ollama_model_info.main, {"url": URL, "api_token": token})
    assert result["failed"] is True
    assert "api_token contains a line break" in result["msg"]
    assert "abc123" not in json.dumps(result) and "secret" not in json.dumps(result)
    assert fake.requests == []


def test_a_token_with_a_trailing_line_break_works(server, run_module):
    server.token = "abc123secret"
    result = run_module(ollama_model_info.main, {"url": URL, "api_token": "abc123secret\n"})
    assert result["changed"] is False and result["version"] == "0.32.15"


@pytest.mark.parametrize("version, kinds", [("0.32.15", ("completion", "embedding")), ("0.29.0", (None, None))])
def test_show_false_reads_only_tags_and_ps(server, run_module, version, kinds):
    server.version = version
    server.requests.clear()
    result = run_module(ollama_model_info.main, {"url": URL, "show": False})
    assert server.paths() == ["GET /api/version", "GET /api/tags", "GET /api/ps"]
    by_name = {m["name"]: m for m in result["models"]}
    assert by_name["llama3.2:latest"]["digest"] == server.model("llama3.2")["digest"]
    assert by_name["llama3.2:latest"]["parameters"] is None
    assert (by_name["llama3.2:latest"]["kind"], by_name["nomic-embed-text:latest"]["kind"]) == kinds
    assert [m["name"] for m in result["loaded"]] == ["llama3.2:latest"]
