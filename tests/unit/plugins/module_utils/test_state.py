# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import datetime

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._definition import definition_differences
from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    KeepAliveError,
    detect_kind,
    is_forever,
    keep_alive_payload,
    keep_alive_satisfied,
    keep_alive_seconds,
    modelfile_blobs,
    parse_show_parameters,
    parse_timestamp,
    weights_identity,
)

NOW = datetime.datetime(2026, 11, 22, 5, 0, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    "raw, seconds, payload",
    [
        (-1, -1.0, -1),
        ("-1", -1.0, -1),
        (" -1 ", -1.0, -1),
        ("'-1'", -1.0, -1),
        (3600, 3600.0, 3600),
        ("3600", 3600.0, 3600),
        (42.5, 42.5, 42.5),
        ("24h", 86400.0, 86400),
        ("1h30m", 5400.0, 5400),
        ("90s", 90.0, 90),
        ("-1m", -60.0, -1),
        ("0", 0.0, 0),
        ("1500ms", 1.5, 1.5),
    ],
)
def test_keep_alive_forms_become_what_the_server_accepts(raw, seconds, payload):
    assert keep_alive_seconds(raw) == seconds
    assert keep_alive_payload(keep_alive_seconds(raw)) == payload


@pytest.mark.parametrize("raw, message", [("1d", "days are not supported"), ("soon", "not valid"), (True, "must be")])
def test_keep_alive_the_server_would_refuse_fails_early(raw, message):
    with pytest.raises(KeepAliveError, match=message):
        keep_alive_seconds(raw)


def _ps(delta):
    return {"expires_at": (NOW + delta).strftime("%Y-%m-%dT%H:%M:%S.%f") + "123Z"}


def test_forever_is_an_expiry_more_than_twenty_years_ahead():
    assert is_forever(_ps(datetime.timedelta(days=365 * 292))["expires_at"], NOW)
    assert not is_forever(_ps(datetime.timedelta(days=365 * 19))["expires_at"], NOW)
    assert parse_timestamp("2318-02-01T10:00:00.123456789+01:00").utcoffset() == datetime.timedelta(hours=1)


def test_keep_alive_satisfied():
    forever = _ps(datetime.timedelta(days=365 * 292))
    assert keep_alive_satisfied(forever, -1, NOW)
    assert not keep_alive_satisfied(_ps(datetime.timedelta(minutes=4)), -1, NOW)
    assert not keep_alive_satisfied(forever, 3600, NOW)
    assert keep_alive_satisfied(_ps(datetime.timedelta(seconds=3590)), 3600, NOW)
    assert not keep_alive_satisfied(_ps(datetime.timedelta(minutes=4)), 86400, NOW)
    assert not keep_alive_satisfied(None, -1, NOW)


def test_show_parameters_are_a_typed_set_in_any_order():
    text = (
        'stop                           "<|im_end|>"\nnum_ctx                        32768\n'
        'temperature                    0.2\nstop                           "<|endoftext|>"'
    )
    assert parse_show_parameters(text) == {
        "stop": ["<|im_end|>", "<|endoftext|>"],
        "num_ctx": 32768,
        "temperature": 0.2,
    }
    assert parse_show_parameters(None) == {}


def test_weights_are_identified_by_the_model_layer_blob():
    a = "a" * 64
    show = {"modelfile": "# Modelfile\nFROM /var/lib/ollama/blobs/sha256-%s\nADAPTER /x/sha256-%s\n" % (a, "b" * 64)}
    assert modelfile_blobs(show["modelfile"]) == {"from": [a], "adapter": ["b" * 64]}
    assert weights_identity(show) == "blob:" + a
    fallback = {"modelfile": "FROM llama3.2", "details": {"family": "llama", "parameter_size": "8B"}}
    assert weights_identity(fallback).startswith("details:")
    assert weights_identity({}) is None


def test_kind_from_capabilities_or_pooling_type_on_old_servers():
    assert detect_kind({"capabilities": ["embedding"]}) == "embedding"
    assert detect_kind({"capabilities": ["completion", "tools"]}) == "completion"
    assert detect_kind({"model_info": {"bert.pooling_type": 1}}) == "embedding"
    assert detect_kind({"model_info": {"llama.context_length": 8}}) == "completion"
    assert detect_kind(None, {"capabilities": ["embedding"]}) == "embedding"


BASE = {"parameters": 'stop                           "<eos>"', "template": "T", "system": ""}


def test_definition_matches_when_the_merged_view_is_equal():
    current = {
        "parameters": 'num_ctx                        4096\nstop                           "<eos>"',
        "template": "T",
    }
    assert definition_differences({"parameters": {"num_ctx": 4096.0}}, current, BASE, base_known=True) == []


def test_definition_differences_are_named():
    current = {
        "parameters": 'num_ctx                        4096\nstop                           "<eos>"',
        "template": "T",
    }
    reasons = definition_differences(
        {"parameters": {"num_ctx": 8192}, "system": "be brief", "messages": [{"role": "user", "content": "hi"}]},
        current,
        BASE,
        base_known=True,
    )
    assert reasons == ["parameters differ (num_ctx)", "system differs", "messages differ"]


def test_a_parameter_removed_from_the_definition_is_a_difference():
    current = {
        "parameters": 'num_ctx                        4096\nstop                           "<eos>"',
        "template": "T",
    }
    assert definition_differences({}, current, BASE, base_known=True) == ["parameters differ (num_ctx)"]
    # Without the base model only what the definition names can be compared.
    assert definition_differences({}, current, None, base_known=False) == []


def test_license_and_quantize_are_compared():
    current = {"license": "MIT", "details": {"quantization_level": "Q4_K_M"}}
    assert definition_differences({"license": ["MIT"], "quantize": "q4_k_m"}, current) == []
    assert definition_differences({"license": ["GPL"], "quantize": "q8_0"}, current) == [
        "license differs",
        "quantization differs (q4_k_m, want q8_0)",
    ]
