# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

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
