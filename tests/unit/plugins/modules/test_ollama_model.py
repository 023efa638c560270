# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.llmops.ollama.plugins.modules import ollama_model

URL = "http://127.0.0.1:11434"
BASE = {"url": URL}
MODELFILE = """FROM qwen2.5-coder:14b
PARAMETER num_ctx 32768
PARAMETER stop "<|im_end|>"
SYSTEM \"\"\"You are careful.
Very careful.\"\"\"
"""


@pytest.fixture
def run(run_module):
    def call(check_mode=False, diff=True, **args):
        return run_module(ollama_model.main, dict(BASE, **args), check_mode=check_mode, diff=diff)

    return call


# --- pulled models ------------------------------------------------------------------------


def test_missing_model_is_pulled(fake, run):
    fake.add_catalog("llama3.2", size=2000)
    result = run(name="llama3.2")
    assert result["changed"] is True
    assert result["actions"] == ["pulled llama3.2:latest"]
    assert result["model"]["present"] is True
    assert result["model"]["digest"] == fake.model("llama3.2")["digest"]
    assert result["model"]["kind"] == "completion"
    assert result["pull"]["bytes"] == 2000
    assert result["diff"] == {
        "before": {"present": False},
        "after": {
            "present": True,
            "digest": fake.model("llama3.2")["digest"],
            "parameters": {},
            "template": "{{ .Prompt }}",
            "system": "",
        },
    }


def test_existing_model_is_a_no_op_in_two_requests(fake, run):
    fake.put_local("llama3.2")
    result = run(name="LLAMA3.2:latest")
    assert result["changed"] is False
    assert result["actions"] == []
    assert fake.paths() == ["GET /api/tags", "POST /api/show"]


def test_check_mode_predicts_a_pull_and_writes_nothing(fake, run):
    fake.add_catalog("llama3.2")
    result = run(name="llama3.2", check_mode=True)
    assert result["changed"] is True
    assert result["actions"] == ["pulled llama3.2:latest"]
    assert fake.writes() == []
    assert fake.model("llama3.2") is None


def test_pull_always_without_upstream_change_is_not_a_change(fake, run):
    fake.put_local("llama3.2")
    result = run(name="llama3.2", pull="always")
    assert result["changed"] is False
    assert result["actions"] == []
    assert "POST /api/pull" in fake.paths()
    assert result["pull"]["seconds"] >= 0


def test_pull_always_with_a_new_digest_is_a_change(fake, run):
    fake.put_local("llama3.2")
    old = fake.model("llama3.2")["digest"]
    fake.bump("llama3.2")
    result = run(name="llama3.2", pull="always")
    assert result["changed"] is True
    assert result["actions"] == ["updated llama3.2:latest to digest %s" % fake.model("llama3.2")["digest"][:12]]
    assert result["diff"]["before"]["digest"] == old
    assert result["diff"]["after"]["digest"] == fake.model("llama3.2")["digest"] != old


def test_pull_always_in_check_mode_assumes_an_update(fake, run):
    fake.put_local("llama3.2")
    result = run(name="llama3.2", pull="always", check_mode=True)
    assert result["changed"] is True
    assert fake.writes() == []


def test_private_registry_names_and_insecure_are_passed_on(fake, run):
    fake.add_catalog("registry.local:5000/team/model:v1")
    result = run(name="registry.local:5000/team/model:v1", insecure=True)
    assert result["changed"] is True
    pull = next(r for r in fake.requests if r["path"] == "/api/pull")
    assert pull["body"] == {"model": "registry.local:5000/team/model:v1", "stream": True, "insecure": True}


def test_unknown_model_fails_naming_model_url_and_fix(fake, run):
    result = run(name="no-such-model:7b", api_token="tok-secret")
    assert result["failed"] is True
    assert "Failed to pull model 'no-such-model:7b' at %s" % URL in result["msg"]
    assert "pull model manifest: file does not exist" in result["msg"]
    assert "Check the model name and tag" in result["msg"]
    assert "tok-secret" not in json.dumps(result)


def test_invalid_name_fails_before_any_request(fake, run):
    result = run(name="localhost:5000/model")
    assert result["failed"] is True
    assert "not a valid Ollama model name" in result["msg"]
    assert fake.requests == []


def test_server_down_error_suggests_the_service(fake, run):
    fake.refuse = 1
    result = run(name="llama3.2")
    assert result["failed"] is True
    assert URL in result["msg"] and "systemctl status ollama" in result["msg"]


def test_progress_path_gets_the_final_record(fake, run, tmp_path):
    fake.add_catalog("llama3.2", size=100)
    target = tmp_path / "pull.json"
    run(name="llama3.2", progress_path=str(target))
    assert json.loads(target.read_text())["status"] == "success"


# --- created models -----------------------------------------------------------------------


@pytest.fixture
def qwen(fake):
    fake.put_local("qwen2.5-coder:14b", parameters={"stop": ["<|endoftext|>"]}, template="{{ .Prompt }}")
    return fake


def _create_requests(fake):
    return [r for r in fake.requests if r["path"] == "/api/create"]


def test_create_from_modelfile_sends_a_typed_structured_request(qwen, run):
    result = run(name="coding-primary", modelfile=MODELFILE)
    assert result["changed"] is True
    assert result["actions"] == ["created coding-primary:latest"]
    (create,) = _create_requests(qwen)
    assert create["body"] == {
        "model": "coding-primary:latest",
        "from": "qwen2.5-coder:14b",
        "parameters": {"num_ctx": 32768, "stop": ["<|im_end|>"]},
        "system": "You are careful.\nVery careful.",
        "stream": True,
    }
    assert result["model"]["parameters"] == {"num_ctx": 32768, "stop": ["<|im_end|>"]}
    assert result["diff"]["after"]["system"] == "You are careful.\nVery careful."


def test_created_model_unchanged_is_a_no_op_in_three_requests(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    qwen.requests.clear()
    result = run(name="coding-primary", modelfile=MODELFILE)
    assert result["changed"] is False
    assert result["actions"] == []
    # The model and its base from /api/show; the digest, which /api/show lacks, from the list.
    assert qwen.paths() == ["POST /api/show", "POST /api/show", "GET /api/tags"]
    assert result["model"]["digest"] == qwen.model("coding-primary")["digest"]
    assert result["model"]["disk_size"] == qwen.model("coding-primary")["size"]


def test_created_model_loaded_is_a_no_op_in_three_requests(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE, state="loaded")
    qwen.requests.clear()
    result = run(name="coding-primary", modelfile=MODELFILE, state="loaded")
    assert result["changed"] is False
    assert result["actions"] == []
    # The digest of a loaded model comes with /api/ps; the list is not needed.
    assert qwen.paths() == ["POST /api/show", "POST /api/show", "GET /api/ps"]
    assert result["model"]["digest"] == qwen.model("coding-primary")["digest"]
    assert result["model"]["loaded"] is True
    assert result["model"]["forever"] is True


def test_created_model_loaded_by_a_runner_under_another_name_is_found_through_the_list(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    run(name="coding-copy", modelfile=MODELFILE, state="loaded")
    qwen.requests.clear()
    result = run(name="coding-primary", modelfile=MODELFILE, state="loaded")
    assert result["changed"] is False, result["actions"]
    assert "GET /api/tags" in qwen.paths()
    assert result["model"]["digest"] == qwen.model("coding-primary")["digest"]
    assert result["model"]["loaded"] is True


def test_check_mode_predicts_a_create_and_writes_nothing(qwen, run):
    result = run(name="coding-primary", modelfile=MODELFILE, check_mode=True)
    assert result["changed"] is True
    assert result["actions"] == ["created coding-primary:latest"]
    assert result["diff"]["after"]["parameters"] == {"num_ctx": 32768, "stop": ["<|im_end|>"]}
    assert qwen.writes() == []


def test_changed_parameter_rebuilds_and_says_why(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    before = qwen.model("coding-primary")["digest"]
    check = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "16384"), check_mode=True)
    assert check["changed"] is True
    assert check["actions"] == ["rebuilt coding-primary:latest: parameters differ (num_ctx)"]
    assert qwen.model("coding-primary")["digest"] == before
    result = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "16384"))
    assert result["changed"] is True
    assert result["actions"] == check["actions"]
    assert result["diff"]["before"]["parameters"]["num_ctx"] == 32768
    assert result["diff"]["after"]["parameters"]["num_ctx"] == 16384
    assert qwen.model("coding-primary")["parameters"]["num_ctx"] == 16384


def test_dropping_the_system_prompt_rebuilds(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    result = run(
        name="coding-primary",
        modelfile='FROM qwen2.5-coder:14b\nPARAMETER num_ctx 32768\nPARAMETER stop "<|im_end|>"\n',
    )
    assert result["actions"] == ["rebuilt coding-primary:latest: system differs"]


def test_base_model_with_new_weights_causes_a_rebuild(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    qwen.bump("qwen2.5-coder:14b")
    result = run(name="coding-primary", modelfile=MODELFILE, pull="always")
    assert result["changed"] is True
    assert result["actions"] == [
        "pulled base model qwen2.5-coder:14b",
        "rebuilt coding-primary:latest: base model qwen2.5-coder:14b has new weights",
    ]
    assert qwen.model("coding-primary")["blob"] == qwen.model("qwen2.5-coder:14b")["blob"]
    again = run(name="coding-primary", modelfile=MODELFILE, pull="always")
    assert again["changed"] is False


def test_base_repulled_out_of_band_is_noticed_without_pull_always(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    qwen.bump("qwen2.5-coder:14b")
    qwen.put_local("qwen2.5-coder:14b")
    result = run(name="coding-primary", modelfile=MODELFILE)
    assert result["actions"] == ["rebuilt coding-primary:latest: base model qwen2.5-coder:14b has new weights"]


def test_rebuilt_model_that_was_loaded_is_reloaded(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    qwen.load("coding-primary", -1)
    qwen.unload_lag = 1
    qwen.requests.clear()
    result = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "8192"))
    assert result["actions"] == [
        "rebuilt coding-primary:latest: parameters differ (num_ctx)",
        "reloaded coding-primary:latest",
    ]
    runner = qwen.runner("coding-primary")
    assert runner["context_length"] == 8192
    assert result["model"]["loaded"] is True and result["model"]["forever"] is True
    # Built under a candidate name while the old model serves; unloaded only then.
    writes = [(r["method"], r["path"], (r["body"] or {}).get("model")) for r in qwen.writes()]
    candidate = "coding-primary-llmops-candidate:latest"
    assert writes == [
        ("POST", "/api/create", candidate),
        ("POST", "/api/generate", "coding-primary:latest"),
        ("POST", "/api/copy", None),
        ("DELETE", "/api/delete", candidate),
        ("POST", "/api/generate", "coding-primary:latest"),
    ]
    assert qwen.model(candidate) is None
    assert qwen.model("coding-primary")["parameters"]["num_ctx"] == 8192


def test_failed_create_keeps_the_previous_model_and_reloads_it(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    old = dict(qwen.model("coding-primary"))
    qwen.load("coding-primary", -1)
    qwen.faults["create"] = {"error": "template error: unexpected EOF"}
    result = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "8192"))
    assert result["failed"] is True
    assert "Failed to create model 'coding-primary:latest' at %s: template error" % URL in result["msg"]
    assert "the previous model is unchanged and still loaded" in result["msg"]
    assert qwen.model("coding-primary")["digest"] == old["digest"]
    assert qwen.runner("coding-primary") is not None
    # It never left memory: the refused definition was being built under the candidate name.
    assert not [r for r in qwen.writes() if r["path"] == "/api/generate"]
    assert qwen.model("coding-primary-llmops-candidate") is None


def test_a_failure_after_the_unload_loads_the_previous_model_again(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    old = dict(qwen.model("coding-primary"))
    qwen.load("coding-primary", -1)
    qwen.faults["copy"] = True
    result = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "8192"))
    assert result["failed"] is True
    assert "Failed to copy model 'coding-primary-llmops-candidate:latest'" in result["msg"]
    assert "the previous model is unchanged and loaded again" in result["msg"]
    assert qwen.model("coding-primary")["digest"] == old["digest"]
    assert qwen.runner("coding-primary")["context_length"] == 32768
    assert qwen.model("coding-primary-llmops-candidate") is None


def test_a_name_without_room_for_the_candidate_is_rebuilt_in_place(qwen, run):
    name = "m" * 70
    run(name=name, modelfile=MODELFILE)
    qwen.load(name, -1)
    qwen.requests.clear()
    result = run(name=name, modelfile=MODELFILE.replace("32768", "8192"))
    assert result["actions"][-1] == "reloaded %s:latest" % name
    assert any("no room for a candidate name" in w for w in result.get("warnings", []))
    writes = [(r["method"], r["path"]) for r in qwen.writes()]
    assert writes == [("POST", "/api/generate"), ("POST", "/api/create"), ("POST", "/api/generate")]


def test_structured_options_create_the_same_model_as_a_modelfile(qwen, run):
    result = run(
        name="general",
        **{
            "from": "qwen2.5-coder:14b",
            "parameters": {"num_ctx": "16384", "temperature": 0.7, "stop": "END"},
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            "license": ["MIT"],
        },
    )
    assert result["changed"] is True
    (create,) = _create_requests(qwen)
    assert create["body"]["parameters"] == {"num_ctx": 16384, "temperature": 0.7, "stop": ["END"]}
    assert create["body"]["messages"][1] == {"role": "assistant", "content": "hello"}
    assert create["body"]["license"] == ["MIT"]
    again = run(
        name="general",
        **{
            "from": "qwen2.5-coder:14b",
            "parameters": {"num_ctx": 16384, "temperature": 0.7, "stop": ["END"]},
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
            "license": ["MIT"],
        },
    )
    assert again["changed"] is False


def test_unknown_parameter_fails_before_any_request(fake, run):
    result = run(name="x", modelfile="FROM llama3.2\nPARAMETER num_cxt 8\n")
    assert result["failed"] is True
    assert "unknown parameter 'num_cxt'" in result["msg"]
    assert fake.requests == []


def test_wrong_parameter_type_fails_before_any_request(fake, run):
    result = run(name="x", **{"from": "llama3.2", "parameters": {"num_ctx": "big"}})
    assert result["failed"] is True
    assert "num_ctx must be an integer" in result["msg"]
    assert fake.requests == []


def test_deprecated_parameter_is_dropped_with_a_warning(qwen, run):
    result = run(name="x", modelfile="FROM qwen2.5-coder:14b\nPARAMETER mirostat 1\n")
    assert result["changed"] is True
    assert "parameters" not in _create_requests(qwen)[0]["body"]
    assert any("mirostat is deprecated" in w for w in result["warnings"])


def test_modelfile_and_structured_options_are_exclusive(fake, run):
    result = run(name="x", modelfile="FROM a", system="b")
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


def test_modelfile_path_resolves_relative_gguf_and_uploads_it(fake, run, tmp_path):
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF-weights")
    digest = "sha256:" + hashlib.sha256(weights.read_bytes()).hexdigest()
    modelfile = tmp_path / "Modelfile"
    modelfile.write_text("FROM ./tiny.gguf\nPARAMETER num_ctx 2048\n")
    result = run(name="tiny", modelfile_path=str(modelfile))
    assert result["changed"] is True
    assert [(r["method"], r["path"]) for r in fake.writes()] == [
        ("POST", "/api/blobs/" + digest),
        ("POST", "/api/create"),
    ]
    assert _create_requests(fake)[0]["body"]["files"] == {"tiny.gguf": digest}
    assert run(name="tiny", modelfile_path=str(modelfile))["changed"] is False
    weights.write_bytes(b"GGUF-weights-v2")
    changed = run(name="tiny", modelfile_path=str(modelfile))
    assert changed["actions"] == ["rebuilt tiny:latest: weights file tiny.gguf changed"]


def test_gguf_rewritten_by_the_server_is_still_recognised(fake, run, tmp_path):
    fake.rewrite_gguf = True
    weights = tmp_path / "tiny.gguf"
    weights.write_bytes(b"GGUF-weights")
    run(name="tiny", modelfile="FROM %s\n" % weights)
    assert run(name="tiny", modelfile="FROM %s\n" % weights)["changed"] is False


def test_old_server_gets_the_legacy_modelfile_body(qwen, run):
    qwen.version = "0.5.4"
    result = run(name="coding-primary", modelfile=MODELFILE)
    assert result["changed"] is True
    (create,) = _create_requests(qwen)
    assert "from" not in create["body"]
    assert create["body"]["modelfile"].startswith("FROM qwen2.5-coder:14b\n")
    assert "PARAMETER num_ctx 32768" in create["body"]["modelfile"]
    assert run(name="coding-primary", modelfile=MODELFILE)["changed"] is False


def test_quantize_needs_a_definition(fake, run):
    result = run(name="x", quantize="q4_K_M")
    assert result["failed"] is True and "quantize needs a definition" in result["msg"]


# --- loading ------------------------------------------------------------------------------


def test_loaded_pulls_then_loads_forever_and_reports_memory(fake, run):
    fake.add_catalog("llama3.2", size=1000)
    result = run(name="llama3.2", state="loaded")
    assert result["changed"] is True
    assert result["actions"] == [
        "pulled llama3.2:latest",
        "loaded llama3.2:latest (keep_alive forever)",
    ]
    generate = next(r for r in fake.requests if r["path"] == "/api/generate")
    assert generate["body"] == {"model": "llama3.2:latest", "keep_alive": -1, "stream": False}
    model = result["model"]
    assert (model["loaded"], model["forever"], model["size"], model["size_vram"], model["gpu_percent"]) == (
        True,
        True,
        2000,
        2000,
        100,
    )
    assert model["expires_at"].startswith("2318") or int(model["expires_at"][:4]) > 2300
    assert result["diff"]["before"] == {"present": False, "loaded": False}
    assert result["diff"]["after"]["loaded"] is True


def test_loaded_with_the_requested_keep_alive_is_a_no_op_in_three_requests(fake, run):
    fake.put_local("llama3.2")
    fake.load("llama3.2", -1)
    result = run(name="llama3.2", state="loaded", keep_alive="-1")
    assert result["changed"] is False
    assert fake.paths() == ["GET /api/tags", "POST /api/show", "GET /api/ps"]


def test_string_minus_one_is_sent_as_the_number(fake, run):
    fake.put_local("llama3.2")
    result = run(name="llama3.2", state="loaded", keep_alive="-1")
    assert result["changed"] is True
    assert next(r for r in fake.requests if r["path"] == "/api/generate")["body"]["keep_alive"] == -1


def test_finite_keep_alive_replaces_forever(fake, run):
    fake.put_local("llama3.2")
    fake.load("llama3.2", -1)
    result = run(name="llama3.2", state="loaded", keep_alive="24h")
    assert result["changed"] is True
    assert result["actions"] == ["loaded llama3.2:latest (keep_alive 24h)"]
    assert result["model"]["forever"] is False
    assert next(r for r in fake.requests if r["path"] == "/api/generate")["body"]["keep_alive"] == 86400
    assert run(name="llama3.2", state="loaded", keep_alive=86400)["changed"] is False


def test_invalid_keep_alive_fails_before_any_request(fake, run):
    result = run(name="llama3.2", state="loaded", keep_alive="2d")
    assert result["failed"] is True and "days are not supported" in result["msg"]
    zero = run(name="llama3.2", state="loaded", keep_alive=0)
    assert zero["failed"] is True and "state: unloaded" in zero["msg"]
    assert fake.requests == []


def test_embedding_model_is_loaded_through_embed(fake, run):
    fake.put_local("nomic-embed-text", embedding=True)
    result = run(name="nomic-embed-text", state="loaded", keep_alive="24h")
    assert result["changed"] is True
    assert result["model"]["kind"] == "embedding"
    embed = [r for r in fake.requests if r["path"] == "/api/embed"]
    assert embed[0]["body"] == {"model": "nomic-embed-text:latest", "input": [], "keep_alive": 86400}
    assert not [r for r in fake.requests if r["path"] == "/api/generate"]


def test_embedding_model_on_a_server_before_capabilities(fake, run):
    fake.version = "0.6.3"
    fake.put_local("nomic-embed-text", embedding=True)
    result = run(name="nomic-embed-text", state="loaded")
    assert result["model"]["capabilities"] is None
    assert result["model"]["kind"] == "embedding"
    assert [r for r in fake.requests if r["path"] == "/api/embed"]


def test_kind_overrides_detection(fake, run):
    fake.put_local("llama3.2")
    run(name="llama3.2", state="loaded", kind="embedding")
    assert [r for r in fake.requests if r["path"] == "/api/embed"]


def test_wrong_kind_error_carries_a_hint(fake, run):
    fake.put_local("nomic-embed-text", embedding=True)
    result = run(name="nomic-embed-text", state="loaded", kind="completion")
    assert result["failed"] is True
    assert '"nomic-embed-text:latest" does not support generate' in result["msg"]
    assert "kind: embedding" in result["msg"]


def test_require_gpu_fails_when_part_runs_on_the_cpu(fake, run):
    fake.put_local("llama3.2")
    fake.vram_fraction = 0.5
    result = run(name="llama3.2", state="loaded", require_gpu=True)
    assert result["failed"] is True
    assert "only 50% of it" in result["msg"] and "'llama3.2:latest'" in result["msg"]
    fake.vram_fraction = 1.0
    fake.loaded.clear()
    assert run(name="llama3.2", state="loaded", require_gpu=True)["changed"] is True


def test_out_of_memory_load_error(fake, run):
    fake.put_local("llama3.2")
    fake.faults["load_oom"] = True
    result = run(name="llama3.2", state="loaded")
    assert result["failed"] is True
    assert "Failed to load model 'llama3.2:latest' at %s: model requires more system memory" % URL in result["msg"]
    assert "does not fit" in result["msg"]


def test_check_mode_load_writes_nothing(fake, run):
    fake.put_local("llama3.2")
    result = run(name="llama3.2", state="loaded", check_mode=True)
    assert result["changed"] is True
    assert result["diff"]["after"]["loaded"] is True
    assert fake.writes() == []


# --- unloaded and absent ------------------------------------------------------------------


def test_unloaded_unloads_and_waits_until_gone(fake, run):
    fake.put_local("nomic-embed-text", embedding=True)
    fake.load("nomic-embed-text")
    fake.unload_lag = 2
    result = run(name="nomic-embed-text", state="unloaded")
    assert result["changed"] is True
    assert result["actions"] == ["unloaded nomic-embed-text:latest"]
    generate = next(r for r in fake.requests if r["path"] == "/api/generate")
    assert generate["body"]["keep_alive"] == 0
    assert fake.loaded == {}
    assert result["diff"] == {"before": {"loaded": True, "forever": True}, "after": {"loaded": False}}


def test_unloaded_when_not_loaded_is_one_request(fake, run):
    result = run(name="llama3.2", state="unloaded")
    assert result["changed"] is False
    assert fake.paths() == ["GET /api/ps"]


def test_unloaded_in_check_mode_writes_nothing(fake, run):
    fake.put_local("llama3.2")
    fake.load("llama3.2")
    result = run(name="llama3.2", state="unloaded", check_mode=True)
    assert result["changed"] is True
    assert fake.writes() == []


def test_absent_unloads_then_deletes(fake, run):
    fake.put_local("llama3.2")
    fake.load("llama3.2")
    result = run(name="llama3.2", state="absent")
    assert result["changed"] is True
    assert result["actions"] == ["unloaded llama3.2:latest", "deleted llama3.2:latest"]
    assert [(r["method"], r["path"]) for r in fake.writes()] == [("POST", "/api/generate"), ("DELETE", "/api/delete")]
    assert fake.model("llama3.2") is None
    assert result["diff"] == {
        "before": {"present": True, "digest": result["diff"]["before"]["digest"], "loaded": True, "forever": True},
        "after": {"present": False, "loaded": False},
    }


def test_absent_when_missing_is_a_no_op(fake, run):
    result = run(name="llama3.2", state="absent")
    assert result["changed"] is False
    assert fake.paths() == ["GET /api/tags"]


def test_absent_in_check_mode_writes_nothing(fake, run):
    fake.put_local("llama3.2")
    result = run(name="llama3.2", state="absent", check_mode=True)
    assert result["changed"] is True
    assert fake.writes() == []
    assert fake.model("llama3.2") is not None


def test_token_never_reaches_the_result(fake, run):
    fake.token = "tok-secret"
    fake.put_local("llama3.2")
    result = run(name="llama3.2", state="loaded", api_token="tok-secret")
    assert result["changed"] is True
    assert "tok-secret" not in json.dumps(result)


def test_failure_after_a_pull_still_reports_the_pull(fake, run):
    fake.add_catalog("llama3.2")
    fake.faults["load_oom"] = True
    result = run(name="llama3.2", state="loaded")
    assert result["failed"] is True
    assert result["changed"] is True
    assert result["actions"] == ["pulled llama3.2:latest"]


def test_create_refused_with_a_status_names_model_and_message(qwen, run):
    qwen.faults["create"] = {"status": 400, "error": "template error: unexpected EOF"}
    result = run(name="coding-primary", modelfile=MODELFILE, api_token="tok-secret")
    assert result["failed"] is True
    assert result["msg"].startswith("Failed to create model 'coding-primary:latest' at %s: template error" % URL)
    assert "(HTTP 400)" in result["msg"]
    assert qwen.model("coding-primary") is None
    assert "tok-secret" not in json.dumps(result)


def test_rebuild_of_a_loaded_model_with_state_loaded_loads_it_once(qwen, run):
    run(name="coding-primary", modelfile=MODELFILE)
    qwen.load("coding-primary", -1)
    qwen.requests.clear()
    result = run(name="coding-primary", modelfile=MODELFILE.replace("32768", "8192"), state="loaded")
    assert result["actions"] == [
        "rebuilt coding-primary:latest: parameters differ (num_ctx)",
        "loaded coding-primary:latest (keep_alive forever)",
    ]
    assert result["diff"]["before"]["loaded"] is True
    assert result["diff"]["after"]["loaded"] is True
    loads = [r for r in qwen.writes() if r["path"] == "/api/generate" and r["body"].get("keep_alive") != 0]
    assert len(loads) == 1


def test_a_runner_listed_under_a_variant_sharing_the_weights_counts_as_loaded(qwen, run):
    # The variant differs only in its system prompt, so the server runs one runner for both and
    # lists it under the variant's name (pitfall 10).
    run(name="variant", modelfile='FROM qwen2.5-coder:14b\nSYSTEM "shared"\n', state="loaded")
    assert qwen.runner("variant") is not None
    qwen.requests.clear()
    result = run(name="qwen2.5-coder:14b", state="loaded")
    assert result["changed"] is False
    assert result["model"]["loaded"] is True and result["model"]["forever"] is True
    assert qwen.writes() == []
    unloaded = run(name="qwen2.5-coder:14b", state="unloaded")
    assert unloaded["changed"] is True
    assert qwen.loaded == {}


def test_unloaded_with_other_models_loaded_asks_only_about_lookalikes(qwen, run):
    qwen.put_local("nomic-embed-text", embedding=True)
    qwen.load("nomic-embed-text")
    qwen.requests.clear()
    result = run(name="qwen2.5-coder:14b", state="unloaded")
    assert result["changed"] is False
    assert qwen.paths() == ["GET /api/ps", "POST /api/show"]


def test_adapter_files_are_uploaded_and_named_in_the_request(qwen, run, tmp_path):
    adapter = tmp_path / "lora.gguf"
    adapter.write_bytes(b"GGUF-lora")
    digest = "sha256:" + hashlib.sha256(adapter.read_bytes()).hexdigest()
    result = run(name="tuned", **{"from": "qwen2.5-coder:14b", "adapters": [str(adapter)]})
    assert result["changed"] is True
    assert ("POST", "/api/blobs/" + digest) in [(r["method"], r["path"]) for r in qwen.writes()]
    assert _create_requests(qwen)[0]["body"]["adapters"] == {"lora.gguf": digest}
    assert run(name="tuned", **{"from": "qwen2.5-coder:14b", "adapters": [str(adapter)]})["changed"] is False
    adapter.write_bytes(b"GGUF-lora-2")
    assert run(name="tuned", **{"from": "qwen2.5-coder:14b", "adapters": [str(adapter)]})["actions"] == [
        "rebuilt tuned:latest: adapter lora.gguf changed"
    ]


def test_renderer_and_parser_are_passed_on_and_draft_is_refused(qwen, run):
    result = run(name="r", modelfile="FROM qwen2.5-coder:14b\nRENDERER qwen3-coder\nPARSER qwen3-coder\n")
    assert result["changed"] is True
    body = _create_requests(qwen)[0]["body"]
    assert (body["renderer"], body["parser"]) == ("qwen3-coder", "qwen3-coder")
    refused = run(name="d", modelfile="FROM qwen2.5-coder:14b\nDRAFT qwen2.5-coder:0.5b\n")
    assert refused["failed"] is True and "DRAFT" in refused["msg"]


def test_missing_adapter_file_fails_before_any_request(fake, run):
    result = run(name="x", **{"from": "llama3.2", "adapters": ["/nonexistent/lora.gguf"]})
    assert result["failed"] is True and "ADAPTER /nonexistent/lora.gguf is not a file" in result["msg"]
    assert fake.requests == []


def test_missing_base_model_is_pulled_first_with_insecure(fake, run):
    fake.add_catalog("registry.local:5000/team/base:v1")
    result = run(name="variant", insecure=True, modelfile="FROM registry.local:5000/team/base:v1\nSYSTEM hi\n")
    assert result["actions"] == ["pulled base model registry.local:5000/team/base:v1", "created variant:latest"]
    pull = next(r for r in fake.requests if r["path"] == "/api/pull")
    assert pull["body"]["insecure"] is True
    assert (
        run(name="variant", insecure=True, modelfile="FROM registry.local:5000/team/base:v1\nSYSTEM hi\n")["changed"]
        is False
    )


@pytest.mark.parametrize(
    "definition",
    [
        {"modelfile": "FROM {path}\n"},
        {"modelfile": "FROM qwen2.5-coder:14b\nADAPTER {path}\n"},
        {"from": "{path}"},
        {"from": "qwen2.5-coder:14b", "adapters": ["{path}"]},
    ],
    ids=["modelfile-from", "modelfile-adapter", "structured-from", "structured-adapter"],
)
def test_a_local_file_that_is_not_gguf_is_never_sent(qwen, run, tmp_path, definition):
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:root:/root:/bin/bash\n")
    args = {
        key: [v.format(path=secret) for v in value] if isinstance(value, list) else value.format(path=secret)
        for key, value in definition.items()
    }
    qwen.requests.clear()
    result = run(name="variant", **args)
    assert result["failed"] is True
    assert "%s is not a GGUF file" % secret in result["msg"]
    assert "model 'variant'" in result["msg"]
    assert qwen.requests == []
    assert qwen.blobs == set()


VARIANT_2048 = "FROM qwen2.5-coder:14b\nPARAMETER num_ctx 2048\n"


def test_a_base_runner_with_other_options_does_not_count_as_the_variant_loaded(qwen, run):
    # One runner per weights file, but a request with another num_ctx makes the server reload it
    # (needsReload): the base's runner does not serve the variant.
    qwen.load("qwen2.5-coder:14b", -1)
    run(name="variant", modelfile=VARIANT_2048)
    qwen.requests.clear()
    result = run(name="variant", modelfile=VARIANT_2048, state="loaded")
    assert result["changed"] is True
    assert result["actions"] == ["loaded variant:latest (keep_alive forever)"]
    assert result["diff"]["before"]["loaded"] is False
    assert qwen.runner("variant")["context_length"] == 2048
    assert run(name="variant", modelfile=VARIANT_2048, state="loaded")["changed"] is False


def test_failed_rebuild_of_a_variant_leaves_the_base_runner_alone(qwen, run):
    qwen.load("qwen2.5-coder:14b", -1)
    run(name="variant", modelfile=VARIANT_2048)
    qwen.faults["create"] = {"error": "template error: unexpected EOF"}
    qwen.requests.clear()
    result = run(name="variant", modelfile=VARIANT_2048.replace("2048", "1024"))
    assert result["failed"] is True
    assert "the previous model is unchanged" in result["msg"]
    assert "loaded again" not in result["msg"]
    assert [(r["method"], r["path"]) for r in qwen.writes()] == [("POST", "/api/create")]
    assert qwen.runner("qwen2.5-coder:14b") is not None


def test_a_token_with_a_line_break_inside_is_refused_before_any_request(fake, run):
    result = run(name="llama3.2", api_token="tok-secret\r\nX-Evil: 1")
    assert result["failed"] is True
    assert "api_token contains a line break" in result["msg"]
    assert "tok-secret" not in json.dumps(result)
    assert fake.requests == []


def test_a_base_runner_already_running_with_the_variants_context_serves_the_variant(qwen, run):
    # The base was loaded with the server's default context (4096 here), which the variant asks
    # for explicitly: the server reuses that runner, still listed under the base's name.
    qwen.load("qwen2.5-coder:14b", -1)
    variant = "FROM qwen2.5-coder:14b\nPARAMETER num_ctx 4096\nSYSTEM x\n"
    run(name="variant", modelfile=variant)
    qwen.requests.clear()
    result = run(name="variant", modelfile=variant, state="loaded")
    assert result["changed"] is False
    assert result["model"]["loaded"] is True and result["model"]["context_length"] == 4096
    assert qwen.writes() == []
