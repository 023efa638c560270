# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.filter.model_slots import FilterModule, model_slots
from ansible_collections.llmops.ollama.tests.unit.plugins.filter.slot_helpers import (
    FALLBACK,
    NAME_EXPECTED,
    TIME_EXPECTED,
    TIMESTAMP,
    paths_of,
    problems_of,
)

SEED = {
    "timestamp": TIMESTAMP,
    "slot1_coding": "qwen2.5-coder:14b",
    "slot2_general": "llama3.1:8b",
    "slot3_backup": "deepseek-coder-v2:16b",
    "slot4_experimental": None,
}


def _bases(slots):
    return [(slot["slot"], slot["base_model"], slot["source"]) for slot in slots]


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"model_slots": model_slots}


def test_seed_document_fills_slots_1_to_3_with_their_variants():
    assert model_slots(SEED, fallback=FALLBACK) == [
        {
            "slot": 1,
            "role": "coding",
            "name": "coding-primary",
            "base_model": "qwen2.5-coder:14b",
            "num_ctx": 32768,
            "source": "selection",
        },
        {
            "slot": 2,
            "role": "general",
            "name": "general-primary",
            "base_model": "llama3.1:8b",
            "num_ctx": 16384,
            "source": "selection",
        },
        {
            "slot": 3,
            "role": "backup",
            "name": "backup",
            "base_model": "deepseek-coder-v2:16b",
            "num_ctx": 16384,
            "source": "selection",
        },
    ]


@pytest.mark.parametrize("selection", [None, {}], ids=["none", "empty"])
def test_no_file_uses_every_fallback(selection):
    assert _bases(model_slots(selection, fallback=FALLBACK)) == [
        (1, "qwen2.5-coder:7b", "fallback"),
        (2, "llama3.1:8b", "fallback"),
        (3, "mistral:7b", "fallback"),
    ]


def test_fallback_is_per_slot():
    selection = dict(SEED, slot2_general=None)
    assert _bases(model_slots(selection, fallback=FALLBACK)) == [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "fallback"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ]


def test_absent_slot_key_means_null():
    selection = {"timestamp": TIMESTAMP, "slot3_backup": "phi3:mini"}
    assert _bases(model_slots(selection, fallback=FALLBACK)) == [
        (1, "qwen2.5-coder:7b", "fallback"),
        (2, "llama3.1:8b", "fallback"),
        (3, "phi3:mini", "selection"),
    ]


def test_fallbacks_are_only_required_for_empty_slots():
    assert _bases(model_slots(SEED)) == [
        (1, "qwen2.5-coder:14b", "selection"),
        (2, "llama3.1:8b", "selection"),
        (3, "deepseek-coder-v2:16b", "selection"),
    ]


def test_slot4_from_the_file():
    slots = model_slots(dict(SEED, slot4_experimental="gemma2:9b"), fallback=FALLBACK)
    assert slots[3] == {
        "slot": 4,
        "role": "experimental",
        "name": "experimental",
        "base_model": "gemma2:9b",
        "num_ctx": 8192,
        "source": "selection",
    }


@pytest.mark.parametrize("slot4_experimental", [None, "gemma2:9b"])
def test_override_wins_for_slot4(slot4_experimental):
    selection = dict(SEED, slot4_experimental=slot4_experimental)
    slots = model_slots(selection, fallback=FALLBACK, slot4_model="mistral-nemo:12b")
    assert _bases(slots)[3] == (4, "mistral-nemo:12b", "override")
    assert len(slots) == 4


@pytest.mark.parametrize("override", ["", None])
def test_empty_override_means_none(override):
    assert len(model_slots(SEED, fallback=FALLBACK, slot4_model=override)) == 3
    with_file = model_slots(dict(SEED, slot4_experimental="gemma2:9b"), fallback=FALLBACK, slot4_model=override)
    assert _bases(with_file)[3] == (4, "gemma2:9b", "selection")


def test_override_without_a_file():
    assert _bases(model_slots({}, fallback=FALLBACK, slot4_model="gemma2:9b"))[3] == (4, "gemma2:9b", "override")


def test_variants_replace_only_the_keys_given():
    slots = model_slots(
        SEED,
        fallback=FALLBACK,
        slot4_model="gemma2:9b",
        variants={"coding": {"num_ctx": 65536}, "experimental": {"name": "lab"}, "backup": {}},
    )
    assert [(slot["name"], slot["num_ctx"]) for slot in slots] == [
        ("coding-primary", 65536),
        ("general-primary", 16384),
        ("backup", 16384),
        ("lab", 8192),
    ]


def test_integral_float_num_ctx_becomes_an_integer():
    slots = model_slots(SEED, variants={"general": {"num_ctx": 4096.0}})
    assert slots[1]["num_ctx"] == 4096 and isinstance(slots[1]["num_ctx"], int)


def test_input_is_not_modified():
    selection, fallback, variants = copy.deepcopy(SEED), dict(FALLBACK), {"coding": {"num_ctx": 1024}}
    model_slots(selection, fallback=fallback, slot4_model="gemma2:9b", variants=variants)
    assert (selection, fallback, variants) == (SEED, FALLBACK, {"coding": {"num_ctx": 1024}})


def test_extra_keys_are_allowed():
    selection = dict(SEED, notes="chosen on Tuesday", benchmark={"runs": 3}, timestamps=[1, 2])
    assert _bases(model_slots(selection)) == _bases(model_slots(SEED))


# --- errors in the document -------------------------------------------------------------


def test_misspelt_slot_key_is_an_error_not_a_fallback():
    selection = dict(SEED)
    selection["slot1_codeing"] = selection.pop("slot1_coding")
    assert problems_of(model_slots, selection, fallback=FALLBACK) == [
        (
            "$.slot1_codeing",
            "one of the slot keys slot1_coding, slot2_general, slot3_backup, slot4_experimental, found an unknown "
            "slot key (did you mean 'slot1_coding'?); a misspelt slot must not fall back silently",
        )
    ]


@pytest.mark.parametrize("key", ["Slot1_coding", "SLOT2_GENERAL", "slot_3_backup", "slot5", "slot4", " slot1_coding"])
def test_every_slot_like_key_is_checked(key):
    assert paths_of(model_slots, dict(SEED, **{key: None}), fallback=FALLBACK) == [
        "$.%s" % key if key.strip() == key else "$[%r]" % key
    ]


def test_timestamp_is_required():
    selection = dict(SEED)
    del selection["timestamp"]
    assert problems_of(model_slots, selection) == [("$.timestamp", "this required key, found no such key")]


@pytest.mark.parametrize(
    "timestamp, reason",
    [
        (
            "2025-01-15T10:30:00",
            "it is not in the form YYYY-MM-DDThh:mm:ss[.fraction] followed by Z or +hh:mm or -hh:mm",
        ),
        ("2025-01-15 10:30:00Z", "it is not in the form"),
        ("2025-13-15T10:30:00Z", "month 13 does not exist"),
        ("2025-02-29T10:30:00Z", "day 29 does not exist in 2025-02"),
        ("2025-01-15T24:00:00Z", "time 24:00:00 does not exist"),
        ("2025-01-15T10:30:00+24:00", "time zone offset +24:00 does not exist"),
        ("2025-01-15T10:30:60Z", "second 60 (a leap second) exists only at 23:59 UTC"),
    ],
)
def test_timestamp_must_be_rfc3339(timestamp, reason):
    ((path, text),) = problems_of(model_slots, dict(SEED, timestamp=timestamp))
    assert path == "$.timestamp"
    assert text.startswith(TIME_EXPECTED + ", found string %r (" % timestamp)
    assert reason in text


def test_wrong_types_are_each_reported():
    selection = {
        "timestamp": 1736937000,
        "slot1_coding": 14,
        "slot2_general": ["llama3.1:8b"],
        "slot3_backup": {"model": "x"},
        "slot4_experimental": False,
    }
    assert problems_of(model_slots, selection, fallback=FALLBACK) == [
        ("$.slot1_coding", "a string or null, found integer 14"),
        ("$.slot2_general", "a string or null, found array (list) of 1 item"),
        ("$.slot3_backup", "a string or null, found object (mapping) with 1 key"),
        ("$.slot4_experimental", "a string or null, found boolean false"),
        ("$.timestamp", "a string, found integer 1736937000"),
    ]


@pytest.mark.parametrize(
    "name, reason",
    [
        ("qwen2.5-coder:14b; rm -rf /", "its namespace 'qwen2.5-coder:14b; rm -rf ' contains '.'"),
        ("qwen2.5-coder:14b;reboot", "its tag '14b;reboot' contains ';'"),
        ("$(reboot)", "its model '$(reboot)' must start with a letter, a digit or '_'"),
        ("llama3`id`", "contains '`'"),
        ("../../etc/passwd", "its host '../..' must start with a letter, a digit or '_'"),
        ("..", "its model '..' must start with a letter, a digit or '_'"),
        ("llama 3.1:8b", "its model 'llama 3.1' contains ' '"),
        ("llama3.1:8b ", "its tag '8b ' contains ' '"),
        ("llama3.1:" + "q" * 81, "its tag is longer than 80 characters"),
        ("", "its model is empty"),
        ("x\nFROM evil://llama3.1", "its scheme 'x\\nFROM evil' is not http or https"),
    ],
)
def test_model_names_follow_ollama_rules(name, reason):
    ((path, text),) = problems_of(model_slots, dict(SEED, slot3_backup=name))
    assert path == "$.slot3_backup"
    assert text.startswith(NAME_EXPECTED + ", found string ")
    assert reason in text


def test_http_schemes_are_allowed():
    selection = dict(SEED, slot1_coding="https://registry.example.com/ns/coder:1", slot2_general="http://host/ns/m")
    assert _bases(model_slots(selection))[:2] == [
        (1, "https://registry.example.com/ns/coder:1", "selection"),
        (2, "http://host/ns/m", "selection"),
    ]


def test_long_values_are_shortened_in_the_message():
    name = "qwen2.5-coder:" + "x" * 100000
    ((path, text),) = problems_of(model_slots, dict(SEED, slot1_coding=name))
    assert path == "$.slot1_coding"
    assert "... (100014 characters) (its tag is longer than 80 characters)" in text
    assert len(text) < 400


def test_a_string_gets_a_from_json_hint():
    assert problems_of(model_slots, '{"timestamp": "2025-01-15T10:30:00Z"}', fallback=FALLBACK) == [
        ("$", "the parsed document, an object (mapping), found a string; parse it with from_json")
    ]


def test_a_string_and_bad_options_are_reported_together():
    assert paths_of(model_slots, "{}", fallback={"coding": 1}, slot4_model="a b") == [
        "$",
        "fallback.coding",
        "slot4_model",
    ]


@pytest.mark.parametrize("document, found", [([], "array (list) of 0 items"), (3, "integer 3"), (True, "boolean true")])
def test_document_must_be_an_object(document, found):
    assert problems_of(model_slots, document, fallback=FALLBACK) == [("$", "an object (mapping), found " + found)]


def test_a_mapping_with_keys_json_cannot_have_is_refused():
    assert problems_of(model_slots, {"timestamp": TIMESTAMP, 1: "qwen2.5-coder:14b"}, fallback=FALLBACK) == [
        ("$", "an object with string keys, found key integer 1")
    ]


# --- errors in the options --------------------------------------------------------------


def test_missing_fallback_is_reported_for_the_slot_that_needs_it():
    assert problems_of(model_slots, dict(SEED, slot2_general=None), fallback={"coding": "x"}) == [
        ("fallback.general", "a model name for slot 2 (model_selection.json names none), found no such key")
    ]


def test_missing_fallbacks_without_a_file():
    assert problems_of(model_slots, None, fallback={"coding": "x", "general": None}) == [
        ("fallback.backup", "a model name for slot 3 (there is no model_selection.json), found no such key"),
        ("fallback.general", "a model name for slot 2 (there is no model_selection.json), found null"),
    ]


def test_fallbacks_are_validated_even_when_unused():
    assert problems_of(model_slots, SEED, fallback=dict(FALLBACK, backup="mistral 7b", codeing="x")) == [
        (
            "fallback.backup",
            NAME_EXPECTED + ", found string "
            "'mistral 7b' (its model 'mistral 7b' contains ' ', which is not allowed there)",
        ),
        ("fallback.codeing", "one of the keys coding, general, backup, found an unknown key (did you mean 'coding'?)"),
    ]


def test_fallback_must_be_a_mapping():
    assert problems_of(model_slots, SEED, fallback=["qwen2.5-coder:7b"]) == [
        ("fallback", "an object (mapping) or null, found array (list) of 1 item")
    ]


@pytest.mark.parametrize(
    "override, found",
    [
        (
            "mistral;reboot",
            "string 'mistral;reboot' (its model 'mistral;reboot' contains ';', which is not allowed there)",
        ),
        (7, "integer 7"),
    ],
)
def test_override_is_validated(override, found):
    ((path, text),) = problems_of(model_slots, SEED, slot4_model=override)
    assert path == "slot4_model"
    assert text.endswith("found " + found)


_UNIQUE = "a custom model name no other slot uses, found string "


@pytest.mark.parametrize(
    "variants, path, text",
    [
        (
            {"codeing": {}},
            "variants.codeing",
            "one of the keys coding, general, backup, experimental, found an unknown key (did you mean 'coding'?)",
        ),
        (
            {"coding": {"num_cxt": 1}},
            "variants.coding.num_cxt",
            "one of the keys name, num_ctx, found an unknown key (did you mean 'num_ctx'?)",
        ),
        ({"coding": {"num_ctx": 0}}, "variants.coding.num_ctx", "a number of at least 1, found integer 0"),
        ({"coding": {"num_ctx": True}}, "variants.coding.num_ctx", "an integer, found boolean true"),
        ({"coding": {"num_ctx": "8192"}}, "variants.coding.num_ctx", "an integer, found string '8192'"),
        ({"coding": 8192}, "variants.coding", "an object (mapping), found integer 8192"),
        (
            {"coding": {"name": "coding primary"}},
            "variants.coding.name",
            NAME_EXPECTED + ", found string 'coding primary' "
            "(its model 'coding primary' contains ' ', which is not allowed there)",
        ),
        (
            {"general": {"name": "Coding-Primary"}},
            "variants.general.name",
            _UNIQUE + "'Coding-Primary', the name of slot 1 (coding)",
        ),
        (
            {"experimental": {"name": "backup:latest"}},
            "variants.experimental.name",
            _UNIQUE + "'backup:latest', the name of slot 3 (backup)",
        ),
    ],
)
def test_variants_are_validated(variants, path, text):
    assert problems_of(model_slots, SEED, variants=variants) == [(path, text)]


def test_every_problem_in_one_error_sorted_by_path():
    selection = {
        "timestamp": "yesterday",
        "slot1_codeing": "qwen2.5-coder:14b",
        "slot3_backup": "bad name",
        "slot4_experimental": 4,
    }
    assert paths_of(
        model_slots,
        selection,
        fallback={"general": "llama3.1:8b", "backup": "mistral:7b"},
        slot4_model="bad;name",
        variants={"general": {"num_ctx": -1}},
    ) == [
        "$.slot1_codeing",
        "$.slot3_backup",
        "$.slot4_experimental",
        "$.timestamp",
        "fallback.coding",
        "slot4_model",
        "variants.general.num_ctx",
    ]


def test_error_names_the_filter_and_the_document():
    with pytest.raises(AnsibleFilterError) as info:
        model_slots({"timestamp": TIMESTAMP, "slot1_coding": 1}, fallback=FALLBACK)
    assert str(info.value.message).splitlines()[0] == (
        "llmops.ollama.model_slots: invalid input; $ is the model_selection.json document (1 problem):"
    )
