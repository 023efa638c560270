# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Raw HTTP: statuses, content types and exact error strings from the API reference."""

import hashlib
import re

import pytest
from emulator_testlib import Api

JSON_GIN = "application/json; charset=utf-8"


def error_of(response):
    return response.json()["error"]


# -- health, version, routing ----------------------------------------------------------------


def test_root_answers_plain_text(api):
    response = api.get("/")
    assert response.status == 200
    assert response.content_type == "text/plain; charset=utf-8"
    assert response.body == b"Ollama is running"
    head = api.request("HEAD", "/")
    assert head.status == 200 and head.body == b""


def test_version_and_status(api):
    response = api.get("/api/version")
    assert response.status == 200
    assert response.content_type == JSON_GIN
    assert response.body == b'{"version":"0.32.15"}'
    assert api.request("HEAD", "/api/version").status == 200


def test_routing_errors_are_plain_text(api):
    """Pitfall 21."""
    missing = api.get("/api/nothing")
    assert (missing.status, missing.body) == (404, b"404 page not found")
    assert not missing.content_type.startswith("application/json")
    wrong = api.get("/api/pull")
    assert (wrong.status, wrong.body) == (405, b"405 method not allowed")


# -- request decoding ------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/generate", "/api/chat", "/api/show", "/api/pull", "/api/create", "/api/embed"])
def test_empty_body_is_missing_request_body(api, path):
    response = api.request("POST", path, raw=b"")
    assert response.status == 400
    assert error_of(response) == "missing request body"


def test_broken_and_mistyped_json_are_400(api):
    broken = api.post("/api/generate", raw=b'{"model":')
    assert broken.status == 400 and error_of(broken) == "unexpected EOF"
    mistyped = api.post("/api/generate", body={"model": "x", "prompt": 5})
    assert mistyped.status == 400
    assert error_of(mistyped) == (
        "json: cannot unmarshal number into Go struct field GenerateRequest.prompt of type string"
    )


def test_body_is_json_whatever_the_content_type(api):
    api.local("llama3.1:8b")
    response = api.post("/api/show", raw=b'{"model":"llama3.1:8b"}', headers={"Content-Type": "text/plain"})
    assert response.status == 200


# -- keep_alive (pitfall 7) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("-1", 'time: missing unit in duration "-1"'),
        ("3600", 'time: missing unit in duration "3600"'),
        ("abc", 'time: invalid duration "abc"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        (True, "Unsupported type: 'bool'"),
    ],
)
def test_bad_keep_alive_is_400(api, value, message):
    api.local("llama3.1:8b")
    response = api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": value})
    assert response.status == 400
    assert error_of(response) == message
    assert api.ps() == []


@pytest.mark.parametrize("value", [-1, "-1m", "-1h", -3.14])
def test_negative_keep_alive_means_forever(api, value):
    api.local("llama3.1:8b")
    response = api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": value})
    assert response.json()["done_reason"] == "load"
    assert int(api.ps()[0]["expires_at"][:4]) > 2300


@pytest.mark.parametrize("value", [0, "0", "0s", 0.0])
def test_zero_keep_alive_unloads(api, value):
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": -1})
    response = api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": value})
    assert response.json()["done_reason"] == "unload"
    assert api.ps() == []


def test_keep_alive_durations_set_expiry(api):
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": "1h30m"})
    expires = api.ps()[0]["expires_at"]
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$", expires)


# -- generate / chat ------------------------------------------------------------------------


def test_generate_check_order_and_messages(api):
    api.local("llama3.1:8b")
    api.local("nomic-embed-text")
    empty = api.post("/api/generate", body={"model": ""})
    assert (empty.status, error_of(empty)) == (404, "model '' not found")
    invalid = api.post("/api/generate", body={"model": "a/b/c/d"})
    assert (invalid.status, error_of(invalid)) == (400, "invalid model name")
    missing = api.post("/api/generate", body={"model": "Foo"})
    assert (missing.status, error_of(missing)) == (404, "model 'Foo' not found")
    refused = api.post("/api/generate", body={"model": "nomic-embed-text", "prompt": "hi"})
    assert (refused.status, error_of(refused)) == (400, '"nomic-embed-text" does not support generate')
    insert = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "a", "suffix": "b"})
    assert error_of(insert) == "registry.ollama.ai/library/llama3.1:8b does not support insert"
    raw = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "a", "raw": True, "system": "s"})
    assert error_of(raw) == "raw mode does not support template, system, or context"
    think = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "a", "think": "maybe"})
    assert error_of(think) == ('invalid think value: "maybe" (must be "high", "medium", "low", "max", true, or false)')


def test_chat_check_order_and_messages(api):
    api.local("llama3.1:8b")
    api.local("qwen2.5-coder:1.5b-base")
    empty = api.post("/api/chat", body={"model": ""})
    assert (empty.status, error_of(empty)) == (400, "model is required")
    missing = api.post("/api/chat", body={"model": "foo"})
    assert (missing.status, error_of(missing)) == (404, "model 'foo' not found")
    tools = api.post(
        "/api/chat",
        body={
            "model": "qwen2.5-coder:1.5b-base",
            "messages": [{"role": "user", "content": "x"}],
            "tools": [{"type": "function", "function": {"name": "f"}}],
        },
    )
    assert error_of(tools) == "registry.ollama.ai/library/qwen2.5-coder:1.5b-base does not support tools"


def test_streamed_generate_is_ndjson_ending_in_done(api):
    api.local("llama3.1:8b")
    response = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "hi"})
    assert response.status == 200
    assert response.content_type == "application/x-ndjson"
    lines = response.lines()
    assert all(not line["done"] for line in lines[:-1])
    assert lines[-1]["done"] and lines[-1]["done_reason"] == "stop"
    assert isinstance(lines[-1]["total_duration"], int)
    assert "".join(line["response"] for line in lines)
    single = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "hi", "stream": False})
    assert single.content_type == JSON_GIN and single.json()["done"]


def test_load_and_unload_answers_are_single_json_without_newline(api):
    """Pitfall 8."""
    api.local("llama3.1:8b")
    load = api.post("/api/generate", body={"model": "llama3.1:8b"})
    assert load.content_type == JSON_GIN
    assert not load.body.endswith(b"\n")
    assert load.json()["done_reason"] == "load" and load.json()["response"] == ""
    chat_load = api.post("/api/chat", body={"model": "llama3.1:8b", "messages": []})
    assert chat_load.json()["message"] == {"role": "assistant", "content": ""}
    assert chat_load.json()["done_reason"] == "load"
    unload = api.post("/api/chat", body={"model": "llama3.1:8b", "keep_alive": 0})
    assert unload.json()["done_reason"] == "unload"
    assert not unload.body.endswith(b"\n")


def test_embedding_models_are_loaded_with_embed_and_unloaded_with_generate(api):
    """Pitfall 5."""
    api.local("nomic-embed-text")
    refused = api.post("/api/chat", body={"model": "nomic-embed-text", "messages": []})
    assert (refused.status, error_of(refused)) == (400, '"nomic-embed-text" does not support chat')
    loaded = api.post("/api/embed", body={"model": "nomic-embed-text", "input": [], "keep_alive": -1})
    assert loaded.json() == {"model": "nomic-embed-text", "embeddings": []}
    assert [m["name"] for m in api.ps()] == ["nomic-embed-text:latest"]
    unloaded = api.post("/api/generate", body={"model": "nomic-embed-text", "keep_alive": 0})
    assert unloaded.json()["done_reason"] == "unload"
    assert api.ps() == []


def test_wrongly_typed_parameters_fail_only_at_inference(api):
    """Pitfall 4."""
    api.local("llama3.1:8b")
    created = api.post(
        "/api/create", body={"model": "bad", "from": "llama3.1:8b", "parameters": {"num_ctx": "4096"}, "stream": False}
    )
    assert created.status == 200
    answer = api.post("/api/generate", body={"model": "bad", "prompt": "hi"})
    assert (answer.status, error_of(answer)) == (500, 'option "num_ctx" must be of type integer')
    stop = api.post("/api/generate", body={"model": "llama3.1:8b", "prompt": "x", "options": {"stop": "x"}})
    assert (stop.status, error_of(stop)) == (500, 'option "stop" must be of type array')


# -- embed / embeddings (pitfall 6) ------------------------------------------------------------


def test_embed_errors(api):
    api.local("llama3.1:8b")
    empty = api.post("/api/embed", body={"model": ""})
    assert (empty.status, error_of(empty)) == (404, "model '' not found")
    bad_input = api.post("/api/embed", body={"model": "llama3.1:8b", "input": [1]})
    assert (bad_input.status, error_of(bad_input)) == (400, "invalid input type")
    missing = api.post("/api/embed", body={"model": "foo", "input": "x"})
    assert (missing.status, error_of(missing)) == (404, 'model "foo" not found, try pulling it first')
    legacy_empty = api.post("/api/embeddings", body={"model": ""})
    assert (legacy_empty.status, error_of(legacy_empty)) == (400, "model is required")


def test_chat_model_on_embed_loads_with_empty_input_and_501_otherwise(api):
    api.local("llama3.1:8b")
    loaded = api.post("/api/embed", body={"model": "llama3.1:8b", "input": ""})
    assert loaded.status == 200 and loaded.json()["embeddings"] == []
    assert [m["name"] for m in api.ps()] == ["llama3.1:8b"]
    refused = api.post("/api/embed", body={"model": "llama3.1:8b", "input": "hello"})
    assert refused.status == 501
    assert error_of(refused) == "This server does not support embeddings. Start it with `--embeddings`"
    legacy = api.post("/api/embeddings", body={"model": "llama3.1:8b", "prompt": "hello"})
    assert legacy.status == 500


def test_embed_truncate_false_rejects_long_input(api):
    api.local("all-minilm")
    response = api.post("/api/embed", body={"model": "all-minilm", "input": "word " * 600, "truncate": False})
    assert (response.status, error_of(response)) == (400, "the input length exceeds the context length")


# -- show -----------------------------------------------------------------------------------


def test_show_errors(api):
    assert error_of(api.post("/api/show", body={})) == "model is required"
    assert error_of(api.post("/api/show", body={"model": "a/b/c/d"})) == "invalid model name"
    missing = api.post("/api/show", body={"model": "foo"})
    assert (missing.status, error_of(missing)) == (404, "model 'foo:latest' not found")


def test_show_parameters_are_padded_lines_in_any_order(api):
    """Pitfall 18."""
    api.local("llama3.1:8b")
    api.post(
        "/api/create",
        body={
            "model": "tuned",
            "from": "llama3.1:8b",
            "parameters": {"num_ctx": 32768, "temperature": 0.2, "use_mmap": True, "num_predict": 1000000},
            "stream": False,
        },
    )
    shown = api.post("/api/show", body={"model": "tuned"}).json()
    lines = sorted(shown["parameters"].split("\n"))
    assert lines == sorted(
        [
            "num_ctx                        32768",
            "num_predict                    1e+06",
            'stop                           "<|eot_id|>"',
            'stop                           "<|end_header_id|>"',
            'stop                           "<|start_header_id|>"',
            "temperature                    0.2",
            "use_mmap                       true",
        ]
    )
    assert "PARAMETER num_ctx 32768" in shown["modelfile"]
    assert "/blobs/sha256-" in shown["modelfile"]
    assert "digest" not in shown


def test_show_model_info_arrays_are_elided_unless_verbose(api):
    api.local("llama3.1:8b")
    plain = api.post("/api/show", body={"model": "llama3.1:8b"}).json()
    verbose = api.post("/api/show", body={"model": "llama3.1:8b", "verbose": True}).json()
    assert plain["model_info"]["tokenizer.ggml.tokens"] == []
    assert len(verbose["model_info"]["tokenizer.ggml.tokens"]) > 5


# -- names (pitfall 12) ---------------------------------------------------------------------


def test_names_are_normalised_and_looked_up_case_insensitively(api):
    api.pull("llama3.1:8b")
    api.pull("mistral:7b")
    assert sorted(m["name"] for m in api.tags()) == ["llama3.1:8b", "mistral:7b"]
    assert api.post("/api/show", body={"model": "LLAMA3.1:8B"}).status == 200
    assert api.post("/api/show", body={"model": "registry.ollama.ai/library/llama3.1:8b"}).status == 200
    api.post("/api/copy", body={"source": "mistral:7b", "destination": "Me/Mistral"})
    names = [m["name"] for m in api.tags()]
    assert "Me/Mistral:latest" in names
    api.post("/api/copy", body={"source": "mistral:7b", "destination": "me/mistral:LATEST"})
    assert [m["name"] for m in api.tags()].count("Me/Mistral:latest") == 1


@pytest.mark.parametrize("name", ["localhost:5000/model", "registry.example.com/model", "foo:", "/foo", "a/b/c/d"])
def test_invalid_names_are_rejected_by_pull(api, name):
    response = api.post("/api/pull", body={"model": name})
    assert (response.status, error_of(response)) == (400, "invalid model name")


def test_private_registry_names_keep_their_host(api):
    api.control("POST", "catalog", {"model": "localhost:5000/ns/model:v1", "entry": {"size": 1000}})
    api.pull("localhost:5000/ns/model:v1")
    assert [m["name"] for m in api.tags()] == ["localhost:5000/ns/model:v1"]
    models = api.get("/v1/models").json()["data"]
    assert models[0]["owned_by"] == "ns"


# -- pull (pitfalls 1, 2, 11) ---------------------------------------------------------------


def test_pull_of_unknown_model_is_200_then_an_error_line(api):
    """Pitfall 1."""
    streamed = api.post("/api/pull", body={"model": "no-such-model"})
    assert streamed.status == 200
    assert streamed.lines() == [
        {"status": "pulling manifest"},
        {"error": "pull model manifest: file does not exist"},
    ]
    single = api.post("/api/pull", body={"model": "no-such-model", "stream": False})
    assert single.status == 500
    assert single.content_type == "application/json"
    assert error_of(single) == "pull model manifest: file does not exist"


def test_non_streamed_pull_answers_success_as_plain_json(api):
    """Pitfall 2."""
    response = api.pull("mistral:7b")
    assert response.body == b'{"status":"success"}'
    assert response.content_type == "application/json"


def test_pull_speed_spreads_progress_over_many_lines(make_emulator):
    api = Api(make_emulator(env={}, pull_bytes_per_second=2 * 10**9).url)
    lines = api.post("/api/pull", body={"model": "nomic-embed-text"}).lines()
    model_lines = [line for line in lines if line.get("total", 0) > 10**8 and "completed" in line]
    completed = [line["completed"] for line in model_lines]
    assert len(completed) >= 2
    assert completed == sorted(completed) and completed[-1] == model_lines[0]["total"]


def test_pull_progress_sequence(api):
    lines = api.post("/api/pull", body={"model": "llama3.1:8b"}).lines()
    assert lines[0] == {"status": "pulling manifest"}
    layer_lines = lines[1:-3]
    for line in layer_lines:
        assert re.match(r"^pulling [0-9a-f]{12}$", line["status"])
        assert line["digest"].startswith("sha256:" + line["status"][8:])
        assert line["total"] > 0
    first = layer_lines[0]
    assert "completed" not in first
    assert layer_lines[1]["completed"] == layer_lines[1]["total"]
    assert [line["status"] for line in lines[-3:]] == ["verifying sha256 digest", "writing manifest", "success"]
    again = api.post("/api/pull", body={"model": "llama3.1:8b"}).lines()
    cached = again[1:-3]
    assert all(line["completed"] == line["total"] for line in cached)


def test_repull_keeps_digest_moves_modified_at_and_upstream_update_changes_digest(api, poll):
    """Pitfall 11."""
    api.pull("llama3.1:8b")
    (before,) = api.tags()
    poll(lambda: api.pull("llama3.1:8b") and api.tags()[0]["modified_at"] != before["modified_at"])
    (same,) = api.tags()
    assert same["digest"] == before["digest"]
    api.control("POST", "catalog", {"model": "llama3.1:8b", "bump": True})
    statuses = [line["status"] for line in api.post("/api/pull", body={"model": "llama3.1:8b"}).lines()]
    assert "removing unused layers" in statuses
    (after,) = api.tags()
    assert after["digest"] != before["digest"]


def test_tags_entries_and_order(api):
    api.pull("mistral:7b")
    api.pull("nomic-embed-text")
    models = api.tags()
    assert [m["name"] for m in models] == ["nomic-embed-text:latest", "mistral:7b"]
    entry = models[1]
    assert entry["name"] == entry["model"]
    assert re.match(r"^[0-9a-f]{64}$", entry["digest"])
    assert set(entry["details"]) >= {"parent_model", "format", "family", "families", "parameter_size"}
    assert entry["details"]["context_length"] == 32768
    assert entry["capabilities"] == ["completion", "tools"]


def test_v1_models(api):
    empty = api.get("/v1/models").json()
    assert empty == {"object": "list", "data": None}
    api.local("llama3.1:8b")
    (model,) = api.get("/v1/models").json()["data"]
    assert (model["id"], model["object"], model["owned_by"]) == ("llama3.1:8b", "model", "library")
    assert isinstance(model["created"], int)
    assert api.get("/v1/models/llama3.1:8b").json()["id"] == "llama3.1:8b"
    missing = api.get("/v1/models/nope")
    assert missing.status == 404
    assert missing.json()["error"]["type"] == "not_found_error"


# -- create (pitfall 3, 22) -----------------------------------------------------------------


def test_create_validation(api):
    modelfile_only = api.post("/api/create", body={"model": "m", "modelfile": "FROM llama3.1:8b"})
    assert (modelfile_only.status, error_of(modelfile_only)) == (400, "neither 'from' or 'files' was specified")
    assert error_of(api.post("/api/create", body={"model": "", "from": "x"})) == "invalid model name"
    assert error_of(api.post("/api/create", body={"model": "m", "from": "a/b/c/d"})) == "invalid model name"
    absolute = api.post("/api/create", body={"model": "m", "files": {"/etc/x.gguf": "sha256:" + "0" * 64}})
    assert error_of(absolute) == "file path must be relative"
    empty_digest = api.post("/api/create", body={"model": "m", "files": {"x.gguf": ""}})
    assert error_of(empty_digest) == "invalid digest format"


def test_create_from_a_model_not_local_pulls_it_first(api):
    lines = api.post("/api/create", body={"model": "mine", "from": "mistral:7b", "system": "Be brief."}).lines()
    statuses = [line["status"] for line in lines]
    assert statuses[0] == "pulling manifest"
    assert any(s.startswith("creating new layer sha256:") for s in statuses)
    assert statuses[-2:] == ["writing manifest", "success"]
    assert sorted(m["name"] for m in api.tags()) == ["mine:latest", "mistral:7b"]
    unknown = api.post("/api/create", body={"model": "other", "from": "nothing-here"})
    assert unknown.status == 200
    assert unknown.lines()[-1] == {"error": "pull model manifest: file does not exist"}
    unknown_single = api.post("/api/create", body={"model": "other", "from": "nothing-here", "stream": False})
    assert unknown_single.status == 500


def test_create_is_idempotent_and_merges_parameters(api):
    api.local("llama3.1:8b")
    body = {"model": "m", "from": "llama3.1:8b", "parameters": {"num_ctx": 8192, "temperature": 0.5}}
    api.post("/api/create", body=dict(body, stream=False))
    first = api.tags()[0]["digest"]
    again = api.post("/api/create", body=body).lines()
    assert not any(line["status"].startswith("creating new layer") for line in again)
    assert api.tags()[0]["digest"] == first
    api.post("/api/create", body={"model": "m2", "from": "m", "parameters": {"temperature": 0.9}, "stream": False})
    params = api.post("/api/show", body={"model": "m2"}).json()["parameters"].split("\n")
    assert "num_ctx                        8192" in params
    assert "temperature                    0.9" in params
    shown = api.post("/api/show", body={"model": "m2"}).json()
    assert shown["details"]["parent_model"] == "registry.ollama.ai/library/m:latest"


def test_create_failures_as_first_message_get_a_real_status(api):
    api.local("llama3.1:8b")
    quantize = api.post("/api/create", body={"model": "q", "from": "llama3.1:8b", "quantize": "q4_K_M"})
    assert quantize.status == 500
    assert quantize.content_type == "application/json"
    assert error_of(quantize) == "quantization is only supported for F16, BF16 and F32 models"


def test_create_quantizes_an_f16_model(api):
    api.local("smollm2:135m-instruct-fp16")
    lines = api.post(
        "/api/create", body={"model": "small", "from": "smollm2:135m-instruct-fp16", "quantize": "q4_K_M"}
    ).lines()
    assert lines[0]["status"] == "quantizing F16 model to Q4_K_M"
    shown = api.post("/api/show", body={"model": "small"}).json()
    assert shown["details"]["quantization_level"] == "Q4_K_M"


def test_blob_upload_and_gguf_create(api):
    """Pitfalls 16 and 22."""
    data = b"GGUF" + b"\x01" * 2048
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = "/api/blobs/" + digest
    assert api.request("HEAD", path).status == 404
    assert api.request("HEAD", "/api/blobs/sha256:xyz").status == 400
    wrong = api.post("/api/blobs/sha256:" + "0" * 64, raw=data)
    assert wrong.status == 400
    assert error_of(wrong) == 'digest mismatch, expected "sha256:%s", got "%s"' % ("0" * 64, digest)
    created = api.post(path, raw=data)
    assert (created.status, created.body) == (201, b"")
    assert api.request("HEAD", path).status == 200
    again = api.post(path, raw=data)
    assert (again.status, again.body) == (200, b"")
    missing = api.post("/api/create", body={"model": "g", "files": {"g.gguf": "sha256:" + "1" * 64}, "stream": False})
    assert missing.status == 500 and "no such file or directory" in error_of(missing)
    lines = api.post("/api/create", body={"model": "g", "files": {"g.gguf": digest}}).lines()
    assert lines[0] == {"status": "parsing GGUF"}
    assert lines[-1] == {"status": "success"}
    layer_statuses = [line["status"] for line in lines if "layer sha256:" in line["status"]]
    assert all(digest not in status for status in layer_statuses)
    text = b"just some notes"
    text_digest = "sha256:" + hashlib.sha256(text).hexdigest()
    assert api.post("/api/blobs/" + text_digest, raw=text).status == 201
    unknown = api.post("/api/create", body={"model": "g", "files": {"notes.bin": text_digest}})
    assert (unknown.status, error_of(unknown)) == (400, "unknown type")


# -- copy / delete (pitfalls 13, 14, 15, 17) ------------------------------------------------


def test_copy_and_delete_statuses_and_empty_bodies(api):
    api.local("llama3.1:8b")
    copied = api.post("/api/copy", body={"source": "llama3.1:8b", "destination": "copy"})
    assert (copied.status, copied.body) == (200, b"")
    assert error_of(api.post("/api/copy", body={"source": "nope", "destination": "x"})) == 'model "nope" not found'
    assert error_of(api.post("/api/copy", body={"source": "a/b/c/d", "destination": "x"})) == (
        'source "a/b/c/d" is invalid'
    )
    assert error_of(api.post("/api/copy", body={"source": "copy", "destination": "x:"})) == (
        'destination "x:" is invalid'
    )
    deleted = api.request("DELETE", "/api/delete", body={"model": "copy"})
    assert (deleted.status, deleted.body) == (200, b"")
    missing = api.request("DELETE", "/api/delete", body={"model": "copy"})
    assert (missing.status, error_of(missing)) == (404, "model 'copy' not found")
    assert error_of(api.request("DELETE", "/api/delete", body={"model": "a/b/c/d"})) == 'name "a/b/c/d" is invalid'
    assert error_of(api.request("DELETE", "/api/delete", body={"model": ""})) == "model is required"
    assert api.request("DELETE", "/api/delete").status == 400


def test_delete_does_not_unload(api):
    """Pitfall 17."""
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": -1})
    api.request("DELETE", "/api/delete", body={"model": "llama3.1:8b"})
    assert api.tags() == []
    assert [m["name"] for m in api.ps()] == ["llama3.1:8b"]


# -- ps (pitfalls 9, 10) --------------------------------------------------------------------


def test_models_sharing_weights_share_one_runner(api):
    """Pitfall 10."""
    api.local("llama3.1:8b")
    api.post("/api/create", body={"model": "mario", "from": "llama3.1:8b", "system": "Mario", "stream": False})
    api.post("/api/generate", body={"model": "mario", "keep_alive": -1})
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": -1})
    assert [m["name"] for m in api.ps()] == ["mario:latest"]
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": 0})
    assert api.ps() == []


def test_unload_is_asynchronous_when_configured(make_emulator, poll):
    """Pitfall 9: after done_reason unload the runner can stay listed with expires_at ~ now."""
    api = Api(make_emulator(env={}, unload_seconds=1.0).url)
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": -1})
    assert api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": 0}).json()["done_reason"] == "unload"
    listed = api.ps()
    assert [m["name"] for m in listed] == ["llama3.1:8b"]
    assert int(listed[0]["expires_at"][:4]) < 2100
    poll(lambda: api.ps() == [], message="runner to stop")


def test_ps_entry_fields(api):
    api.local("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": "10m"})
    (entry,) = api.ps()
    assert set(entry) == {"name", "model", "size", "digest", "details", "expires_at", "size_vram", "context_length"}
    assert entry["digest"] == api.tags()[0]["digest"]
    assert entry["details"]["parent_model"] == ""


# -- host header (pitfall 20) ---------------------------------------------------------------


@pytest.mark.parametrize("host", ["localhost:11434", "127.0.0.1", "my.box.local", "10.1.2.3:80", "[::1]:11434"])
def test_local_host_headers_are_accepted(api, host):
    assert api.get("/api/version", headers={"Host": host}).status == 200


def test_foreign_host_header_gets_bare_403_on_loopback(api, make_emulator):
    response = api.get("/api/version", headers={"Host": "ollama.example.com"})
    assert (response.status, response.body) == (403, b"")
    everywhere = Api(make_emulator(env={}, host="0.0.0.0").url.replace("0.0.0.0", "127.0.0.1"))
    assert everywhere.get("/api/version", headers={"Host": "ollama.example.com"}).status == 200


# -- control plane --------------------------------------------------------------------------


def test_request_log_records_api_calls_only(api):
    api.control("DELETE", "requests")
    api.post("/api/show", body={"model": "nope"})
    api.control("GET", "state")
    assert api.requests() == [{"method": "POST", "path": "/api/show", "body": {"model": "nope"}, "status": 404}]
    api.control("DELETE", "requests")
    assert api.requests() == []


def test_reset_and_restart(api):
    api.pull("llama3.1:8b")
    api.post("/api/generate", body={"model": "llama3.1:8b", "keep_alive": -1})
    api.control("POST", "restart")
    assert api.ps() == []
    assert [m["name"] for m in api.tags()] == ["llama3.1:8b"]
    api.control("POST", "catalog", {"model": "llama3.1:8b", "bump": True})
    bumped = api.control("GET", "state")
    api.control("POST", "reset")
    state = api.control("GET", "state")
    assert state["models"] == [] and state["loaded"] == [] and state["faults"] == []
    api.pull("llama3.1:8b")
    assert bumped["models"][0]["digest"] == api.tags()[0]["digest"]


def test_control_plane_rejects_unknown_fault_kind(api):
    response = api.post("/_emulator/faults", body={"kind": "meteor"})
    assert response.status == 400
    assert "unknown fault kind" in error_of(response)


def test_adapters_and_pushed_models(api):
    api.local("llama3.1:8b")
    data = b"GGUF adapter"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    api.post("/api/blobs/" + digest, raw=data)
    created = api.post("/api/create", body={"model": "ad", "from": "llama3.1:8b", "adapters": {"a.gguf": digest}})
    assert created.lines()[-1] == {"status": "success"}
    assert "ADAPTER " in api.post("/api/show", body={"model": "ad"}).json()["modelfile"]
    missing = "sha256:" + "2" * 64
    failed = api.post("/api/create", body={"model": "ad2", "from": "llama3.1:8b", "adapters": {"a.gguf": missing}})
    assert "no such file or directory" in failed.lines()[-1]["error"]
    api.post("/api/copy", body={"source": "ad", "destination": "localhost:5000/me/ad:v1"})
    pushed = api.post("/api/push", body={"model": "localhost:5000/me/ad:v1"}).lines()
    assert pushed[0] == {"status": "retrieving manifest"}
    assert pushed[-2:] == [{"status": "pushing manifest"}, {"status": "success"}]
    digest_before = {m["name"]: m["digest"] for m in api.tags()}["localhost:5000/me/ad:v1"]
    api.request("DELETE", "/api/delete", body={"model": "localhost:5000/me/ad:v1"})
    api.pull("localhost:5000/me/ad:v1")
    assert {m["name"]: m["digest"] for m in api.tags()}["localhost:5000/me/ad:v1"] == digest_before
