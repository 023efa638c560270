# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible_collections.llmops.ollama.plugins.filter.model_slots import model_slots
from ansible_collections.llmops.ollama.plugins.filter.rank_models import FilterModule, rank_models
from ansible_collections.llmops.ollama.tests.unit.plugins.filter.slot_helpers import (
    FALLBACK,
    NAME_EXPECTED,
    TIME_EXPECTED,
    TIMESTAMP,
    paths_of,
    problems_of,
)


def _result(model, coding, general, **extra):
    return dict(extra, model=model, coding=coding, general=general)


def _slots(document):
    return [document[key] for key in ("slot1_coding", "slot2_general", "slot3_backup", "slot4_experimental")]


def test_filter_is_registered_under_its_name():
    assert FilterModule().filters() == {"rank_models": rank_models}


def test_each_slot_gets_its_best_model():
    results = [
        _result("llama3.1:8b", 62.0, 78.5),
        _result("qwen2.5-coder:14b", 86.5, 71.0),
        _result("deepseek-coder-v2:16b", 84.0, 70.0),
        _result("phi3:mini", 40.0, 50.0),
    ]
    assert rank_models(results, timestamp=TIMESTAMP) == {
        "timestamp": TIMESTAMP,
        "slot1_coding": "qwen2.5-coder:14b",
        "slot2_general": "llama3.1:8b",
        "slot3_backup": "deepseek-coder-v2:16b",
        "slot4_experimental": None,
    }


def test_slot3_is_the_best_average_not_the_runner_up_in_either():
    results = [
        _result("coder:a", 90, 10),
        _result("talker:a", 10, 90),
        _result("coder:b", 89, 0),  # second-best coder, average 44.5
        _result("allround:a", 60, 60),  # average 60
    ]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[:3] == ["coder:a", "talker:a", "allround:a"]


def test_a_model_that_wins_both_takes_slot1_and_slot2_goes_to_the_next_general():
    results = [_result("big:70b", 95, 95), _result("chat:8b", 50, 80), _result("code:7b", 80, 40)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[:3] == ["big:70b", "chat:8b", "code:7b"]


def test_slots_without_a_model_left_are_null():
    assert _slots(rank_models([_result("only:1b", 1, 1)], timestamp=TIMESTAMP)) == ["only:1b", None, None, None]
    two = rank_models([_result("a:1", 1, 2), _result("b:1", 2, 1)], timestamp=TIMESTAMP)
    assert _slots(two) == ["b:1", "a:1", None, None]


def test_coding_tie_goes_to_the_higher_general_then_to_the_first_name():
    results = [_result("m-b", 80, 50), _result("m-c", 80, 60), _result("m-a", 80, 60)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[0] == "m-a:latest"
    results = [_result("m-b", 80, 50), _result("m-c", 80, 60)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[0] == "m-c:latest"


def test_general_tie_goes_to_the_higher_coding_then_to_the_first_name():
    results = [_result("top", 99, 0), _result("g-b", 40, 70), _result("g-c", 50, 70), _result("g-a", 50, 70)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[1] == "g-a:latest"
    results = [_result("top", 99, 0), _result("g-b", 40, 70), _result("g-c", 50, 70)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[1] == "g-c:latest"


def test_average_tie_goes_to_the_higher_coding_then_to_the_first_name():
    base = [_result("c", 100, 0), _result("g", 0, 100)]
    results = base + [_result("x-b", 50, 50), _result("x-c", 60, 40), _result("x-a", 60, 40)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[2] == "x-a:latest"
    results = base + [_result("x-b", 50, 50), _result("x-c", 60, 40)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[2] == "x-c:latest"


def test_runs_of_one_model_are_averaged():
    results = [
        _result("steady:7b", 85, 50),
        _result("lucky:7b", 95, 50, run=1),
        _result("lucky:7b", 65, 50, run=2),  # mean coding 80
    ]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[0] == "steady:7b"
    results.append(_result("lucky:7b", 99, 50, run=3))  # mean coding 86.33
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[0] == "lucky:7b"


def test_spellings_of_one_model_are_one_model_in_its_shortest_form():
    results = [
        _result("registry.ollama.ai/library/llama3.1", 90, 50),
        _result("llama3.1:latest", 70, 50),  # together 80
        _result("qwen", 85, 40),
        _result("Qwen:latest", 85, 40),
    ]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[:3] == ["Qwen:latest", "llama3.1:latest", None]


def test_order_of_results_does_not_matter():
    results = [
        _result("a", 1, 9),
        _result("b", 5, 5),
        _result("c", 9, 1),
        _result("a:latest", 3, 3),
        _result("d", 5, 5),
    ]
    expected = rank_models(results, timestamp=TIMESTAMP)
    assert rank_models(list(reversed(results)), timestamp=TIMESTAMP) == expected
    assert rank_models(results[2:] + results[:2], timestamp=TIMESTAMP) == expected


def test_timestamp_is_copied_from_the_input():
    results = [_result("a", 1, 1)]
    assert rank_models(results, timestamp="2024-02-29T23:59:60Z")["timestamp"] == "2024-02-29T23:59:60Z"
    assert rank_models(results, timestamp="2025-06-01T08:00:00.5+02:00")["timestamp"] == "2025-06-01T08:00:00.5+02:00"


def test_output_round_trips_through_json_into_model_slots():
    results = [_result("qwen2.5-coder:14b", 86.5, 71.0), _result("llama3.1:8b", 62.0, 78.5)]
    document = json.loads(json.dumps(rank_models(results, timestamp=TIMESTAMP)))
    assert [(slot["base_model"], slot["source"]) for slot in model_slots(document, fallback=FALLBACK)] == [
        ("qwen2.5-coder:14b", "selection"),
        ("llama3.1:8b", "selection"),
        ("mistral:7b", "fallback"),
    ]


def test_extreme_composites_do_not_overflow():
    results = [_result("a", 1.7e308, 1.7e308), _result("a", 1.7e308, -1.7e308), _result("b", -1.7e308, 1e308)]
    assert _slots(rank_models(results, timestamp=TIMESTAMP))[:2] == ["a:latest", "b:latest"]


# --- errors -----------------------------------------------------------------------------


def test_timestamp_is_required():
    assert problems_of(rank_models, [_result("a", 1, 1)]) == [("timestamp", "this required key, found no such key")]


def test_timestamp_must_be_rfc3339():
    ((path, text),) = problems_of(rank_models, [_result("a", 1, 1)], timestamp="15/01/2025")
    assert path == "timestamp"
    assert text.startswith(TIME_EXPECTED + ", found string '15/01/2025'")


@pytest.mark.parametrize(
    "results, expected",
    [
        ([], [("$", "at least 1 item, found array (list) of 0 items")]),
        ({"model": "a", "coding": 1, "general": 1}, [("$", "an array (list), found object (mapping) with 3 keys")]),
        ("a", [("$", "an array (list), found string 'a'")]),
        ([None], [("$[0]", "an object (mapping), found null")]),
        (
            [{"model": "a"}],
            [
                ("$[0].coding", "this required key, found no such key"),
                ("$[0].general", "this required key, found no such key"),
            ],
        ),
        ([{"coding": 1, "general": 1}], [("$[0].model", "this required key, found no such key")]),
        ([_result("a", float("nan"), 1)], [("$[0].coding", "a finite number, found number nan")]),
        ([_result("a", 1, float("-inf"))], [("$[0].general", "a finite number, found number -inf")]),
        ([_result("a", True, 1)], [("$[0].coding", "a number, found boolean true")]),
        ([_result("a", 1, "87.5")], [("$[0].general", "a number, found string '87.5'")]),
        ([_result("a", None, 1)], [("$[0].coding", "a number, found null")]),
        (
            [_result("a b", 1, 1)],
            [
                (
                    "$[0].model",
                    NAME_EXPECTED + ", found string 'a b' (its model 'a b' contains ' ', which is not allowed there)",
                )
            ],
        ),
        ([_result(7, 1, 1)], [("$[0].model", "a string, found integer 7")]),
    ],
)
def test_results_are_validated(results, expected):
    assert problems_of(rank_models, results, timestamp=TIMESTAMP) == expected


def test_every_problem_in_one_error_sorted_by_path():
    results = [_result("ok%d" % i, 1, 1) for i in range(12)]
    results[10]["coding"] = "x"
    results[2]["model"] = "../x"
    results[2]["general"] = None
    assert paths_of(rank_models, results, timestamp="now") == [
        "$[2].general",
        "$[2].model",
        "$[10].coding",
        "timestamp",
    ]
