# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib
import json
import os
import sys

import jsonschema
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.module_utils._selection import (
    SELECTION_SCHEMA,
    date_time_problem,
    describe,
    model_name_problem,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
PLUGINS = "ansible_collections.llmops.ollama.plugins"


def test_shipped_schema_file_equals_the_schema_the_filters_use():
    with open(os.path.join(REPO, "docs", "model_selection.schema.json")) as handle:
        assert json.load(handle) == SELECTION_SCHEMA


def test_schema_is_a_valid_draft7_schema():
    jsonschema.Draft7Validator.check_schema(SELECTION_SCHEMA)


def test_users_validator_without_our_formats_still_rejects_typo_keys_and_wrong_types():
    validator = jsonschema.Draft7Validator(SELECTION_SCHEMA)
    document = {"timestamp": "2025-01-15T10:30:00Z", "slot1_codeing": "x", "slot2_general": 5}
    assert sorted(list(error.absolute_path) for error in validator.iter_errors(document)) == [
        ["slot1_codeing"],
        ["slot2_general"],
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2025-01-15T10:30:00Z",
        "2025-01-15t10:30:00z",
        "2025-01-15T10:30:00.123456789+05:30",
        "2025-01-15T10:30:00-00:00",
        "2024-02-29T00:00:00Z",
        "2000-02-29T00:00:00Z",
        "0000-01-01T00:00:00Z",
        "2016-12-31T23:59:60Z",
        "2017-01-01T00:59:60+01:00",
        "2016-12-31T18:59:60-05:00",
    ],
)
def test_rfc3339_date_times_are_accepted(value):
    assert date_time_problem(value) is None


@pytest.mark.parametrize(
    "value, reason",
    [
        ("2025-01-15", "it is not in the form"),
        ("2025-01-15T10:30Z", "it is not in the form"),
        ("2025-01-15T10:30:00", "it is not in the form"),
        ("2025-01-15T10:30:00Z\n", "it is not in the form"),
        ("2025-01-15T10:30:00.Z", "it is not in the form"),
        ("2025-01-15T10:30:00+0530", "it is not in the form"),
        ("\u0662025-01-15T10:30:00Z", "it is not in the form"),
        ("2025-00-15T10:30:00Z", "month 00 does not exist"),
        ("2025-04-31T10:30:00Z", "day 31 does not exist in 2025-04"),
        ("1900-02-29T10:30:00Z", "day 29 does not exist in 1900-02"),
        ("2025-01-00T10:30:00Z", "day 00 does not exist"),
        ("2025-01-15T10:60:00Z", "time 10:60:00 does not exist"),
        ("2025-01-15T10:30:61Z", "time 10:30:61 does not exist"),
        ("2025-01-15T10:30:00+05:60", "time zone offset +05:60 does not exist"),
        ("2016-12-31T23:59:60+01:00", "second 60 (a leap second) exists only at 23:59 UTC"),
        (20250115, "it is not a string"),
    ],
)
def test_other_date_times_are_refused_with_a_reason(value, reason):
    assert date_time_problem(value).startswith(reason)


def test_model_name_problem_strips_the_repeated_name():
    assert model_name_problem("a b") == "its model 'a b' contains ' ', which is not allowed there"
    assert model_name_problem("ftp://llama3") == "its scheme 'ftp' is not http or https"
    assert model_name_problem("HTTPS://registry.example.com/ns/llama3") is None


@pytest.mark.parametrize(
    "value, text",
    [
        (None, "null"),
        (False, "boolean false"),
        (3, "integer 3"),
        (-(2**63), "integer -9223372036854775808"),
        (2**100, "an integer of 101 bits"),
        (1.5, "number 1.5"),
        ("x" * 61, "string '%s'... (61 characters)" % ("x" * 60)),
        ({"a": 1}, "object (mapping) with 1 key"),
        ([1, 2], "array (list) of 2 items"),
        (object(), "a value of Python type object"),
    ],
)
def test_values_are_described_briefly(value, text):
    assert describe(value) == text


# --- jsonschema missing -----------------------------------------------------------------


@pytest.fixture
def without_jsonschema(monkeypatch):
    """Import fresh copies of the filters while ``import jsonschema`` fails; the originals come back afterwards."""
    monkeypatch.setitem(sys.modules, "jsonschema", None)
    for name in list(sys.modules):
        if name.startswith(PLUGINS + ".filter.") or name == PLUGINS + ".module_utils._selection":
            parent, _dot, child = name.rpartition(".")
            if hasattr(sys.modules.get(parent), child):
                monkeypatch.setattr(sys.modules[parent], child, getattr(sys.modules[parent], child))
            monkeypatch.delitem(sys.modules, name)
    return lambda module: importlib.import_module("%s.%s" % (PLUGINS, module))


@pytest.mark.parametrize(
    "name, args, kwargs",
    [
        ("model_slots", ({},), {"fallback": {"coding": "a", "general": "b", "backup": "c"}}),
        ("rank_models", ([{"model": "a", "coding": 1, "general": 1}],), {"timestamp": "2025-01-15T10:30:00Z"}),
    ],
)
def test_missing_jsonschema_fails_only_when_the_filter_runs(without_jsonschema, name, args, kwargs):
    filters = without_jsonschema("filter." + name).FilterModule().filters()
    assert without_jsonschema("module_utils._selection").jsonschema is None
    with pytest.raises(AnsibleFilterError) as info:
        filters[name](*args, **kwargs)
    assert str(info.value.message) == (
        "The filter llmops.ollama.%s needs the Python library jsonschema on the Ansible controller, and it is "
        "not installed. Install it into the Python that runs Ansible: pip install jsonschema" % name
    )


def test_filters_work_again_after_the_simulation():
    from ansible_collections.llmops.ollama.plugins.filter.model_slots import model_slots  # noqa: PLC0415 (after the simulation)

    assert model_slots({}, fallback={"coding": "a", "general": "b", "backup": "c"})[0]["base_model"] == "a"
