# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._modelfile import (
    ModelfileError,
    local_path,
    parse_modelfile,
    render_modelfile,
    type_parameters,
)

FULL = '''# a comment
FROM qwen2.5-coder:14b
PARAMETER num_ctx 32768
PARAMETER temperature 0.2
PARAMETER top_k 40
PARAMETER use_mmap true
PARAMETER stop "<|im_end|>"
PARAMETER stop <|endoftext|>
TEMPLATE """{{ if .System }}<|im_start|>system
{{ .System }}<|im_end|>
{{ end }}{{ .Prompt }}"""
SYSTEM """
You are careful.
  Indented line.
"""
ADAPTER ./lora.gguf
LICENSE """MIT
text"""
LICENSE Apache-2.0
MESSAGE user Hello there
MESSAGE assistant "Hi!"
REQUIRES 0.14.0
'''


def test_every_instruction_is_parsed_with_typed_parameters():
    definition = parse_modelfile(FULL)
    assert definition["from"] == "qwen2.5-coder:14b"
    assert definition["parameters"] == {
        "num_ctx": 32768,
        "temperature": 0.2,
        "top_k": 40,
        "use_mmap": True,
        "stop": ["<|im_end|>", "<|endoftext|>"],
    }
    assert isinstance(definition["parameters"]["num_ctx"], int)
    assert isinstance(definition["parameters"]["temperature"], float)
    assert (
        definition["template"] == "{{ if .System }}<|im_start|>system\n{{ .System }}<|im_end|>\n{{ end }}{{ .Prompt }}"
    )
    assert definition["system"] == "\nYou are careful.\n  Indented line.\n"
    assert definition["adapters"] == ["./lora.gguf"]
    assert definition["license"] == ["MIT\ntext", "Apache-2.0"]
    assert definition["messages"] == [
        {"role": "user", "content": "Hello there"},
        {"role": "assistant", "content": "Hi!"},
    ]
    assert definition["requires"] == "0.14.0"


def test_instructions_are_case_insensitive_and_last_system_wins():
    definition = parse_modelfile("from llama3.2\nsystem one\nSystem two\nparameter num_ctx 1\nPARAMETER num_ctx 2\n")
    assert definition == {"from": "llama3.2", "system": "two", "parameters": {"num_ctx": 2}}


def test_crlf_bom_and_single_quoted_multiline_values():
    definition = parse_modelfile('\ufeffFROM x\r\nSYSTEM "line one\r\nline two"\r\n')
    assert definition["system"] == "line one\nline two"


@pytest.mark.parametrize(
    "text, message",
    [
        ("PARAMETER num_ctx 1\n", "no FROM line"),
        ("FROM x\nSTOP now\n", "(line 2): command must be one of"),
        ("FROM x\nMESSAGE robot hi\n", "message role must be one of"),
        ('FROM x\nSYSTEM """never closed\nstill open\n', "never closed"),
        ("FROM x\nPARAMETER num_cxt 4096\n", "unknown parameter 'num_cxt'"),
        ("FROM x\nPARAMETER num_ctx big\n", "num_ctx must be an integer"),
        ("FROM x\nPARAMETER num_ctx 4096.5\n", "num_ctx must be an integer"),
        ("FROM x\nPARAMETER temperature warm\n", "temperature must be a number"),
        ("FROM x\nPARAMETER use_mmap maybe\n", "use_mmap must be a boolean"),
        ("FROM x\nREQUIRES soon\n", "requires must be a valid semver"),
        ("FROM\n", "command must be one of"),
    ],
)
def test_invalid_modelfiles_fail_with_the_reason(text, message):
    with pytest.raises(ModelfileError, match=None) as caught:
        parse_modelfile(text)
    assert message in str(caught.value)


def test_deprecated_parameters_are_dropped_with_a_warning():
    warnings = []
    definition = parse_modelfile("FROM x\nPARAMETER mirostat 2\nPARAMETER num_ctx 8\n", warnings)
    assert definition["parameters"] == {"num_ctx": 8}
    assert warnings == ["parameter mirostat is deprecated and ignored by Ollama; it was dropped"]


def test_structured_parameters_are_typed_and_checked():
    assert type_parameters({"num_ctx": "4096", "top_p": 1, "stop": "END", "use_mmap": "false"}) == {
        "num_ctx": 4096,
        "top_p": 1.0,
        "stop": ["END"],
        "use_mmap": False,
    }
    with pytest.raises(ModelfileError, match="stop must be a string or a list of strings"):
        type_parameters({"stop": [1]})
    with pytest.raises(ModelfileError, match="num_ctx must be an integer"):
        type_parameters({"num_ctx": True})
    with pytest.raises(ModelfileError, match="unknown parameter 'bogus'"):
        type_parameters({"bogus": 1})


def test_local_path_is_relative_to_the_modelfile_directory(tmp_path):
    (tmp_path / "w.gguf").write_bytes(b"GGUF")
    assert local_path("w.gguf", str(tmp_path)) == str(tmp_path / "w.gguf")
    assert local_path("llama3.2", str(tmp_path)) is None


def test_rendered_legacy_modelfile_parses_back_to_the_same_definition():
    definition = parse_modelfile(FULL)
    definition.pop("requires")
    text = render_modelfile(definition, {"./lora.gguf": "sha256:" + "a" * 64})
    assert "ADAPTER @sha256:" + "a" * 64 in text
    again = parse_modelfile(text)
    again["adapters"] = definition["adapters"]
    assert again == definition
