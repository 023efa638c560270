# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""`--version` emulates older servers where the API differed."""

import json

import pytest
from emulator_testlib import Api


def server(make_emulator, version):
    return Api(make_emulator(env={}, version=version).url)


def test_version_is_reported(make_emulator):
    assert server(make_emulator, "0.5.4").get("/api/version").json() == {"version": "0.5.4"}


def test_before_0_5_5_create_takes_a_modelfile(make_emulator):
    """Pitfall 3, old side."""
    api = server(make_emulator, "0.5.4")
    api.local("llama3.1:8b")
    structured = api.post("/api/create", body={"model": "m", "from": "llama3.1:8b"})
    assert (structured.status, structured.json()) == (400, {"error": "path or Modelfile are required"})
    modelfile = 'FROM llama3.1:8b\nPARAMETER num_ctx 8192\nPARAMETER stop "<|x|>"\nSYSTEM """Be\nbrief."""\n'
    created = api.post("/api/create", body={"model": "m", "modelfile": modelfile, "stream": False})
    assert created.status == 200
    shown = api.post("/api/show", body={"model": "m"}).json()
    assert "num_ctx                        8192" in shown["parameters"].split("\n")
    assert shown["system"] == "Be\nbrief."
    bad = api.post("/api/create", body={"model": "m", "modelfile": "FROM x\nPARAMETER colour red\n"})
    assert (bad.status, bad.json()) == (400, {"error": "unknown parameter 'colour'"})


def test_from_0_5_5_a_modelfile_only_body_is_rejected(make_emulator):
    """Pitfall 3, new side."""
    api = server(make_emulator, "0.5.5")
    response = api.post("/api/create", body={"model": "m", "modelfile": "FROM llama3.1:8b"})
    assert (response.status, response.json()) == (400, {"error": "neither 'from' or 'files' was specified"})


def test_before_0_6_4_show_has_no_capabilities(make_emulator):
    api = server(make_emulator, "0.6.3")
    api.local("nomic-embed-text")
    api.local("llama3.1:8b")
    embedding = api.post("/api/show", body={"model": "nomic-embed-text"}).json()
    assert "capabilities" not in embedding
    assert embedding["model_info"]["nomic-bert.pooling_type"] == 1
    chat = api.post("/api/show", body={"model": "llama3.1:8b"}).json()
    assert not any(key.endswith(".pooling_type") for key in chat["model_info"])


def test_from_0_6_4_show_has_capabilities(make_emulator):
    api = server(make_emulator, "0.6.4")
    api.local("nomic-embed-text")
    assert api.post("/api/show", body={"model": "nomic-embed-text"}).json()["capabilities"] == ["embedding"]


def test_before_0_30_names_and_tags_differ(make_emulator):
    api = server(make_emulator, "0.20.0")
    api.local("llama3.1:8b")
    missing = api.post("/api/show", body={"model": "foo"})
    assert missing.json() == {"error": "model 'foo' not found"}
    (entry,) = api.get("/api/tags").json()["models"]
    assert "capabilities" not in entry
    assert "context_length" not in entry["details"]
    refused = api.post("/api/embed", body={"model": "llama3.1:8b", "input": "x"})
    assert (refused.status, refused.json()) == (501, {"error": "this model does not support embeddings"})


def test_before_0_6_1_generative_models_embed(make_emulator):
    api = server(make_emulator, "0.5.4")
    api.local("llama3.1:8b")
    response = api.post("/api/embed", body={"model": "llama3.1:8b", "input": "x"})
    assert response.status == 200
    assert len(response.json()["embeddings"][0]) == 4096


def test_before_0_10_ps_has_no_context_length(make_emulator):
    api = server(make_emulator, "0.9.6")
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b"})
    (entry,) = api.get("/api/ps").json()["models"]
    assert "context_length" not in entry


@pytest.mark.parametrize(("version", "status"), [("0.12.5", 200), ("0.12.6", 500)])
def test_first_stream_error_status_changed_in_0_12_6(make_emulator, version, status):
    api = server(make_emulator, version)
    api.local("llama3.1:8b")
    response = api.post("/api/create", body={"model": "q", "from": "llama3.1:8b", "quantize": "q8_0"})
    assert response.status == status
    error = json.loads(response.body.decode().strip().splitlines()[-1])
    assert error["error"] == "quantization is only supported for F16, BF16 and F32 models"
