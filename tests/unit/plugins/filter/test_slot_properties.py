# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Invariants of model_slots and rank_models, checked on generated inputs."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import math
import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.llmops.ollama.plugins.filter.model_slots import model_slots
from ansible_collections.llmops.ollama.plugins.filter.rank_models import rank_models
from ansible_collections.llmops.ollama.plugins.module_utils._names import is_valid_name, qualified_name
from ansible_collections.llmops.ollama.plugins.module_utils._selection import (
    SELECTION_SCHEMA,
    SLOT_KEYS,
    SLOT_TYPO_PATTERN,
    date_time_problem,
    schema_problems,
)

# Few examples per property keep the suite at a few seconds; the strategies are small enough
# that this still reaches the edge cases (empty slots, duplicates, ties).
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

_PART = r"[A-Za-z0-9_][A-Za-z0-9_-]{0,8}"
model_names = st.one_of(
    st.sampled_from(["qwen2.5-coder:14b", "llama3.1:8b", "llama3.1", "LLAMA3.1:latest", "me/mario", "h.io/ns/m:v1"]),
    st.from_regex(r"(%s/)?%s(\.%s)?(:%s)?" % (_PART, _PART, _PART, _PART), fullmatch=True),
).filter(is_valid_name)

offsets = st.integers(min_value=-23 * 60 - 59, max_value=23 * 60 + 59).map(
    lambda minutes: datetime.timezone(datetime.timedelta(minutes=minutes))
)
timestamps = st.datetimes(
    min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 30), timezones=offsets
).map(lambda moment: moment.isoformat())

_json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=10)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)
extra_keys = st.dictionaries(
    st.text(max_size=12).filter(
        lambda key: key not in SELECTION_SCHEMA["properties"] and not re.match(SLOT_TYPO_PATTERN, key)
    ),
    _json_values,
    max_size=3,
)


@st.composite
def selections(draw):
    """Valid documents, plus {} and None for a missing file."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([{}, None]))
    document = draw(extra_keys)
    document["timestamp"] = draw(timestamps)
    for key in SLOT_KEYS:
        if draw(st.booleans()):
            document[key] = draw(st.none() | model_names)
    return document


fallbacks = st.fixed_dictionaries({"coding": model_names, "general": model_names, "backup": model_names})
composites = st.one_of(
    st.integers(min_value=-(10**6), max_value=10**6),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0.0, 50.0, 100.0]),  # ties
)
results = st.lists(
    st.fixed_dictionaries(
        {"model": model_names, "coding": composites, "general": composites}, optional={"run": st.integers(0, 5)}
    ),
    min_size=1,
    max_size=12,
)


@FAST
@given(selections(), fallbacks)
def test_with_complete_fallbacks_slots_1_to_3_always_get_a_model(selection, fallback):
    slots = model_slots(selection, fallback=fallback)
    assert [slot["slot"] for slot in slots[:3]] == [1, 2, 3]
    assert all(is_valid_name(slot["base_model"]) for slot in slots)


@FAST
@given(selections(), st.one_of(st.none(), fallbacks), st.sampled_from(["", None, "gemma2:9b"]))
def test_output_depends_only_on_the_input(selection, fallback, override):
    before = copy.deepcopy((selection, fallback))

    def run():
        try:
            return model_slots(copy.deepcopy(selection), fallback=copy.deepcopy(fallback), slot4_model=override)
        except Exception as exc:  # a failure must be just as reproducible as a result
            return type(exc), str(exc)

    assert run() == run()
    assert (selection, fallback) == before


@FAST
@given(selections(), fallbacks, model_names)
def test_the_override_always_wins_slot4(selection, fallback, override):
    slots = model_slots(selection, fallback=fallback, slot4_model=override)
    assert slots[-1]["slot"] == 4
    assert (slots[-1]["base_model"], slots[-1]["source"]) == (override, "override")


@FAST
@given(results, timestamps)
def test_rank_models_output_always_validates_against_the_model_slots_schema(results, timestamp):
    document = rank_models(results, timestamp=timestamp)
    assert schema_problems(document, SELECTION_SCHEMA, "$") == []
    slots = model_slots(document, fallback={"coding": "a", "general": "b", "backup": "c"})
    assert [slot["source"] for slot in slots[:1]] == ["selection"]


@FAST
@given(results, st.randoms(use_true_random=False))
def test_rank_models_ignores_the_order_of_results(results, rng):
    shuffled = list(results)
    rng.shuffle(shuffled)
    assert rank_models(shuffled, timestamp="2025-01-15T10:30:00Z") == rank_models(
        results, timestamp="2025-01-15T10:30:00Z"
    )


@FAST
@given(results)
def test_rank_models_gives_each_slot_the_best_remaining_model(results):
    document = rank_models(results, timestamp="2025-01-15T10:30:00Z")
    runs = {}
    for result in results:
        runs.setdefault(qualified_name(result["model"]), []).append(result)
    means = {}
    for key, group in runs.items():
        means[key] = tuple(math.fsum(run[score] / len(group) for run in group) for score in ("coding", "general"))
    chosen = [document[key] for key in SLOT_KEYS[:3]]
    picked = [qualified_name(name) for name in chosen if name is not None]
    assert len(picked) == len(set(picked)) == min(3, len(means))
    assert means[picked[0]][0] == max(mean[0] for mean in means.values())
    if len(picked) > 1:
        assert means[picked[1]][1] == max(mean[1] for key, mean in means.items() if key != picked[0])


@settings(max_examples=200, deadline=None)
@given(st.datetimes(timezones=offsets), st.sampled_from(["T", "t"]))
def test_every_aware_iso_datetime_is_rfc3339(moment, separator):
    assert date_time_problem(moment.isoformat(separator)) is None


@settings(max_examples=100, deadline=None)
@given(st.datetimes())
def test_a_datetime_without_a_zone_is_not_rfc3339(moment):
    assert date_time_problem(moment.isoformat()) is not None


@FAST
@given(st.sampled_from(["slot", "Slot", "SLOT", " slot", "sLoT"]), st.text(max_size=16))
def test_a_key_that_looks_like_a_slot_is_a_slot_or_an_error(prefix, suffix):
    key = prefix + suffix
    document = {"timestamp": "2025-01-15T10:30:00Z", key: "phi3:mini"}
    fallback = {"coding": "a", "general": "b", "backup": "c"}
    if key in SLOT_KEYS:
        assert "phi3:mini" in [slot["base_model"] for slot in model_slots(document, fallback=fallback)]
    else:
        assert [problem.path for problem in schema_problems(document, SELECTION_SCHEMA, "$")] == [(key,)]
