# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An emulator of the Ollama HTTP API, for tests and demos without a GPU.

One file, Python standard library only, Python 3.9 or newer, so it can run as
``ollama.service`` on a bare Debian 12 host. Its behaviour follows
``ollama-api.md`` (read from Ollama's source, v0.32); where that reference is silent
the emulator follows the real server's semantics and says so in a comment.

Run ``python3 ollama_emulator.py --help``; import it and call ``start_emulator()`` to run it
inside a test process. See README.md next to this file.
"""

import argparse
import datetime
import decimal
import hashlib
import http.server
import ipaddress
import json
import math
import os
import random
import re
import signal
import socket
import ssl
import sys
import threading
import time
import urllib.error
import urllib.request

DEFAULT_VERSION = "0.32.15"
DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"
FOREVER_NS = 2**63 - 1
GIB = 2**30
SECOND_NS = 10**9
DEFAULT_KEEP_ALIVE_NS = 5 * 60 * SECOND_NS
DEFAULT_LOAD_TIMEOUT_NS = 5 * 60 * SECOND_NS
# The real pull reports progress about every 60 ms per layer.
PULL_TICK_SECONDS = 0.06
# Unreferenced uploaded blobs survive a restart for this long (layerPruneGracePeriod).
PRUNE_GRACE_SECONDS = 3600
STATE_FILE = "emulator-state.json"

MT_MODEL = "application/vnd.ollama.image.model"
MT_ADAPTER = "application/vnd.ollama.image.adapter"
MT_PROJECTOR = "application/vnd.ollama.image.projector"
MT_TEMPLATE = "application/vnd.ollama.image.template"
MT_SYSTEM = "application/vnd.ollama.image.system"
MT_PARAMS = "application/vnd.ollama.image.params"
MT_MESSAGES = "application/vnd.ollama.image.messages"
MT_LICENSE = "application/vnd.ollama.image.license"
MT_CONFIG = "application/vnd.docker.container.image.v1+json"
MT_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
WEIGHT_TYPES = (MT_MODEL, MT_ADAPTER, MT_PROJECTOR)

CT_JSON_GIN = "application/json; charset=utf-8"
CT_JSON = "application/json"
CT_NDJSON = "application/x-ndjson"
CT_TEXT = "text/plain; charset=utf-8"

CANNED_RESPONSE = "Hello! This answer comes from the Ollama emulator; no model was run."

# ---------------------------------------------------------------------------------------------
# Default registry catalog. Sizes, quantisation, context lengths and capabilities are those of
# the real library tags (as listed on ollama.com) rounded to what `ollama list` shows;
# kv_bytes_per_token approximates the fp16 KV cache (layers x kv heads x head dim x 4 bytes).
# ---------------------------------------------------------------------------------------------

_TOOLS_TEMPLATE = (
    "{{- if .Messages }}{{- if or .System .Tools }}<|im_start|>system\n{{ .System }}"
    "{{- if .Tools }}\n\n# Tools\n<tools>{{- range .Tools }}\n{{ . }}{{- end }}\n</tools>{{- end }}<|im_end|>\n"
    "{{ end }}{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}"
    "<|im_start|>assistant\n{{ else }}{{ .Prompt }}{{ end }}"
)
_FIM_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>"
    "{{- else }}{{ .Prompt }}{{- end }}"
)
_TOOLS_FIM_TEMPLATE = (
    "{{- if .Suffix }}<|fim_prefix|>{{ .Prompt }}<|fim_suffix|>{{ .Suffix }}<|fim_middle|>{{- else }}"
    + _TOOLS_TEMPLATE
    + "{{- end }}"
)
_LLAMA31_TEMPLATE = (
    "{{- if or .System .Tools }}<|start_header_id|>system<|end_header_id|>\n{{ .System }}"
    "{{- if .Tools }}\nYou have access to the following functions: {{ range .Tools }}{{ . }}{{ end }}{{- end }}"
    "<|eot_id|>{{- end }}{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n"
    "{{ .Content }}<|eot_id|>{{- end }}<|start_header_id|>assistant<|end_header_id|>\n\n"
)
_MISTRAL_TEMPLATE = (
    '{{- range $i, $_ := .Messages }}{{- if eq .Role "user" }}'
    "{{- if and $.Tools (le (len (slice $.Messages $i)) 2) }}"
    "[AVAILABLE_TOOLS] {{ $.Tools }}[/AVAILABLE_TOOLS]{{- end }}[INST] {{ .Content }}[/INST]"
    '{{- else if eq .Role "assistant" }} {{ .Content }}</s>{{- end }}{{- end }}'
)
_DEEPSEEK_TEMPLATE = (
    "{{- if .Suffix }}<\uff5cfim\u2581begin\uff5c>{{ .Prompt }}<\uff5cfim\u2581hole\uff5c>{{ .Suffix }}"
    "<\uff5cfim\u2581end\uff5c>{{- else }}"
    "{{ if .System }}{{ .System }}\n\n{{ end }}{{ if .Prompt }}User: {{ .Prompt }}\n\n{{ end }}"
    "Assistant: {{ .Response }}{{- end }}"
)
_GPTOSS_TEMPLATE = (
    "<|start|>system<|message|>Reasoning: {{ .ThinkLevel }}"
    "{{- if .Tools }}\n# Tools\n{{ range .Tools }}{{ . }}{{ end }}"
    "{{- end }}<|end|>{{- range .Messages }}<|start|>{{ .Role }}<|message|>{{ .Content }}<|end|>{{- end }}"
    "<|start|>assistant"
)
_EMBED_TEMPLATE = "{{ .Prompt }}"
_APACHE = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/"

DEFAULT_CATALOG = [
    {
        "name": "qwen3-coder:30b",
        "architecture": "qwen3moe",
        "family": "qwen3moe",
        "parameter_size": "30.5B",
        "parameter_count": 30532122624,
        "quantization_level": "Q4_K_M",
        "size": 18556686272,
        "context_length": 262144,
        "embedding_length": 2048,
        "block_count": 48,
        "kv_bytes_per_token": 98304,
        "capabilities": ["completion", "tools"],
        "template": _TOOLS_TEMPLATE,
        "parameters": {"repeat_penalty": 1.05, "stop": ["<|im_start|>", "<|im_end|>"], "temperature": 0.7},
        "license": _APACHE,
    },
    {
        "name": "devstral:latest",
        "architecture": "llama",
        "family": "llama",
        "parameter_size": "23.6B",
        "parameter_count": 23572403200,
        "quantization_level": "Q4_K_M",
        "size": 14333910016,
        "context_length": 131072,
        "embedding_length": 5120,
        "block_count": 40,
        "kv_bytes_per_token": 163840,
        "capabilities": ["completion", "tools"],
        "template": _MISTRAL_TEMPLATE,
        "system": "You are Devstral, a helpful agentic model trained by Mistral AI.",
        "parameters": {"temperature": 0.15},
        "license": _APACHE,
    },
    {
        "name": "gpt-oss:20b",
        "architecture": "gptoss",
        "family": "gptoss",
        "parameter_size": "20.9B",
        "parameter_count": 20914757184,
        "quantization_level": "MXFP4",
        "size": 13780154624,
        "context_length": 131072,
        "embedding_length": 2880,
        "block_count": 24,
        "kv_bytes_per_token": 49152,
        "capabilities": ["completion", "tools", "thinking"],
        "template": _GPTOSS_TEMPLATE,
        "parameters": {"temperature": 1},
        "license": _APACHE,
    },
    {
        "name": "qwen2.5-coder:1.5b-base",
        "architecture": "qwen2",
        "family": "qwen2",
        "parameter_size": "1.5B",
        "parameter_count": 1543714304,
        "quantization_level": "Q4_K_M",
        "size": 986046432,
        "context_length": 32768,
        "embedding_length": 1536,
        "block_count": 28,
        "kv_bytes_per_token": 28672,
        "capabilities": ["completion", "insert"],
        "template": _FIM_TEMPLATE,
        "license": _APACHE,
    },
    {
        "name": "qwen2.5-coder:7b-base",
        "architecture": "qwen2",
        "family": "qwen2",
        "parameter_size": "7.6B",
        "parameter_count": 7615616512,
        "quantization_level": "Q4_K_M",
        "size": 4683073184,
        "context_length": 32768,
        "embedding_length": 3584,
        "block_count": 28,
        "kv_bytes_per_token": 57344,
        "capabilities": ["completion", "insert"],
        "template": _FIM_TEMPLATE,
        "license": _APACHE,
    },
    {
        "name": "qwen2.5-coder:14b",
        "architecture": "qwen2",
        "family": "qwen2",
        "parameter_size": "14.8B",
        "parameter_count": 14770033664,
        "quantization_level": "Q4_K_M",
        "size": 8988110464,
        "context_length": 32768,
        "embedding_length": 5120,
        "block_count": 48,
        "kv_bytes_per_token": 196608,
        "capabilities": ["completion", "tools", "insert"],
        "template": _TOOLS_FIM_TEMPLATE,
        "system": "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.",
        "license": _APACHE,
    },
    {
        "name": "llama3.1:8b",
        "architecture": "llama",
        "family": "llama",
        "parameter_size": "8.0B",
        "parameter_count": 8030261248,
        "quantization_level": "Q4_K_M",
        "size": 4920738944,
        "context_length": 131072,
        "embedding_length": 4096,
        "block_count": 32,
        "kv_bytes_per_token": 131072,
        "capabilities": ["completion", "tools"],
        "template": _LLAMA31_TEMPLATE,
        "parameters": {"stop": ["<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]},
        "license": "LLAMA 3.1 COMMUNITY LICENSE AGREEMENT\nLlama 3.1 Version Release Date: July 23, 2024",
    },
    {
        "name": "deepseek-coder-v2:16b",
        "architecture": "deepseek2",
        "family": "deepseek2",
        "parameter_size": "15.7B",
        "parameter_count": 15706484224,
        "quantization_level": "Q4_0",
        "size": 8905110016,
        "context_length": 163840,
        "embedding_length": 2048,
        "block_count": 27,
        "kv_bytes_per_token": 276480,
        "capabilities": ["completion", "insert"],
        "template": _DEEPSEEK_TEMPLATE,
        "parameters": {"stop": ["User:", "Assistant:"]},
        "license": "DEEPSEEK LICENSE AGREEMENT\nVersion 1.0, 23 October 2023",
    },
    {
        "name": "mistral:7b",
        "architecture": "llama",
        "family": "llama",
        "parameter_size": "7.2B",
        "parameter_count": 7248023552,
        "quantization_level": "Q4_K_M",
        "size": 4372812000,
        "context_length": 32768,
        "embedding_length": 4096,
        "block_count": 32,
        "kv_bytes_per_token": 131072,
        "capabilities": ["completion", "tools"],
        "template": _MISTRAL_TEMPLATE,
        "parameters": {"stop": ["[INST]", "[/INST]"]},
        "license": _APACHE,
    },
    {
        "name": "nomic-embed-text:latest",
        "architecture": "nomic-bert",
        "family": "nomic-bert",
        "parameter_size": "137M",
        "parameter_count": 136727040,
        "quantization_level": "F16",
        "size": 274290656,
        "context_length": 2048,
        "embedding_length": 768,
        "block_count": 12,
        "kv_bytes_per_token": 36864,
        "capabilities": ["embedding"],
        "template": _EMBED_TEMPLATE,
        "parameters": {"num_ctx": 8192},
        "license": _APACHE,
    },
    {
        "name": "mxbai-embed-large:latest",
        "architecture": "bert",
        "family": "bert",
        "parameter_size": "334M",
        "parameter_count": 334090240,
        "quantization_level": "F16",
        "size": 669603712,
        "context_length": 512,
        "embedding_length": 1024,
        "block_count": 24,
        "kv_bytes_per_token": 98304,
        "capabilities": ["embedding"],
        "template": _EMBED_TEMPLATE,
        "parameters": {"num_ctx": 512},
        "license": _APACHE,
    },
    {
        "name": "all-minilm:latest",
        "architecture": "bert",
        "family": "bert",
        "parameter_size": "23M",
        "parameter_count": 22565376,
        "quantization_level": "F16",
        "size": 45949216,
        "context_length": 512,
        "embedding_length": 384,
        "block_count": 6,
        "kv_bytes_per_token": 9216,
        "capabilities": ["embedding"],
        "template": _EMBED_TEMPLATE,
        "license": _APACHE,
    },
    {
        # An unquantised model, so that `quantize` in create can be exercised.
        "name": "smollm2:135m-instruct-fp16",
        "architecture": "llama",
        "family": "llama",
        "parameter_size": "134.52M",
        "parameter_count": 134515008,
        "quantization_level": "F16",
        "size": 270898368,
        "context_length": 8192,
        "embedding_length": 576,
        "block_count": 30,
        "kv_bytes_per_token": 23040,
        "capabilities": ["completion", "tools"],
        "template": _TOOLS_TEMPLATE,
        "license": _APACHE,
    },
]

_KNOWN_OPTIONS = {
    "num_ctx": "int",
    "num_batch": "int",
    "num_gpu": "int",
    "main_gpu": "int",
    "num_thread": "int",
    "num_keep": "int",
    "seed": "int",
    "num_predict": "int",
    "top_k": "int",
    "repeat_last_n": "int",
    "draft_num_predict": "int",
    "top_p": "float",
    "min_p": "float",
    "typical_p": "float",
    "temperature": "float",
    "repeat_penalty": "float",
    "presence_penalty": "float",
    "frequency_penalty": "float",
    "use_mmap": "bool",
    "stop": "strings",
}
# Size of a quantised model relative to its F16 original.
_QUANT_FACTORS = {"Q4_0": 0.28, "Q4_1": 0.31, "Q4_K_S": 0.29, "Q4_K_M": 0.3, "Q5_K_M": 0.36, "Q6_K": 0.41, "Q8_0": 0.53}


# ---------------------------------------------------------------------------------------------
# Small pure helpers
# ---------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An error answered before any byte of the response body was sent."""

    def __init__(self, status, message, content_type=CT_JSON_GIN, body=None, headers=None):
        Exception.__init__(self, message)
        self.status = status
        self.message = message
        self.content_type = content_type
        self.body = body
        self.headers = headers


class StreamError(Exception):
    """An error raised by a progress operation; `status` is carried like the server's StatusError."""

    def __init__(self, message, status=None):
        Exception.__init__(self, message)
        self.message = message
        self.status = status


class _Drop(Exception):
    """Close the connection without finishing the response."""


def version_tuple(text):
    nums = re.findall(r"\d+", (text or "0").split("-")[0].split("+")[0])
    return tuple(int(n) for n in (nums + ["0", "0", "0"])[:3])


def go_quote(text):
    return json.dumps(text, ensure_ascii=False)


_DURATION_UNITS = {
    "ns": 1,
    "us": 1000,
    "\u00b5s": 1000,
    "\u03bcs": 1000,
    "ms": 1000000,
    "s": SECOND_NS,
    "m": 60 * SECOND_NS,
    "h": 3600 * SECOND_NS,
}


def parse_go_duration(text):
    """Nanoseconds for a Go `time.ParseDuration` string; ValueError carries Go's message."""
    orig = text
    neg = False
    if text[:1] in ("-", "+"):
        neg = text[0] == "-"
        text = text[1:]
    if text == "0":
        return 0
    if not text:
        raise ValueError("time: invalid duration %s" % go_quote(orig))
    total = decimal.Decimal(0)
    while text:
        match = re.match(r"([0-9]*)(\.[0-9]*)?", text)
        whole, frac = match.group(1), match.group(2) or ""
        if not whole and len(frac) <= 1:
            raise ValueError("time: invalid duration %s" % go_quote(orig))
        text = text[match.end() :]
        unit = re.match(r"[^0-9.]*", text).group(0)
        if not unit:
            raise ValueError("time: missing unit in duration %s" % go_quote(orig))
        if unit not in _DURATION_UNITS:
            raise ValueError("time: unknown unit %s in duration %s" % (go_quote(unit), go_quote(orig)))
        text = text[len(unit) :]
        total += decimal.Decimal((whole or "0") + (frac if len(frac) > 1 else "")) * _DURATION_UNITS[unit]
    nanos = int(total)
    if nanos > FOREVER_NS:
        raise ValueError("time: invalid duration %s" % go_quote(orig))
    return -nanos if neg else nanos


def _go_type_name(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, dict):
        return "map[string]interface {}"
    if isinstance(value, list):
        return "[]interface {}"
    if isinstance(value, (int, float)):
        return "float64"
    return "string"


def parse_keep_alive(value):
    """`api.Duration` decoding: None when unset, FOREVER_NS for negatives, else nanoseconds."""
    if value is None:
        return None
    if isinstance(value, (bool, dict, list)):
        raise ApiError(400, "Unsupported type: '%s'" % _go_type_name(value))
    if isinstance(value, (int, float)):
        if value < 0:
            return FOREVER_NS
        return min(int(value * SECOND_NS), FOREVER_NS)
    try:
        nanos = parse_go_duration(value)
    except ValueError as exc:
        raise ApiError(400, str(exc))
    return FOREVER_NS if nanos < 0 else nanos


def parse_env_duration(raw, default_ns):
    """OLLAMA_KEEP_ALIVE / OLLAMA_LOAD_TIMEOUT: Go duration or integer seconds, lenient."""
    raw = (raw or "").strip().strip("\"'")
    if not raw:
        return default_ns
    try:
        nanos = parse_go_duration(raw)
    except ValueError:
        try:
            nanos = int(raw) * SECOND_NS
        except ValueError:
            return default_ns
    return FOREVER_NS if nanos < 0 else nanos


def parse_think(value):
    if value is None or isinstance(value, bool):
        return bool(value)
    if isinstance(value, str) and value in ("high", "medium", "low", "max"):
        return True
    shown = go_quote(value) if isinstance(value, str) else json.dumps(value)
    raise ApiError(400, 'invalid think value: %s (must be "high", "medium", "low", "max", true, or false)' % shown)


def go_time(nanos, utc=False):
    """RFC 3339 with trimmed nanoseconds, as Go's time.Time marshals (local zone unless utc)."""
    seconds, frac = divmod(int(nanos), SECOND_NS)
    if utc:
        moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    else:
        moment = datetime.datetime.fromtimestamp(seconds).astimezone()
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if frac:
        text += ("." + "%09d" % frac).rstrip("0")
    offset = moment.utcoffset() or datetime.timedelta(0)
    if not offset:
        return text + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return text + "%s%02d:%02d" % (sign, abs(minutes) // 60, abs(minutes) % 60)


def parse_go_time(text):
    """Nanoseconds since the epoch from go_time() output (used by the CLI subcommands)."""
    match = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", text)
    if not match:
        return 0
    zone = match.group(3)
    base = datetime.datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
    if zone == "Z":
        tz = datetime.timezone.utc
    else:
        sign = 1 if zone[0] == "+" else -1
        tz = datetime.timezone(sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    seconds = int(base.replace(tzinfo=tz).timestamp())
    frac = (match.group(2) or ".")[1:]
    return seconds * SECOND_NS + int((frac + "000000000")[:9])


def go_float(value):
    """Go's %v for a float64: shortest digits, exponent form from 1e+06 and below 1e-04."""
    if math.isnan(value) or math.isinf(value):
        return {"nan": "NaN", "inf": "+Inf", "-inf": "-Inf"}[repr(value)]
    if value == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(float(value))).normalize().as_tuple()
    digits = "".join(str(d) for d in digits)
    exp10 = len(digits) + exponent - 1
    prefix = "-" if sign else ""
    if exp10 < -4 or exp10 >= 6:
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return "%s%se%s%02d" % (prefix, mantissa, "+" if exp10 >= 0 else "-", abs(exp10))
    if exp10 >= len(digits) - 1:
        return prefix + digits + "0" * (exp10 - len(digits) + 1)
    if exp10 >= 0:
        return prefix + digits[: exp10 + 1] + "." + digits[exp10 + 1 :]
    return prefix + "0." + "0" * (-exp10 - 1) + digits


def go_sharp_v(value):
    """Go's %#v for a value decoded from JSON into `any`."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_float(float(value))
    if isinstance(value, str):
        return go_quote(value)
    return json.dumps(value)


def human_bytes(count):
    """format.HumanBytes: decimal units, as `ollama ps`/`ollama list` print sizes."""
    for limit, unit in ((10**12, "TB"), (10**9, "GB"), (10**6, "MB"), (10**3, "KB")):
        if count >= limit:
            value = count / float(limit)
            if value >= 10 or value == math.trunc(value):
                return "%d %s" % (int(value), unit)
            return "%.1f %s" % (value, unit)
    return "%d B" % count


def human_duration(seconds):
    seconds_i = int(seconds)
    if seconds_i < 1:
        return "Less than a second"
    if seconds_i == 1:
        return "1 second"
    if seconds_i < 60:
        return "%d seconds" % seconds_i
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return "%d minutes" % minutes
    hours = round(seconds / 3600.0)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return "%d hours" % hours
    if hours < 24 * 7 * 2:
        return "%d days" % (hours // 24)
    if hours < 24 * 30 * 2:
        return "%d weeks" % (hours // 24 // 7)
    if hours < 24 * 365 * 2:
        return "%d months" % (hours // 24 // 30)
    return "%d years" % (int(seconds / 3600) // 24 // 365)


def human_time(nanos, now_ns, zero="Never"):
    if not nanos:
        return zero
    delta = (now_ns - nanos) / float(SECOND_NS)
    # Go's integer division truncates toward zero: int(delta.Hours())/24/365 < -20.
    if int(int(int(delta / 3600) / 24) / 365) < -20:
        return "Forever"
    if delta < 0:
        return human_duration(-delta) + " from now"
    return human_duration(delta) + " ago"


# ---------------------------------------------------------------------------------------------
# Model names (types/model/name.go)
# ---------------------------------------------------------------------------------------------

_MISSING = "!MISSING!"
_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def _cut_promised(text, sep):
    index = text.rfind(sep)
    if index < 0:
        return text, "", False
    return text[:index] or _MISSING, text[index + len(sep) :] or _MISSING, True


def _valid_part(kind, part):
    if not part or len(part) > (350 if kind == "host" else 80) or part[0] not in _ALNUM:
        return False
    for char in part[1:]:
        if char in _ALNUM or char == "-":
            continue
        if char == "." and kind != "namespace":
            continue
        if char == ":" and kind == "host":
            continue
        return False
    return True


def parse_model_name(name):
    """(host, namespace, model, tag) with defaults applied, or None when the server calls it invalid."""
    if not isinstance(name, str) or not name:
        return None
    host = namespace = tag = ""
    rest = name
    if rest.rfind(":") > rest.rfind("/"):
        rest, tag, _unused = _cut_promised(rest, ":")
    rest, model, promised = _cut_promised(rest, "/")
    if not promised:
        model = rest
    else:
        rest, namespace, promised = _cut_promised(rest, "/")
        if not promised:
            namespace = rest
        else:
            host = rest.split("://", 1)[1] if "://" in rest else rest
    parts = (host or DEFAULT_HOST, namespace or DEFAULT_NAMESPACE, model, tag or DEFAULT_TAG)
    for kind, part in zip(("host", "namespace", "model", "tag"), parts):
        if not _valid_part(kind, part):
            return None
    return parts


def name_key(parts):
    return ("%s/%s/%s:%s" % tuple(parts)).lower()


def full_name(parts):
    return "%s/%s/%s:%s" % tuple(parts)


def display_name(parts):
    host, namespace, model, tag = parts
    if host.lower() == DEFAULT_HOST:
        if namespace.lower() == DEFAULT_NAMESPACE:
            return "%s:%s" % (model, tag)
        return "%s/%s:%s" % (namespace, model, tag)
    return "%s/%s/%s:%s" % (host, namespace, model, tag)


# ---------------------------------------------------------------------------------------------
# OLLAMA_* environment (envconfig/config.go)
# ---------------------------------------------------------------------------------------------


def _env(env, name):
    return (env.get(name) or "").strip().strip("\"'").strip()


def parse_ollama_host(raw):
    """(scheme, host, port) the way envconfig.Host() reads OLLAMA_HOST."""
    text = (raw or "").strip().strip("\"'").strip()
    default_port = 11434
    if "://" in text:
        scheme, hostport = text.split("://", 1)
        if scheme == "http":
            default_port = 80
        elif scheme == "https":
            default_port = 443
    else:
        scheme, hostport = "http", text
        if text == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    hostport = hostport.split("/", 1)[0]
    host, port = "127.0.0.1", None
    match = re.match(r"^\[([^\]]*)\]:(.*)$", hostport) or re.match(r"^([^:]*):([^:]*)$", hostport)
    if match:
        host, port = match.group(1), match.group(2)
    else:
        bare = hostport.strip("[]")
        if bare:
            host = bare
    try:
        port_n = int(port) if port is not None else default_port
        if not 0 <= port_n <= 65535:
            raise ValueError(port)
    except ValueError:
        port_n = default_port
    return scheme, host, port_n


def _max_loaded(env, gpus):
    raw = _env(env, "OLLAMA_MAX_LOADED_MODELS")
    try:
        value = int(raw) if raw else 0
    except ValueError:
        value = 0
    if value > 0:
        return value
    return 3 * gpus if gpus else 3


# ---------------------------------------------------------------------------------------------
# Manifests and model records
# ---------------------------------------------------------------------------------------------


def _sha(data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _layer(media_type, digest, size, from_name=None):
    layer = {"mediaType": media_type, "digest": digest, "size": size}
    if from_name:
        layer["from"] = from_name
    return layer


def _content_layer(media_type, content):
    data = content.encode("utf-8")
    return _layer(media_type, _sha(data), len(data)), data


def _params_bytes(params):
    # The server encodes parameter maps with sorted keys, so identical inputs give identical blobs.
    return json.dumps(params, sort_keys=True, separators=(",", ":")).encode("utf-8")


def _license_text(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    return [str(v) for v in value if v]


def capabilities_from_template(template, base=()):
    caps = [c for c in base if c not in ("tools", "insert")]
    if "completion" in caps:
        if ".Tools" in template:
            caps.append("tools")
        if ".Suffix" in template:
            caps.append("insert")
        if (".Think" in template or "<think>" in template) and "thinking" not in caps:
            caps.append("thinking")
    return caps


def build_record(layers, meta):
    """A model as stored: manifest bytes, digest, layers, config, and the metadata show needs."""
    details = meta["details"]
    config = {
        "model_format": details.get("format", "gguf"),
        "model_family": details.get("family", ""),
        "model_families": details.get("families") or [],
        "model_type": details.get("parameter_size", ""),
        "file_type": details.get("quantization_level", ""),
        "capabilities": meta.get("capabilities") or [],
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer["digest"] for layer in layers]},
    }
    config_bytes = json.dumps(config, separators=(",", ":")).encode("utf-8")
    config_layer = _layer(MT_CONFIG, _sha(config_bytes), len(config_bytes))
    manifest = {"schemaVersion": 2, "mediaType": MT_MANIFEST, "config": config_layer, "layers": layers}
    manifest_bytes = json.dumps(manifest, separators=(",", ":")).encode("utf-8")
    return {
        "manifest": manifest_bytes.decode("utf-8"),
        "digest": hashlib.sha256(manifest_bytes).hexdigest(),
        "layers": layers,
        "config": config_layer,
        "meta": meta,
    }


def record_size(record):
    return sum(layer["size"] for layer in record["layers"]) + record["config"]["size"]


def weights_size(record):
    return sum(layer["size"] for layer in record["layers"] if layer["mediaType"] in WEIGHT_TYPES)


def model_layer_digest(record):
    for layer in record["layers"]:
        if layer["mediaType"] == MT_MODEL:
            return layer["digest"]
    return record["digest"]


def _model_info(arch, count, *, ctx, emb, blocks, embedding, quant):
    info = {
        "general.architecture": arch,
        "general.parameter_count": count,
        "general.file_type": 1 if quant == "F16" else 15,
        "general.quantization_version": 2,
        "%s.context_length" % arch: ctx,
        "%s.embedding_length" % arch: emb,
        "%s.block_count" % arch: blocks,
        "%s.attention.head_count" % arch: max(1, emb // 128),
        "tokenizer.ggml.model": "gpt2" if not embedding else "bert",
        "tokenizer.ggml.tokens": ["<s>", "</s>", "<unk>", "<pad>", "a", "b", "c"],
        "tokenizer.ggml.token_type": [3, 3, 3, 3, 1, 1, 1],
    }
    if embedding:
        info["%s.pooling_type" % arch] = 1
    return info


def record_from_entry(entry):
    """Build the registry's record of a catalog entry; `revision` makes a new upstream digest."""
    parts = parse_model_name(entry["name"])
    if parts is None:
        raise ValueError("catalog entry has an invalid name: %r" % entry.get("name"))
    arch = entry.get("architecture") or entry.get("family") or "llama"
    caps = list(entry.get("capabilities") or ["completion"])
    embedding = "embedding" in caps
    quant = entry.get("quantization_level", "Q4_K_M")
    seed = "emulated weights\0%s\0%s" % (name_key(parts), entry.get("revision", 0))
    layers = [_layer(MT_MODEL, _sha(seed), int(entry.get("size", 4 * 10**9)))]
    template = entry.get("template") or ""
    system = entry.get("system") or ""
    licenses = _license_text(entry.get("license"))
    params = dict(entry.get("parameters") or {})
    if template:
        layers.append(_content_layer(MT_TEMPLATE, template)[0])
    for text in licenses:
        layers.append(_content_layer(MT_LICENSE, text)[0])
    if system:
        layers.append(_content_layer(MT_SYSTEM, system)[0])
    if params:
        data = _params_bytes(params)
        layers.append(_layer(MT_PARAMS, _sha(data), len(data)))
    ctx = int(entry.get("context_length", 4096))
    emb = int(entry.get("embedding_length", 4096))
    family = entry.get("family", arch)
    meta = {
        "details": {
            "parent_model": "",
            "format": entry.get("format", "gguf"),
            "family": family,
            "families": entry.get("families") or [family],
            "parameter_size": entry.get("parameter_size", ""),
            "quantization_level": quant,
        },
        "capabilities": caps,
        "model_info": _model_info(
            arch,
            int(entry.get("parameter_count", 0)),
            ctx=ctx,
            emb=emb,
            blocks=int(entry.get("block_count", 32)),
            embedding=embedding,
            quant=quant,
        ),
        "context_length": ctx,
        "embedding_length": emb,
        "kv_bytes_per_token": int(entry.get("kv_bytes_per_token") or max(2048, int(entry.get("size", 0)) // 40000)),
        "template": template,
        "system": system,
        "license": licenses,
        "parameters": params,
        "messages": [],
        "progress_lines": int(entry.get("progress_lines", 0) or 0),
    }
    return build_record(layers, meta)


def load_catalog_file(path):
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    entries = data.get("models", []) if isinstance(data, dict) else data
    for entry in entries:
        record_from_entry(entry)
    return entries


# ---------------------------------------------------------------------------------------------
# The emulator: state, scheduler, operations
# ---------------------------------------------------------------------------------------------


class Runner(object):
    def __init__(self, key, name, record, *, num_ctx, keep_alive_ns):
        self.key = key
        self.name = name
        self.record = record
        self.num_ctx = num_ctx
        self.keep_alive_ns = keep_alive_ns
        self.size = 0
        self.size_vram = 0
        self.alloc = {}
        self.refs = 1
        self.ready = threading.Event()
        self.error = None
        self.expires_ns = None
        self.stopping_until = None
        self.loaded_ns = time.time_ns()


class Emulator(object):
    """State and behaviour of one emulated server plus its HTTP listener."""

    def __init__(
        self,
        *,
        host="127.0.0.1",
        port=0,
        state_dir=None,
        catalog=None,
        version=DEFAULT_VERSION,
        gpus=1,
        vram_gib=24.0,
        load_seconds_per_gib=0.0,
        pull_bytes_per_second=0,
        boot_delay=0.0,
        tls_cert=None,
        tls_key=None,
        tls_client_ca=None,
        require_token=None,
        unload_seconds=0.0,
        env=None,
        verbose=False,
    ):
        self.env = dict(os.environ if env is None else env)
        self.host = host
        self.port = port
        self.state_dir = state_dir
        self.version = version
        self.vt = version_tuple(version)
        self.gpus = max(0, int(gpus))
        self.vram_bytes = int(float(vram_gib) * GIB)
        self.load_seconds_per_gib = float(load_seconds_per_gib)
        self.pull_bytes_per_second = float(pull_bytes_per_second)
        self.boot_delay = float(boot_delay)
        self.require_token = require_token
        self.unload_seconds = float(unload_seconds)
        self.verbose = verbose
        self.tls = None
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            if tls_client_ca:
                ctx.verify_mode = ssl.CERT_REQUIRED
                ctx.load_verify_locations(tls_client_ca)
            self.tls = ctx
        self.default_keep_alive_ns = parse_env_duration(_env(self.env, "OLLAMA_KEEP_ALIVE"), DEFAULT_KEEP_ALIVE_NS)
        self.load_timeout_ns = parse_env_duration(_env(self.env, "OLLAMA_LOAD_TIMEOUT"), DEFAULT_LOAD_TIMEOUT_NS)
        self.max_loaded = _max_loaded(self.env, self.gpus)
        self.models_dir = _env(self.env, "OLLAMA_MODELS") or (
            os.path.join(state_dir, "models") if state_dir else "/usr/share/ollama/.ollama/models"
        )
        if isinstance(catalog, str):
            catalog = load_catalog_file(catalog)
        self.initial_catalog = json.loads(json.dumps(catalog if catalog is not None else DEFAULT_CATALOG))
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.wakeup = threading.Event()
        self.stopped = threading.Event()
        self.local = {}
        self.blobs = {}
        self.partial = {}
        self.runners = {}
        self.faults = []
        self.fault_seq = 0
        self.log = []
        self.registry = {}
        self.refusing = False
        self.server = None
        self.connections = set()
        self._serve_thread = None
        self._reset_registry()
        self._load_state()
        self._prune_blobs()
        self.reaper = threading.Thread(target=self._reap_loop, name="ollama-emulator-reaper", daemon=True)

    # -- registry and persistence -------------------------------------------------------------

    def _reset_registry(self):
        self.registry = {}
        for entry in json.loads(json.dumps(self.initial_catalog)):
            self._set_catalog_entry(entry)

    def _set_catalog_entry(self, entry):
        parts = parse_model_name(entry.get("name", ""))
        if parts is None:
            raise ApiError(400, "invalid catalog entry name %r" % entry.get("name"))
        entry["revision"] = int(entry.get("revision", 0))
        self.registry[name_key(parts)] = {"parts": list(parts), "entry": entry, "record": record_from_entry(entry)}
        return self.registry[name_key(parts)]

    def _state_path(self):
        return os.path.join(self.state_dir, STATE_FILE) if self.state_dir else None

    def _load_state(self):
        path = self._state_path()
        if not path or not os.path.exists(path):
            return
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        self.local = data.get("models", {})
        self.blobs = data.get("blobs", {})

    def _save_state(self):
        path = self._state_path()
        if not path:
            return
        os.makedirs(self.state_dir, exist_ok=True)
        tmp = path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"models": self.local, "blobs": self.blobs}, handle)
        os.replace(tmp, path)

    def _referenced_blobs(self):
        used = set()
        for item in self.local.values():
            record = item["record"]
            used.add(record["config"]["digest"])
            used.update(layer["digest"] for layer in record["layers"])
        return used

    def _prune_blobs(self):
        # What the server does at start (unless OLLAMA_NOPRUNE): unreferenced blobs older than the grace go.
        if _env(self.env, "OLLAMA_NOPRUNE"):
            return
        with self.lock:
            used = self._referenced_blobs()
            cutoff = time.time() - PRUNE_GRACE_SECONDS
            for digest in list(self.blobs):
                if digest not in used and self.blobs[digest].get("mtime", 0) < cutoff:
                    del self.blobs[digest]
            self._save_state()

    def _add_blob(self, digest, size, gguf=False):
        self.blobs[digest] = {"size": size, "mtime": time.time(), "gguf": gguf}

    # -- lookups ------------------------------------------------------------------------------

    def find_local(self, name):
        """(key, item) for a name present on disk, case-insensitively, else (key or None, None)."""
        parts = parse_model_name(name)
        if parts is None:
            return None, None
        key = name_key(parts)
        return key, self.local.get(key)

    def local_display(self, item):
        return display_name(item["parts"])

    def _store_local(self, parts, record, key=None):
        key = key or name_key(parts)
        existing = self.local.get(key)
        # An existing model keeps the spelling already on disk (getExistingName).
        spelled = existing["parts"] if existing else list(parts)
        self.local[key] = {"parts": spelled, "record": record, "modified_ns": time.time_ns()}
        for layer in record["layers"] + [record["config"]]:
            if layer["digest"] not in self.blobs:
                self._add_blob(layer["digest"], layer["size"])
        self._save_state()
        return key

    # -- faults -------------------------------------------------------------------------------

    def add_fault(self, fault):
        kinds = ("pull_fail", "pull_stall", "pull_drop", "create_fail", "load_oom", "load_stall", "delay", "refuse")
        if fault.get("kind") not in kinds:
            raise ApiError(400, "unknown fault kind %r; expected one of %s" % (fault.get("kind"), ", ".join(kinds)))
        with self.lock:
            self.fault_seq += 1
            fault = dict(fault, id=self.fault_seq)
            if fault["kind"] == "refuse":
                threading.Thread(target=self._refuse_for, args=(float(fault.get("seconds", 1)),), daemon=True).start()
                return fault
            self.faults.append(fault)
            return fault

    def clear_faults(self):
        with self.lock:
            self.faults = []
        self.wakeup.set()
        self.wakeup = threading.Event()

    def take_fault(self, kinds, model=None, path=None):
        """The newest matching fault of `kinds`, consuming one of its `times`; None when none applies."""
        kinds = (kinds,) if isinstance(kinds, str) else kinds
        with self.lock:
            for fault in reversed(self.faults):
                if fault["kind"] not in kinds:
                    continue
                if model is not None and fault.get("model"):
                    wanted = parse_model_name(fault["model"])
                    if wanted is None or name_key(wanted) != model:
                        continue
                if path is not None and fault.get("path") not in (None, path):
                    continue
                if "times" in fault:
                    fault["times"] = int(fault["times"]) - 1
                    if fault["times"] <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    def wait(self, seconds):
        """A fault's wait: ends early when faults are cleared, on reset or stop; False if it ended early."""
        if seconds <= 0:
            return not self.stopped.is_set()
        event = self.wakeup
        return not event.wait(seconds) and not self.stopped.is_set()

    def sleep(self, seconds):
        """Simulated work (download, load, boot): ends early only when the emulator stops."""
        return not self.stopped.wait(seconds)

    # -- control plane ------------------------------------------------------------------------

    def reset(self):
        with self.lock:
            self.local = {}
            self.blobs = {}
            self.partial = {}
            self.runners = {}
            self.faults = []
            self.log = []
            self._reset_registry()
            self._save_state()
            self.changed.notify_all()
        self.wakeup.set()
        self.wakeup = threading.Event()

    def restart(self):
        with self.lock:
            self.runners = {}
            self.changed.notify_all()
        self._prune_blobs()

    def catalog_update(self, body):
        name = body.get("model") or (body.get("entry") or {}).get("name")
        parts = parse_model_name(name or "")
        if parts is None:
            raise ApiError(400, "catalog: a valid 'model' is required")
        with self.lock:
            if body.get("entry") is not None:
                entry = dict(body["entry"], name=name)
                try:
                    item = self._set_catalog_entry(entry)
                except (ValueError, TypeError, KeyError) as exc:
                    raise ApiError(400, "catalog: bad entry: %s" % exc)
            elif body.get("bump"):
                item = self.registry.get(name_key(parts))
                if item is None or item["entry"] is None:
                    raise ApiError(404, "catalog: %s is not in the catalog" % name)
                entry = dict(item["entry"], revision=item["entry"].get("revision", 0) + 1)
                item = self._set_catalog_entry(entry)
            elif body.get("remove"):
                self.registry.pop(name_key(parts), None)
                return {"model": display_name(parts), "removed": True}
            else:
                raise ApiError(400, "catalog: give 'bump': true, 'entry': {...} or 'remove': true")
            return {"model": display_name(parts), "digest": item["record"]["digest"]}

    def put_local(self, body):
        parts = parse_model_name(body.get("model") or "")
        source = parse_model_name(body.get("from_catalog") or body.get("model") or "")
        if parts is None or source is None:
            raise ApiError(400, "local: a valid 'model' (and optional 'from_catalog') is required")
        with self.lock:
            item = self.registry.get(name_key(source))
            if item is None:
                raise ApiError(404, "local: %s is not in the catalog" % display_name(source))
            self._store_local(parts, item["record"])
            return {"model": display_name(parts), "digest": item["record"]["digest"]}

    def state(self):
        with self.lock:
            return {
                "version": self.version,
                "models": [self.tags_entry(item) for item in self._sorted_local()],
                "loaded": self.ps_entries(),
                "faults": list(self.faults),
                "catalog": sorted(display_name(item["parts"]) for item in self.registry.values()),
                "blobs": sorted(self.blobs),
                "gpus": [{"index": i, "total": self.vram_bytes, "used": self._gpu_used(i)} for i in range(self.gpus)],
                "max_loaded_models": self.max_loaded,
                "default_keep_alive_ns": self.default_keep_alive_ns,
                "load_timeout_ns": self.load_timeout_ns,
            }

    # -- views --------------------------------------------------------------------------------

    def _sorted_local(self):
        return sorted(self.local.values(), key=lambda item: item["modified_ns"], reverse=True)

    def tags_entry(self, item):
        record = item["record"]
        meta = record["meta"]
        # ListHandler fills details from the config blob, which has no parent (inferred from the source
        # the reference cites); /api/show reports the `from` of the model layer instead.
        details = dict(meta["details"], parent_model="")
        entry = {
            "name": self.local_display(item),
            "model": self.local_display(item),
            "modified_at": go_time(item["modified_ns"]),
            "size": record_size(record),
            "digest": record["digest"],
            "details": details,
        }
        if self.vt >= (0, 30, 0):
            if meta.get("context_length"):
                details["context_length"] = meta["context_length"]
            if meta.get("embedding_length"):
                details["embedding_length"] = meta["embedding_length"]
            if meta.get("capabilities"):
                entry["capabilities"] = list(meta["capabilities"])
        return entry

    def ps_entries(self):
        now = time.time_ns()
        entries = []
        for runner in self.runners.values():
            if runner.error is not None:
                continue
            if runner.expires_ns is not None:
                expires = runner.expires_ns
            else:
                # Still loading or busy: the server shows an estimate of now + keep-alive.
                expires = now + runner.keep_alive_ns
            entry = {
                "name": runner.name,
                "model": runner.name,
                "size": runner.size,
                "digest": runner.record["digest"],
                "details": dict(runner.record["meta"]["details"], parent_model=""),
                "expires_at": go_time(expires),
                "size_vram": runner.size_vram,
            }
            if self.vt >= (0, 10, 0):
                entry["context_length"] = runner.num_ctx
            entries.append((expires, entry))
        entries.sort(key=lambda pair: pair[0], reverse=True)
        return [entry for _unused, entry in entries]

    # -- scheduler ----------------------------------------------------------------------------

    def _gpu_used(self, index):
        return sum(runner.alloc.get(index, 0) for runner in self.runners.values())

    def default_num_ctx(self):
        raw = _env(self.env, "OLLAMA_CONTEXT_LENGTH")
        if raw.isdigit() and int(raw) > 0:
            return int(raw)
        if self.vt < (0, 6, 0):
            return 2048
        if self.vt < (0, 15, 5):
            return 4096
        total = self.gpus * self.vram_bytes
        if total >= 47 * GIB:
            return 262144
        if total >= 23 * GIB:
            return 32768
        return 4096

    def _placement(self, size):
        if not self.gpus:
            return {}, 0
        free = {i: max(0, self.vram_bytes - self._gpu_used(i)) for i in range(self.gpus)}
        best = max(free, key=lambda i: free[i])
        if free[best] >= size:
            return {best: size}, size
        alloc, left = {}, size
        for index in sorted(free, key=lambda i: free[i], reverse=True):
            take = min(free[index], left)
            if take:
                alloc[index] = take
                left -= take
        return alloc, size - left

    def _evict_one(self, exclude):
        # findRunnerToUnload: idle runners first, shortest keep-alive first, so "forever" goes last.
        idle = [r for r in self.runners.values() if r is not exclude and r.refs == 0 and r.ready.is_set()]
        if not idle:
            return False
        victim = min(idle, key=lambda r: (r.keep_alive_ns, r.expires_ns or 0))
        del self.runners[victim.key]
        return True

    def acquire(self, key, item, keep_alive_ns, options):
        """Load (or reuse) the runner for a local model; returns the Runner with a reference held."""
        record = item["record"]
        meta = record["meta"]
        params = dict(meta.get("parameters") or {})
        params.update(options or {})
        check_options(params)
        num_ctx = int(params.get("num_ctx") or self.default_num_ctx())
        num_ctx = max(1, min(num_ctx, int(meta.get("context_length") or num_ctx)))
        runner_key = model_layer_digest(record)
        while True:
            with self.lock:
                runner = self.runners.get(runner_key)
                if runner is not None and runner.error is None:
                    # A change of num_ctx forces a reload (needsReload); a stopping runner is replaced.
                    reload = runner.ready.is_set() and runner.num_ctx != num_ctx and runner.refs == 0
                    if reload or runner.stopping_until is not None:
                        del self.runners[runner_key]
                        runner = None
                    else:
                        runner.refs += 1
                        runner.expires_ns = None
                        if keep_alive_ns is not None:
                            runner.keep_alive_ns = keep_alive_ns
                if runner is None:
                    break
            runner.ready.wait()
            if runner.error is not None:
                self.release(runner, None)
                raise ApiError(500, runner.error)
            return runner
        # A new runner: evict for the count limit and for room, then place it.
        if self.take_fault("load_oom", model=key):
            # The reference does not quote the out-of-memory text; this is llm/server.go's system-memory check.
            weights = weights_size(record)
            raise ApiError(
                500,
                "model requires more system memory (%.1f GiB) than is available (%.1f GiB)"
                % (weights * 1.1 / GIB, weights * 0.4 / GIB),
            )
        stall = self.take_fault("load_stall", model=key)
        with self.lock:
            runner = Runner(
                runner_key,
                self.local_display(item),
                record,
                num_ctx=num_ctx,
                keep_alive_ns=self.default_keep_alive_ns if keep_alive_ns is None else keep_alive_ns,
            )
            embedding = "embedding" in (meta.get("capabilities") or [])
            kv = num_ctx * int(meta.get("kv_bytes_per_token") or 65536)
            runner.size = weights_size(record) + kv + (64 if embedding else 320) * 2**20
            while len(self.runners) >= self.max_loaded and self._evict_one(runner):
                pass
            while self.gpus and self._placement(runner.size)[1] < runner.size and self._evict_one(runner):
                pass
            runner.alloc, runner.size_vram = self._placement(runner.size)
            self.runners[runner_key] = runner
        load_seconds = self.load_seconds_per_gib * runner.size / float(GIB)
        error = None
        if stall:
            timeout = self.load_timeout_ns / float(SECOND_NS)
            self.wait(timeout if self.load_timeout_ns > 0 else 365 * 86400.0)
            # The reference gives only the start of this text; the real load timer fires on a stall, which
            # only the load_stall fault produces here.
            error = "timed out waiting for llama-server to start - progress 0.00 - "
        elif load_seconds and not self.sleep(load_seconds):
            error = "emulator stopped while loading"
        with self.lock:
            if error:
                runner.error = error
                if self.runners.get(runner_key) is runner:
                    del self.runners[runner_key]
            runner.ready.set()
            self.changed.notify_all()
        if error:
            raise ApiError(500, error)
        return runner

    def release(self, runner, keep_alive_ns):
        with self.lock:
            runner.refs -= 1
            if keep_alive_ns is not None:
                runner.keep_alive_ns = keep_alive_ns
            if runner.refs > 0 or self.runners.get(runner.key) is not runner:
                return
            now = time.time_ns()
            if runner.keep_alive_ns <= 0:
                self._stop_runner(runner, now)
            else:
                runner.expires_ns = now + min(runner.keep_alive_ns, FOREVER_NS)
            self.changed.notify_all()

    def _stop_runner(self, runner, now):
        runner.expires_ns = now
        if self.unload_seconds > 0:
            runner.stopping_until = now + int(self.unload_seconds * SECOND_NS)
        else:
            del self.runners[runner.key]

    def unload(self, item):
        with self.lock:
            runner = self.runners.get(model_layer_digest(item["record"]))
            if runner is None:
                return
            runner.keep_alive_ns = 0
            if runner.refs == 0 and runner.stopping_until is None:
                self._stop_runner(runner, time.time_ns())
            self.changed.notify_all()

    def _reap_loop(self):
        with self.lock:
            while not self.stopped.is_set():
                now = time.time_ns()
                deadline = None
                for runner in list(self.runners.values()):
                    if runner.stopping_until is not None:
                        if runner.stopping_until <= now:
                            del self.runners[runner.key]
                            continue
                        deadline = min(deadline or runner.stopping_until, runner.stopping_until)
                    elif runner.refs == 0 and runner.expires_ns is not None:
                        if runner.expires_ns <= now:
                            self._stop_runner(runner, now)
                            continue
                        deadline = min(deadline or runner.expires_ns, runner.expires_ns)
                timeout = 1.0 if deadline is None else max(0.001, min(1.0, (deadline - now) / float(SECOND_NS)))
                self.changed.wait(timeout)

    # -- listener -----------------------------------------------------------------------------

    @property
    def scheme(self):
        return "https" if self.tls else "http"

    @property
    def url(self):
        host = self.server.server_address[0] if self.server else self.host
        shown = "[%s]" % host if ":" in host else host
        return "%s://%s:%d" % (self.scheme, shown, self.port)

    def _bind(self):
        server_class = _Server6 if ":" in self.host else _Server
        self.server = server_class((self.host, self.port), _Handler, bind_and_activate=False)
        self.server.emulator = self
        self.server.server_bind()
        self.port = self.server.server_address[1]

    def start(self, announce=False):
        self._bind()
        self.reaper.start()
        if self.boot_delay > 0:
            # Bound but not listening: clients get "connection refused" like a server still starting.
            threading.Thread(target=self._activate, args=(self.boot_delay, announce), daemon=True).start()
        else:
            self._activate(0, announce)
        return self

    def _activate(self, delay, announce):
        if delay and not self.sleep(delay):
            return
        self.server.server_activate()
        self._serve_thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self._serve_thread.start()
        if announce:
            sys.stdout.write("listening on %s\n" % self.url)
            sys.stdout.flush()

    def _refuse_for(self, seconds):
        # Let the control-plane answer leave before the socket goes away.
        time.sleep(0.05)
        self.refusing = True
        try:
            self.server.shutdown()
            self.server.socket.close()
            for conn in list(self.connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            if not self.sleep(seconds):
                return
            self.refusing = False
            self._bind()
            self._activate(0, False)
        finally:
            self.refusing = False

    def stop(self):
        self.stopped.set()
        self.wakeup.set()
        with self.lock:
            self.changed.notify_all()
        if self.server is not None:
            try:
                if self._serve_thread is not None:
                    self.server.shutdown()
            finally:
                self.server.server_close()
        for conn in list(self.connections):
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def serve_until_interrupted(self):
        self.start(announce=True)
        try:
            # Short waits: the main thread only runs signal handlers between them.
            while not self.stopped.wait(0.2):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


def check_options(options):
    """Options.FromMap: wrongly typed known options fail at inference time with HTTP 500."""
    for key, value in options.items():
        kind = _KNOWN_OPTIONS.get(key)
        if kind is None or value is None:
            continue
        numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
        if kind == "int" and not numeric:
            raise ApiError(500, "option %s must be of type integer" % go_quote(key))
        if kind == "float" and not numeric:
            raise ApiError(500, "option %s must be of type float32" % go_quote(key))
        if kind == "bool" and not isinstance(value, bool):
            raise ApiError(500, "option %s must be of type boolean" % go_quote(key))
        if kind == "strings":
            if not isinstance(value, list):
                raise ApiError(500, "option %s must be of type array" % go_quote(key))
            if not all(isinstance(v, str) for v in value):
                raise ApiError(500, "option %s must be of type an array of strings" % go_quote(key))


# ---------------------------------------------------------------------------------------------
# Request decoding
# ---------------------------------------------------------------------------------------------

_FIELD_TYPES = {
    "GenerateRequest": {
        "model": str,
        "prompt": str,
        "suffix": str,
        "system": str,
        "template": str,
        "stream": bool,
        "raw": bool,
        "images": list,
        "options": dict,
        "context": list,
        "top_logprobs": int,
    },
    "ChatRequest": {
        "model": str,
        "messages": list,
        "tools": list,
        "stream": bool,
        "options": dict,
        "top_logprobs": int,
    },
    "EmbedRequest": {"model": str, "truncate": bool, "dimensions": int, "options": dict},
    "EmbeddingRequest": {"model": str, "prompt": str, "options": dict},
    "ShowRequest": {"model": str, "name": str, "system": str, "verbose": bool, "options": dict},
    "PullRequest": {"model": str, "name": str, "insecure": bool, "stream": bool},
    "PushRequest": {"model": str, "name": str, "insecure": bool, "stream": bool},
    "CreateRequest": {
        "model": str,
        "name": str,
        "from": str,
        "files": dict,
        "adapters": dict,
        "template": str,
        "system": str,
        "parameters": dict,
        "messages": list,
        "quantize": str,
        "stream": bool,
        "modelfile": str,
        "path": str,
    },
    "CopyRequest": {"source": str, "destination": str},
    "DeleteRequest": {"model": str, "name": str},
}
_GO_TYPES = {str: "string", bool: "bool", list: "[]interface {}", dict: "map[string]interface {}", int: "int"}


def _json_kind(value):
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def decode_body(raw, struct):
    if not raw:
        raise ApiError(400, "missing request body")
    try:
        body = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ApiError(400, "invalid character looking for beginning of value")
    except ValueError as exc:
        if exc.pos >= len(raw.rstrip()):
            raise ApiError(400, "unexpected EOF")
        char = raw.decode("utf-8")[exc.pos : exc.pos + 1]
        raise ApiError(400, "invalid character %s looking for beginning of value" % ("'%s'" % char))
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(400, "json: cannot unmarshal %s into Go value of type api.%s" % (_json_kind(body), struct))
    for field, expected in _FIELD_TYPES.get(struct, {}).items():
        value = body.get(field)
        if value is None:
            continue
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
        if expected is int and isinstance(value, float) and value == int(value):
            ok = True
        if not ok:
            raise ApiError(
                400,
                "json: cannot unmarshal %s into Go struct field %s.%s of type %s"
                % (_json_kind(value), struct, field, _GO_TYPES[expected]),
            )
    return body


# ---------------------------------------------------------------------------------------------
# HTTP layer
# ---------------------------------------------------------------------------------------------

_ROUTES = {
    "/": ("GET", "HEAD"),
    "/api/version": ("GET", "HEAD"),
    "/api/status": ("GET",),
    "/api/tags": ("GET", "HEAD"),
    "/api/ps": ("GET",),
    "/api/pull": ("POST",),
    "/api/push": ("POST",),
    "/api/show": ("POST",),
    "/api/delete": ("DELETE",),
    "/api/create": ("POST",),
    "/api/copy": ("POST",),
    "/api/generate": ("POST",),
    "/api/chat": ("POST",),
    "/api/embed": ("POST",),
    "/api/embeddings": ("POST",),
    "/v1/models": ("GET",),
}
_HANDLERS = {
    "/": "_api_root",
    "/api/version": "_api_version",
    "/api/status": "_api_status",
    "/api/tags": "_api_tags",
    "/api/ps": "_api_ps",
    "/api/pull": "_api_pull",
    "/api/push": "_api_push",
    "/api/show": "_api_show",
    "/api/delete": "_api_delete",
    "/api/create": "_api_create",
    "/api/copy": "_api_copy",
    "/api/generate": "_api_generate",
    "/api/chat": "_api_chat",
    "/api/embed": "_api_embed",
    "/api/embeddings": "_api_embeddings",
    "/v1/models": "_api_v1_models",
}
_BLOB_DIGEST = re.compile(r"^sha256[:-][0-9a-fA-F]{64}$")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def get_request(self):
        conn, addr = self.socket.accept()
        if self.emulator.tls is not None:
            conn = self.emulator.tls.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        return conn, addr

    def handle_error(self, request, client_address):
        if self.emulator.verbose:
            http.server.ThreadingHTTPServer.handle_error(self, request, client_address)


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes; without this, Nagle + delayed ACK add 40 ms a call.
    disable_nagle_algorithm = True
    server_version = "ollama-emulator"
    sys_version = ""
    timeout = 300

    # -- plumbing -----------------------------------------------------------------------------

    @property
    def emu(self):
        return self.server.emulator

    def setup(self):
        http.server.BaseHTTPRequestHandler.setup(self)
        self.emu.connections.add(self.connection)

    def finish(self):
        try:
            http.server.BaseHTTPRequestHandler.finish(self)
        finally:
            self.emu.connections.discard(self.connection)

    def handle(self):
        if isinstance(self.connection, ssl.SSLSocket):
            try:
                self.connection.settimeout(10)
                self.connection.do_handshake()
                self.connection.settimeout(self.timeout)
            except (ssl.SSLError, OSError):
                self.close_connection = True
                return
        try:
            http.server.BaseHTTPRequestHandler.handle(self)
        except (ConnectionError, ssl.SSLError, socket.timeout, _Drop):
            self.close_connection = True

    def log_message(self, fmt, *args):
        if self.emu.verbose:
            sys.stderr.write("%s - %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_OPTIONS(self):
        self._dispatch()

    def _iter_body(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            while True:
                line = self.rfile.readline(65537)
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return
                left = size
                while left:
                    data = self.rfile.read(min(left, 1 << 20))
                    if not data:
                        raise ConnectionError("short chunk")
                    left -= len(data)
                    yield data
                self.rfile.readline(65537)
        else:
            left = int(self.headers.get("Content-Length") or 0)
            while left > 0:
                data = self.rfile.read(min(left, 1 << 20))
                if not data:
                    raise ConnectionError("short body")
                left -= len(data)
                yield data

    def _read_body(self):
        return b"".join(self._iter_body())

    def _send(self, status, body=b"", content_type=None, headers=None):
        self.send_response(status)
        if content_type:
            self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self._status = status

    def _json(self, status, obj, content_type=CT_JSON_GIN):
        self._send(status, json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), content_type)

    def _error(self, exc):
        if exc.body is not None:
            self._send(exc.status, exc.body, exc.content_type, exc.headers)
        else:
            self._json(exc.status, {"error": exc.message}, exc.content_type)

    def _stream_start(self):
        self.send_response(200)
        self.send_header("Content-Type", CT_NDJSON)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._status = 200
        self._buffer = []
        self._buffered = 0

    def _stream_line(self, line):
        self._buffer.append(line)
        self._buffered += len(line)
        if self._buffered >= 32768:
            self._stream_flush()

    def _stream_flush(self):
        if self._buffered:
            data = "".join(self._buffer).encode("utf-8")
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self._buffer = []
            self._buffered = 0

    def _stream_end(self):
        self._stream_flush()
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self):
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        raise _Drop()

    def _host_allowed(self):
        # allowedHostsMiddleware: only enforced when the server listens on a loopback address.
        try:
            if not ipaddress.ip_address(self.server.server_address[0]).is_loopback:
                return True
        except ValueError:
            return True
        host = (self.headers.get("Host") or "").strip()
        match = re.match(r"^\[([^\]]+)\](:\d+)?$", host) or re.match(r"^([^:]*)(:\d+)?$", host)
        name = (match.group(1) if match else host).lower()
        if not name or name == "localhost" or name == socket.gethostname().lower():
            return True
        if name.endswith((".localhost", ".local", ".internal")):
            return True
        try:
            addr = ipaddress.ip_address(name)
        except ValueError:
            return False
        return addr.is_loopback or addr.is_private or addr.is_unspecified

    def _dispatch(self):
        self._status = 0
        path = self.path.split("?", 1)[0]
        emu = self.emu
        if emu.refusing:
            self._drop()
        if path.startswith("/_emulator/"):
            return self._control(path)
        body_for_log = None
        raw = b""
        try:
            if emu.require_token and self.headers.get("Authorization") != "Bearer %s" % emu.require_token:
                # What a reverse proxy (nginx auth_request, Caddy, Traefik) answers in front of Ollama.
                self._read_body_quietly()
                self.close_connection = True
                raise ApiError(
                    401,
                    "401 Unauthorized",
                    content_type="text/plain; charset=utf-8",
                    body=b"401 Unauthorized\n",
                    headers={"WWW-Authenticate": 'Bearer realm="ollama"'},
                )
            if not self._host_allowed():
                self._read_body_quietly()
                raise ApiError(403, "", content_type=None, body=b"")
            delay = emu.take_fault("delay", path=path)
            if delay:
                emu.wait(float(delay.get("seconds", 1)))
            allowed = _ROUTES.get(path)
            if allowed is None and path.startswith("/api/blobs/") and path.count("/") == 3:
                allowed = ("POST", "HEAD")
            if allowed is None and path.startswith("/v1/models/") and path.count("/") == 3:
                allowed = ("GET",)
            if allowed is None:
                self._read_body_quietly()
                raise ApiError(404, "", content_type="text/plain", body=b"404 page not found")
            if self.command not in allowed:
                self._read_body_quietly()
                raise ApiError(405, "", content_type="text/plain", body=b"405 method not allowed")
            if path.startswith("/api/blobs/"):
                return self._blob(path[len("/api/blobs/") :])
            raw = self._read_body() if self.command in ("POST", "DELETE") else b""
            try:
                body_for_log = json.loads(raw.decode("utf-8")) if raw else None
            except ValueError:
                body_for_log = raw.decode("utf-8", "replace")
            if path.startswith("/v1/models/"):
                return self._v1_model(path[len("/v1/models/") :])
            getattr(self, _HANDLERS[path])(raw)
        except ApiError as exc:
            self._error(exc)
        finally:
            with emu.lock:
                emu.log.append({"method": self.command, "path": path, "body": body_for_log, "status": self._status})

    def _read_body_quietly(self):
        try:
            if self.command in ("POST", "DELETE", "PUT", "PATCH"):
                self._read_body()
        except (ValueError, ConnectionError):
            self.close_connection = True

    # -- control plane ------------------------------------------------------------------------

    def _control(self, path):
        emu = self.emu
        try:
            raw = self._read_body() if self.command in ("POST", "DELETE", "PUT") else b""
            body = json.loads(raw.decode("utf-8")) if raw.strip() else {}
            if not isinstance(body, dict):
                raise ApiError(400, "control plane: JSON object expected")
            route = (self.command, path.rstrip("/"))
            if route == ("GET", "/_emulator/requests"):
                with emu.lock:
                    return self._json(200, {"requests": list(emu.log)})
            if route == ("DELETE", "/_emulator/requests"):
                with emu.lock:
                    emu.log = []
                return self._json(200, {"requests": []})
            if route == ("POST", "/_emulator/reset"):
                emu.reset()
                return self._json(200, {"status": "reset"})
            if route == ("POST", "/_emulator/restart"):
                emu.restart()
                return self._json(200, {"status": "restarted"})
            if route == ("POST", "/_emulator/catalog"):
                return self._json(200, emu.catalog_update(body))
            if route == ("POST", "/_emulator/local"):
                return self._json(200, emu.put_local(body))
            if route == ("POST", "/_emulator/faults"):
                return self._json(200, {"fault": emu.add_fault(body)})
            if route == ("DELETE", "/_emulator/faults"):
                emu.clear_faults()
                return self._json(200, {"faults": []})
            if route == ("GET", "/_emulator/faults"):
                with emu.lock:
                    return self._json(200, {"faults": list(emu.faults)})
            if route == ("GET", "/_emulator/state"):
                return self._json(200, emu.state())
            raise ApiError(404, "no control-plane call %s %s" % route)
        except ValueError as exc:
            self._json(400, {"error": "control plane: %s" % exc})
        except ApiError as exc:
            self._error(exc)

    # -- simple endpoints ---------------------------------------------------------------------

    def _api_root(self, raw):
        self._send(200, b"Ollama is running", CT_TEXT)

    def _api_version(self, raw):
        self._json(200, {"version": self.emu.version})

    def _api_status(self, raw):
        self._json(200, {"cloud": {"disabled": False, "source": "none"}})

    def _api_tags(self, raw):
        with self.emu.lock:
            models = [self.emu.tags_entry(item) for item in self.emu._sorted_local()]
        self._json(200, {"models": models})

    def _api_ps(self, raw):
        with self.emu.lock:
            self._json(200, {"models": self.emu.ps_entries()})

    def _api_v1_models(self, raw):
        with self.emu.lock:
            data = [self._openai_model(item, None) for item in self.emu._sorted_local()]
        self._json(200, {"object": "list", "data": data or None})

    def _openai_model(self, item, shown):
        return {
            "id": shown or self.emu.local_display(item),
            "object": "model",
            "created": item["modified_ns"] // SECOND_NS,
            "owned_by": item["parts"][1],
        }

    def _v1_model(self, name):
        emu = self.emu
        with emu.lock:
            _unused, item = emu.find_local(name)
            if item is None:
                parts = parse_model_name(name)
                message = "model '%s' not found" % (display_name(parts) if parts and emu.vt >= (0, 30, 0) else name)
                return self._json(
                    404, {"error": {"message": message, "type": "not_found_error", "param": None, "code": None}}
                )
            return self._json(200, self._openai_model(item, name))

    def _api_show(self, raw):
        req = decode_body(raw, "ShowRequest")
        emu = self.emu
        name = req.get("model") or req.get("name") or ""
        if not name:
            raise ApiError(400, "model is required")
        parts = parse_model_name(name)
        if parts is None:
            raise ApiError(400, "invalid model name")
        with emu.lock:
            _unused, item = emu.find_local(name)
            if item is None:
                raise ApiError(404, "model '%s' not found" % (display_name(parts) if emu.vt >= (0, 30, 0) else name))
            item = dict(item)
        record = item["record"]
        meta = record["meta"]
        verbose = bool(req.get("verbose"))
        info = {}
        for k, v in meta["model_info"].items():
            info[k] = [] if isinstance(v, list) and len(v) > 5 and not verbose else v
        system = req.get("system") or meta.get("system") or ""
        resp = {"license": "\n".join(meta.get("license") or []), "modelfile": self._modelfile(item, system)}
        params = meta.get("parameters") or {}
        lines = []
        for k, v in params.items():
            for value in v if isinstance(v, list) else [v]:
                lines.append("%-30s %s" % (k, go_sharp_v(value)))
        if lines:
            # The server walks a Go map, so the real order is random; tests must not rely on it.
            random.shuffle(lines)
            resp["parameters"] = "\n".join(lines)
        resp["template"] = meta.get("template") or ""
        if system:
            resp["system"] = system
        if not resp["license"]:
            del resp["license"]
        resp["details"] = meta["details"]
        if meta.get("messages"):
            resp["messages"] = meta["messages"]
        resp["model_info"] = info
        if emu.vt >= (0, 6, 4) and meta.get("capabilities"):
            resp["capabilities"] = list(meta["capabilities"])
        resp["modified_at"] = go_time(item["modified_ns"])
        self._json(200, resp)

    def _modelfile(self, item, system):
        emu = self.emu
        meta = item["record"]["meta"]
        blob = model_layer_digest(item["record"]).replace(":", "-")
        lines = [
            '# Modelfile generated by "ollama show"',
            "# To build a new Modelfile based on this, replace FROM with:",
            "# FROM %s" % emu.local_display(item),
            "",
            "FROM %s" % os.path.join(emu.models_dir, "blobs", blob),
        ]
        for layer in item["record"]["layers"]:
            if layer["mediaType"] == MT_ADAPTER:
                lines.append("ADAPTER %s" % os.path.join(emu.models_dir, "blobs", layer["digest"].replace(":", "-")))
        if meta.get("template"):
            lines.append('TEMPLATE """%s"""' % meta["template"])
        if system:
            lines.append('SYSTEM """%s"""' % system)
        for k, v in (meta.get("parameters") or {}).items():
            for value in v if isinstance(v, list) else [v]:
                lines.append("PARAMETER %s %s" % (k, _modelfile_value(value)))
        for text in meta.get("license") or []:
            lines.append('LICENSE """%s"""' % text)
        for message in meta.get("messages") or []:
            lines.append("MESSAGE %s %s" % (message.get("role"), _modelfile_value(message.get("content", ""))))
        return "\n".join(lines) + "\n"

    def _api_copy(self, raw):
        req = decode_body(raw, "CopyRequest")
        emu = self.emu
        source, dest = req.get("source") or "", req.get("destination") or ""
        src_parts, dst_parts = parse_model_name(source), parse_model_name(dest)
        if src_parts is None:
            raise ApiError(400, "source %s is invalid" % go_quote(source))
        if dst_parts is None:
            raise ApiError(400, "destination %s is invalid" % go_quote(dest))
        with emu.lock:
            key, item = emu.find_local(source)
            if item is None:
                raise ApiError(404, "model %s not found" % go_quote(source))
            if name_key(dst_parts) != key:
                emu._store_local(dst_parts, item["record"])
        self._send(200)

    def _api_delete(self, raw):
        req = decode_body(raw, "DeleteRequest")
        emu = self.emu
        name = req.get("model") or req.get("name") or ""
        if not name:
            raise ApiError(400, "model is required")
        if parse_model_name(name) is None:
            raise ApiError(400, "name %s is invalid" % go_quote(name))
        with emu.lock:
            key, item = emu.find_local(name)
            if item is None:
                raise ApiError(404, "model '%s' not found" % name)
            # RemoveLayers: drop the manifest, then every blob no other manifest uses. Loaded runners
            # stay resident (DeleteHandler never talks to the scheduler).
            del emu.local[key]
            used = emu._referenced_blobs()
            for layer in item["record"]["layers"] + [item["record"]["config"]]:
                if layer["digest"] not in used:
                    emu.blobs.pop(layer["digest"], None)
            emu._save_state()
        self._send(200)

    def _blob(self, digest):
        emu = self.emu
        if not _BLOB_DIGEST.match(digest):
            self._read_body_quietly()
            raise ApiError(400, "invalid digest format")
        stored = "sha256:" + digest[7:]
        with emu.lock:
            present = stored in emu.blobs
        if self.command == "HEAD":
            if present:
                return self._send(200)
            raise ApiError(404, 'blob "%s" not found' % digest)
        if present:
            # The server answers 200 without using the upload. Go's server also drains a small unread
            # body before reusing the connection; draining it all keeps clients that send first happy.
            for _unused in self._iter_body():
                pass
            return self._send(200)
        hasher = hashlib.sha256()
        size = 0
        head = b""
        for data in self._iter_body():
            if len(head) < 4:
                head += data[: 4 - len(head)]
            hasher.update(data)
            size += len(data)
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise ApiError(400, "digest mismatch, expected %s, got %s" % (go_quote(digest), go_quote(actual)))
        with emu.lock:
            emu._add_blob(actual, size, gguf=head == b"GGUF")
            emu._save_state()
        self._send(201)

    # -- progress operations (pull, push, create) ---------------------------------------------

    def _run_progress(self, gen, stream):
        emu = self.emu
        if not stream:
            last = None
            try:
                for item in gen:
                    if item is _DROP:
                        self._drop()
                    if item is not None:
                        last = item
            except StreamError as exc:
                return self._json(exc.status or 500, {"error": exc.message}, CT_JSON)
            return self._json(200, json.loads(last) if isinstance(last, str) else last, CT_JSON)
        started = False
        try:
            for item in gen:
                if item is _DROP:
                    if started:
                        self._stream_flush()
                    self._drop()
                if not started:
                    self._stream_start()
                    started = True
                if item is None:
                    self._stream_flush()
                    continue
                self._stream_line(item if isinstance(item, str) else _line(item))
        except StreamError as exc:
            if not started and emu.vt >= (0, 12, 6):
                return self._json(exc.status or 500, {"error": exc.message}, CT_JSON)
            if not started:
                self._stream_start()
            error = {"error": exc.message}
            if exc.status and emu.vt < (0, 12, 6):
                error["status"] = exc.status
            self._stream_line(_line(error))
        self._stream_end()

    def _api_pull(self, raw):
        req = decode_body(raw, "PullRequest")
        name = req.get("model") or req.get("name") or ""
        parts = parse_model_name(name)
        if parts is None:
            raise ApiError(400, "invalid model name")
        self._run_progress(self._pull(parts), req.get("stream", True) is not False)

    def _pull(self, parts):
        emu = self.emu
        key = name_key(parts)
        yield {"status": "pulling manifest"}
        with emu.lock:
            upstream = emu.registry.get(key)
            record = upstream["record"] if upstream else None
        if record is None:
            yield None
            raise StreamError("pull model manifest: file does not exist")
        fault = emu.take_fault(("pull_fail", "pull_stall", "pull_drop"), model=key)
        layers = record["layers"] + [record["config"]]
        with emu.lock:
            missing = [layer for layer in layers if layer["digest"] not in emu.blobs]
            todo = sum(layer["size"] - emu.partial.get(layer["digest"], 0) for layer in missing)
        threshold = None
        if fault is not None:
            threshold = int(float(fault.get("after_fraction", 0.5)) * todo)
        done = 0
        speed = emu.pull_bytes_per_second
        lines_wanted = record["meta"].get("progress_lines") or 0
        for layer in layers:
            digest, total = layer["digest"], layer["size"]
            short = digest[7:19]
            prefix = '{"status":"pulling %s","digest":"%s","total":%d' % (short, digest, total)
            if layer not in missing:
                yield prefix + ',"completed":%d}\n' % total
                continue
            completed = emu.partial.get(digest, 0)
            # The first tick of a download has no "completed" while it is 0 (omitempty).
            yield prefix + ("}\n" if not completed else ',"completed":%d}\n' % completed)
            left = total - completed
            if layer["mediaType"] == MT_MODEL and lines_wanted:
                ticks = lines_wanted
            elif speed > 0:
                ticks = max(1, math.ceil(left / (speed * PULL_TICK_SECONDS)))
            else:
                ticks = 1
            pause = (left / speed / ticks) if speed > 0 else 0
            step = left / float(ticks)
            for tick in range(1, ticks + 1):
                target = completed + (left if tick == ticks else int(step * tick))
                if threshold is not None and done + (target - completed) >= threshold:
                    stop_at = completed + (threshold - done)
                    with emu.lock:
                        emu.partial[digest] = stop_at
                    if stop_at > completed:
                        yield prefix + ',"completed":%d}\n' % stop_at
                    yield None
                    yield from self._pull_fault(fault)
                if pause:
                    yield None
                    if not emu.sleep(pause):
                        yield _DROP
                yield prefix + ',"completed":%d}\n' % target
            done += left
            with emu.lock:
                emu.partial.pop(digest, None)
                emu._add_blob(digest, total)
        if threshold is not None:
            # The fault's share lies at the very end (after_fraction 1): it fires after the last byte.
            yield None
            yield from self._pull_fault(fault)
        yield {"status": "verifying sha256 digest"}
        yield {"status": "writing manifest"}
        with emu.lock:
            old = emu.local.get(key)
            emu._store_local(parts, record, key)
            removed = False
            if old is not None:
                used = emu._referenced_blobs()
                for layer in old["record"]["layers"] + [old["record"]["config"]]:
                    if layer["digest"] not in used and layer["digest"] in emu.blobs:
                        del emu.blobs[layer["digest"]]
                        removed = True
                emu._save_state()
        if removed and not _env(emu.env, "OLLAMA_NOPRUNE"):
            yield {"status": "removing unused layers"}
        yield {"status": "success"}

    def _pull_fault(self, fault):
        emu = self.emu
        if fault["kind"] == "pull_fail":
            raise StreamError(fault.get("error") or "max retries exceeded: unexpected EOF")
        if fault["kind"] == "pull_stall":
            # Keep the connection open and silent until the fault is cleared or the emulator stops.
            emu.wait(float(fault.get("seconds", 365 * 86400)))
        yield _DROP

    def _api_push(self, raw):
        req = decode_body(raw, "PushRequest")
        name = req.get("model") or req.get("name") or ""
        if not name:
            raise ApiError(400, "model is required")
        parts = parse_model_name(name)
        if parts is None:
            raise ApiError(400, "invalid model name")
        self._run_progress(self._push(parts), req.get("stream", True) is not False)

    def _push(self, parts):
        emu = self.emu
        yield {"status": "retrieving manifest"}
        with emu.lock:
            item = emu.local.get(name_key(parts))
        if item is None:
            yield {"status": "couldn't retrieve manifest"}
            path = os.path.join(emu.models_dir, "manifests", *parts[:3]) + "/" + parts[3]
            raise StreamError("open %s: no such file or directory" % path)
        record = item["record"]
        for layer in record["layers"] + [record["config"]]:
            yield {
                "status": "pushing %s" % layer["digest"][7:19],
                "digest": layer["digest"],
                "total": layer["size"],
                "completed": layer["size"],
            }
        yield {"status": "pushing manifest"}
        with emu.lock:
            # The emulated registry now serves this model, so a later pull finds it.
            emu.registry[name_key(parts)] = {"parts": list(parts), "entry": None, "record": record}
        yield {"status": "success"}

    def _api_create(self, raw):
        req = decode_body(raw, "CreateRequest")
        emu = self.emu
        name = req.get("model") or req.get("name") or ""
        parts = parse_model_name(name)
        if parts is None:
            raise ApiError(400, "invalid model name")
        if emu.vt < (0, 5, 5):
            req = self._legacy_create_request(req)
        for field in ("files", "adapters"):
            for fname, digest in (req.get(field) or {}).items():
                if os.path.isabs(fname) or ".." in fname.split("/"):
                    raise ApiError(400, "file path must be relative")
                if not digest:
                    raise ApiError(400, "invalid digest format")
        if not req.get("from") and not req.get("files"):
            raise ApiError(400, "neither 'from' or 'files' was specified")
        if req.get("from") and parse_model_name(req["from"]) is None:
            raise ApiError(400, "invalid model name")
        fault = emu.take_fault("create_fail", model=name_key(parts))
        if fault:
            raise ApiError(int(fault.get("status", 500)), fault.get("error") or "create failed (emulated fault)")
        self._run_progress(self._create(parts, req), req.get("stream", True) is not False)

    def _legacy_create_request(self, req):
        """Servers before v0.5.5 parse a Modelfile themselves and ignore the structured fields."""
        text = req.get("modelfile") or ""
        if not text and req.get("path"):
            try:
                with open(req["path"], encoding="utf-8") as handle:
                    text = handle.read()
            except OSError as exc:
                raise ApiError(400, str(exc))
        if not text:
            raise ApiError(400, "path or Modelfile are required")
        try:
            parsed = parse_modelfile(text)
        except ValueError as exc:
            raise ApiError(400, str(exc))
        parsed["stream"] = req.get("stream", True)
        if req.get("quantize"):
            parsed["quantize"] = req["quantize"]
        return parsed

    def _create(self, parts, req):
        emu = self.emu
        key = name_key(parts)
        layers = []
        if req.get("from"):
            from_parts = parse_model_name(req["from"])
            from_key = name_key(from_parts)
            with emu.lock:
                base = emu.local.get(from_key)
            if base is None:
                yield from self._pull(from_parts)
                with emu.lock:
                    base = emu.local.get(from_key)
            base_name = full_name(base["parts"])
            meta = json.loads(json.dumps(base["record"]["meta"]))
            meta["details"]["parent_model"] = base_name
            layers = [dict(layer) for layer in base["record"]["layers"]]
            for layer in layers:
                if layer["mediaType"] in WEIGHT_TYPES and "from" not in layer:
                    layer["from"] = base_name
        else:
            meta, layers = None, []
            for item in self._create_from_files(req):
                if isinstance(item, tuple):
                    meta, layers = item
                else:
                    yield item
        if req.get("quantize"):
            yield from self._quantize(meta, layers, req["quantize"])
        for layer in layers:
            yield {"status": "using existing layer %s" % layer["digest"]}
        new_layers = []
        if req.get("adapters"):
            for digest in req["adapters"].values():
                with emu.lock:
                    size = emu.blobs.get(digest, {}).get("size")
                if size is None:
                    raise StreamError("open %s: no such file or directory" % self._blob_path(digest))
                layers = [layer for layer in layers if layer["mediaType"] != MT_ADAPTER]
                new_layers.append((_layer(MT_ADAPTER, digest, size), None))
        if req.get("template"):
            meta["template"] = req["template"]
            meta["capabilities"] = capabilities_from_template(req["template"], meta.get("capabilities") or [])
            new_layers.append(_content_layer(MT_TEMPLATE, req["template"]))
        if req.get("system"):
            meta["system"] = req["system"]
            new_layers.append(_content_layer(MT_SYSTEM, req["system"]))
        licenses = _license_text(req.get("license"))
        if licenses:
            meta["license"] = licenses
            for text in licenses:
                new_layers.append(_content_layer(MT_LICENSE, text))
        if req.get("parameters"):
            # setParameters: the base model's parameters are kept, keys given here win.
            merged = dict(meta.get("parameters") or {})
            merged.update(req["parameters"])
            meta["parameters"] = merged
            data = _params_bytes(merged)
            new_layers.append((_layer(MT_PARAMS, _sha(data), len(data)), data))
        if req.get("messages"):
            meta["messages"] = [{"role": m.get("role"), "content": m.get("content", "")} for m in req["messages"]]
            data = json.dumps(meta["messages"], separators=(",", ":")).encode("utf-8")
            new_layers.append((_layer(MT_MESSAGES, _sha(data), len(data)), data))
        replaced = set(layer["mediaType"] for layer, _unused in new_layers)
        layers = [layer for layer in layers if layer["mediaType"] not in replaced]
        for layer, _unused in new_layers:
            with emu.lock:
                exists = layer["digest"] in emu.blobs
                emu._add_blob(layer["digest"], layer["size"])
            yield {"status": "%s %s" % ("using existing layer" if exists else "creating new layer", layer["digest"])}
            layers.append(layer)
        record = build_record(layers, meta)
        yield {"status": "writing manifest"}
        with emu.lock:
            emu._store_local(parts, record, key)
        yield {"status": "success"}

    def _blob_path(self, digest):
        return os.path.join(self.emu.models_dir, "blobs", digest.replace(":", "-"))

    def _create_from_files(self, req):
        emu = self.emu
        files = req["files"]
        layers = []
        size_total = 0
        kind = None
        for fname, digest in sorted(files.items()):
            with emu.lock:
                blob = emu.blobs.get(digest)
            if fname.endswith(".safetensors"):
                kind = "safetensors"
            elif fname.endswith(".gguf") or (blob and blob.get("gguf")):
                kind = kind or "gguf"
            elif fname.endswith(".json") or fname.endswith(".model") or fname.endswith(".txt"):
                continue
            else:
                raise StreamError("unknown type", 400)
            if kind == "gguf":
                yield {"status": "parsing GGUF"}
            if blob is None:
                raise StreamError("open %s: no such file or directory" % self._blob_path(digest))
            size_total += blob["size"]
            layer_digest = digest
            if kind == "gguf" and emu.vt >= (0, 30, 0):
                # v0.30+ rewrites the GGUF with llama-quantize: the stored layer gets another digest.
                yield {"status": "validating GGUF model", "digest": "0000000000000000000", "total": blob["size"]}
                yield {
                    "status": "validating GGUF model",
                    "digest": "0000000000000000000",
                    "total": blob["size"],
                    "completed": blob["size"],
                }
                yield {"status": "verifying conversion"}
                layer_digest = _sha("gguf rewrite\0" + digest)
            layers.append(_layer(MT_MODEL, layer_digest, blob["size"]))
            with emu.lock:
                emu._add_blob(layer_digest, blob["size"])
        if kind == "safetensors":
            yield {"status": "converting model"}
            digest = _sha("converted\0" + "\0".join(layer["digest"] for layer in layers))
            layers = [_layer(MT_MODEL, digest, size_total)]
        if not layers:
            raise StreamError("unknown type", 400)
        count = max(1, size_total // 2)
        template = req.get("template") or "{{ .Prompt }}"
        meta = {
            "details": {
                "parent_model": "",
                "format": "gguf",
                "family": "llama",
                "families": ["llama"],
                "parameter_size": _parameter_size(count),
                "quantization_level": "F16",
            },
            "capabilities": capabilities_from_template(template, ["completion"]),
            "model_info": _model_info("llama", count, ctx=4096, emb=4096, blocks=32, embedding=False, quant="F16"),
            "context_length": 4096,
            "embedding_length": 4096,
            "kv_bytes_per_token": 131072,
            "template": "",
            "system": "",
            "license": [],
            "parameters": {},
            "messages": [],
        }
        yield (meta, layers)

    def _quantize(self, meta, layers, quantize):
        target = quantize.upper()
        current = meta["details"].get("quantization_level", "")
        if current not in ("F16", "BF16", "F32"):
            raise StreamError("quantization is only supported for F16, BF16 and F32 models")
        if target not in _QUANT_FACTORS:
            raise StreamError("unsupported quantization type %s" % quantize)
        for index, layer in enumerate(layers):
            if layer["mediaType"] != MT_MODEL:
                continue
            total = layer["size"]
            yield {"status": "quantizing %s model to %s" % (current, target), "digest": "0000000000000000000"}
            yield {
                "status": "quantizing %s model to %s" % (current, target),
                "digest": "0000000000000000000",
                "total": total,
                "completed": total,
            }
            yield {"status": "verifying conversion"}
            size = int(total * _QUANT_FACTORS[target])
            layers[index] = _layer(MT_MODEL, _sha("quantized\0%s\0%s" % (layer["digest"], target)), size)
            with self.emu.lock:
                self.emu._add_blob(layers[index]["digest"], size)
        meta["details"]["quantization_level"] = target

    # -- inference ----------------------------------------------------------------------------

    def _lookup_for_inference(self, name, empty_status, empty_message, missing_message):
        emu = self.emu
        if not name:
            raise ApiError(empty_status, empty_message)
        if parse_model_name(name) is None:
            raise ApiError(400, "invalid model name")
        with emu.lock:
            key, item = emu.find_local(name)
        if item is None:
            raise ApiError(404, missing_message % name)
        return key, item

    def _api_generate(self, raw):
        self._generate(raw, chat=False)

    def _api_chat(self, raw):
        self._generate(raw, chat=True)

    def _generate(self, raw, chat):
        emu = self.emu
        req = decode_body(raw, "ChatRequest" if chat else "GenerateRequest")
        keep_alive = parse_keep_alive(req.get("keep_alive"))
        think = parse_think(req.get("think"))
        top = req.get("top_logprobs")
        if top is not None and not 0 <= top <= 20:
            raise ApiError(400, "top_logprobs must be between 0 and 20")
        name = req.get("model") or ""
        if chat:
            key, item = self._lookup_for_inference(name, 400, "model is required", "model '%s' not found")
        else:
            key, item = self._lookup_for_inference(name, 404, "model '' not found", "model '%s' not found")
        meta = item["record"]["meta"]
        caps = meta.get("capabilities") or []
        empty = not req.get("messages") if chat else not req.get("prompt")
        now = go_time(time.time_ns(), utc=True)
        if empty and keep_alive == 0:
            emu.unload(item)
            answer = {"model": name, "created_at": now}
            if chat:
                answer["message"] = {"role": "assistant", "content": ""}
            else:
                answer["response"] = ""
            answer.update(done=True, done_reason="unload")
            return self._json(200, answer)
        if not chat and req.get("raw") and (req.get("template") or req.get("system") or req.get("context")):
            raise ApiError(400, "raw mode does not support template, system, or context")
        if think and "thinking" not in caps:
            raise ApiError(400, "%s does not support thinking" % go_quote(name))
        if "completion" not in caps:
            raise ApiError(400, "%s does not support %s" % (go_quote(name), "chat" if chat else "generate"))
        full = full_name(item["parts"])
        if not chat and req.get("suffix") and "insert" not in caps:
            raise ApiError(400, "%s does not support insert" % full)
        if chat and req.get("tools") and "tools" not in caps:
            raise ApiError(400, "%s does not support tools" % full)
        images = req.get("images") or [img for m in (req.get("messages") or []) for img in (m.get("images") or [])]
        if images and "vision" not in caps:
            raise ApiError(400, "%s does not support vision" % full)
        started = time.time_ns()
        runner = emu.acquire(key, item, keep_alive, req.get("options"))
        load_ns = time.time_ns() - started
        try:
            if empty:
                answer = {"model": name, "created_at": go_time(time.time_ns(), utc=True)}
                if chat:
                    answer["message"] = {"role": "assistant", "content": ""}
                else:
                    answer["response"] = ""
                answer.update(done=True, done_reason="load")
                return self._json(200, answer)
            text = "{}" if req.get("format") else CANNED_RESPONSE
            pieces = re.findall(r"\S+\s*", text) or [text]
            thinking = "The emulator does not think; it answers at once." if think else None
            final = {
                "done": True,
                "done_reason": "stop",
                "total_duration": time.time_ns() - started + 1000000,
                "load_duration": load_ns,
                "prompt_eval_count": max(1, len(json.dumps(req.get("messages") or req.get("prompt"))) // 4),
                "prompt_eval_duration": 2000000,
                "eval_count": len(pieces),
                "eval_duration": 5000000 * len(pieces),
            }
            if not chat:
                final["context"] = list(range(1, 1 + len(pieces) + 3))
            if req.get("stream", True) is False:
                answer = {"model": name, "created_at": go_time(time.time_ns(), utc=True)}
                if chat:
                    answer["message"] = {"role": "assistant", "content": text}
                    if thinking:
                        answer["message"]["thinking"] = thinking
                else:
                    answer["response"] = text
                    if thinking:
                        answer["thinking"] = thinking
                answer.update(final)
                return self._json(200, answer)
            self._stream_start()
            chunks = ([("thinking", thinking)] if thinking else []) + [("content", p) for p in pieces]
            for field, piece in chunks:
                chunk = {"model": name, "created_at": go_time(time.time_ns(), utc=True)}
                if chat:
                    chunk["message"] = {"role": "assistant", "content": piece if field == "content" else ""}
                    if field == "thinking":
                        chunk["message"]["thinking"] = piece
                else:
                    chunk["response"] = piece if field == "content" else ""
                    if field == "thinking":
                        chunk["thinking"] = piece
                chunk["done"] = False
                self._stream_line(_line(chunk))
            last = {"model": name, "created_at": go_time(time.time_ns(), utc=True)}
            if chat:
                last["message"] = {"role": "assistant", "content": ""}
            else:
                last["response"] = ""
            last.update(final)
            self._stream_line(_line(last))
            self._stream_end()
        finally:
            emu.release(runner, keep_alive)

    def _api_embed(self, raw):
        emu = self.emu
        req = decode_body(raw, "EmbedRequest")
        keep_alive = parse_keep_alive(req.get("keep_alive"))
        name = req.get("model") or ""
        if not name:
            raise ApiError(404, "model '' not found")
        if parse_model_name(name) is None:
            raise ApiError(400, "invalid model name")
        inputs = req.get("input")
        if inputs is None or inputs == "":
            inputs = []
        elif isinstance(inputs, str):
            inputs = [inputs]
        elif not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise ApiError(400, "invalid input type")
        key, item = self._lookup_for_inference(name, 404, "", 'model "%s" not found, try pulling it first')
        started = time.time_ns()
        runner = emu.acquire(key, item, keep_alive, req.get("options"))
        try:
            load_ns = time.time_ns() - started
            if not inputs:
                return self._json(200, {"model": name, "embeddings": []})
            self._refuse_embedding(item, 501)
            if req.get("truncate") is False:
                for text in inputs:
                    if len(text.split()) > runner.num_ctx:
                        raise ApiError(400, "the input length exceeds the context length")
            dims = req.get("dimensions") or None
            vectors = [_embedding(item["record"]["digest"], text, item["record"]["meta"], dims) for text in inputs]
            self._json(
                200,
                {
                    "model": name,
                    "embeddings": vectors,
                    "total_duration": time.time_ns() - started,
                    "load_duration": load_ns,
                    "prompt_eval_count": sum(max(1, len(t.split())) for t in inputs),
                },
            )
        finally:
            emu.release(runner, keep_alive)

    def _refuse_embedding(self, item, status):
        emu = self.emu
        if "embedding" in (item["record"]["meta"].get("capabilities") or []):
            return
        if emu.vt >= (0, 30, 0):
            raise ApiError(status, "This server does not support embeddings. Start it with `--embeddings`")
        if emu.vt >= (0, 6, 1):
            raise ApiError(status, "this model does not support embeddings")
        # Older llama.cpp runners computed an embedding from a generative model.

    def _api_embeddings(self, raw):
        emu = self.emu
        req = decode_body(raw, "EmbeddingRequest")
        keep_alive = parse_keep_alive(req.get("keep_alive"))
        name = req.get("model") or ""
        key, item = self._lookup_for_inference(
            name, 400, "model is required", 'model "%s" not found, try pulling it first'
        )
        runner = emu.acquire(key, item, keep_alive, req.get("options"))
        try:
            if not req.get("prompt"):
                return self._json(200, {"embedding": []})
            self._refuse_embedding(item, 500)
            self._json(200, {"embedding": _embedding(item["record"]["digest"], req["prompt"], item["record"]["meta"])})
        finally:
            emu.release(runner, keep_alive)


_DROP = object()


def _line(obj):
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n"


def _modelfile_value(value):
    if isinstance(value, str):
        if "\n" in value:
            return '"""%s"""' % value
        if value != value.strip() or " " in value or '"' in value:
            return go_quote(value)
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return go_float(float(value))
    return json.dumps(value)


def _parameter_size(count):
    if count >= 10**9:
        return "%.1fB" % (count / 1e9)
    return "%dM" % (count // 10**6)


def _embedding(digest, text, meta, dims=None):
    length = int(meta.get("embedding_length") or 768)
    rng = random.Random(hashlib.sha256(("%s\0%s" % (digest, text)).encode("utf-8")).digest())
    vector = [rng.gauss(0.0, 1.0) for _unused in range(length)]
    if dims:
        vector = vector[: int(dims)]
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


_PARAM_KINDS = dict(_KNOWN_OPTIONS)


def _typed_parameter(name, value):
    kind = _PARAM_KINDS.get(name)
    if kind is None:
        raise ValueError("unknown parameter '%s'" % name)
    try:
        if kind == "int":
            return int(value)
        if kind == "float":
            number = float(value)
            return int(number) if number == int(number) else number
        if kind == "bool":
            if value.lower() not in ("true", "false", "1", "0", "t", "f"):
                raise ValueError(value)
            return value.lower() in ("true", "1", "t")
    except ValueError:
        raise ValueError("invalid %s value [%s]" % (kind, value))
    return value


def parse_modelfile(text):
    """Modelfile text -> structured create request (what servers before v0.5.5 did themselves)."""
    req = {}
    params = {}
    lines = text.lstrip("\ufeff").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index].strip()
        index += 1
        if not line or line.startswith("#"):
            continue
        command, _unused, rest = line.partition(" ")
        command = command.lower()
        rest = rest.strip()
        if rest.startswith('"""'):
            body = rest[3:]
            while '"""' not in body:
                if index >= len(lines):
                    raise ValueError("unexpected EOF")
                body += "\n" + lines[index]
                index += 1
            rest = body[: body.index('"""')]
        elif rest.startswith('"') and rest.endswith('"') and len(rest) > 1:
            rest = rest[1:-1]
        if command == "from":
            req["from"] = rest
        elif command in ("template", "system"):
            req[command] = rest
        elif command == "license":
            req.setdefault("license", []).append(rest)
        elif command == "parameter":
            pname, _unused, value = rest.partition(" ")
            value = value.strip()
            if value.startswith('"') and value.endswith('"') and len(value) > 1:
                value = value[1:-1]
            typed = _typed_parameter(pname, value)
            if pname == "stop":
                params.setdefault("stop", []).append(typed)
            else:
                params[pname] = typed
        elif command == "message":
            role, _unused, content = rest.partition(" ")
            if role not in ("system", "user", "assistant"):
                raise ValueError('message role must be one of "system", "user", or "assistant"')
            req.setdefault("messages", []).append({"role": role, "content": content.strip()})
        elif command in ("adapter", "requires", "draft", "renderer", "parser"):
            continue
        else:
            raise ValueError(
                '(line %d): command must be one of "from", "license", "template", "system", "adapter", '
                '"draft", "renderer", "parser", "parameter", "message", or "requires"' % index
            )
    if "from" not in req:
        raise ValueError("no FROM line")
    if params:
        req["parameters"] = params
    return req


# ---------------------------------------------------------------------------------------------
# Entry points
# ---------------------------------------------------------------------------------------------


def start_emulator(**options):
    """Start an emulator in this process (threads) and return it; use `.url` and `.stop()`."""
    options.setdefault("port", 0)
    return Emulator(**options).start()


def _cli_get(base, path, token=None):
    request = urllib.request.Request(base.rstrip("/") + path)
    if token:
        request.add_header("Authorization", "Bearer %s" % token)
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def _table(rows):
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("    ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)) for row in rows)


def format_ps(models, now_ns=None):
    """The table `ollama ps` prints for an /api/ps answer."""
    now_ns = now_ns or time.time_ns()
    rows = [["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]]
    for model in models:
        size, vram = model.get("size", 0), model.get("size_vram", 0)
        if vram == 0:
            processor = "100% CPU"
        elif vram == size:
            processor = "100% GPU"
        elif vram > size or size == 0:
            processor = "Unknown"
        else:
            cpu = round((size - vram) / float(size) * 100)
            processor = "%d%%/%d%% CPU/GPU" % (cpu, 100 - cpu)
        expires = parse_go_time(model.get("expires_at", ""))
        until = "Stopping..." if expires and expires < now_ns else human_time(expires, now_ns)
        rows.append(
            [
                model["name"],
                model.get("digest", "")[:12],
                human_bytes(size),
                processor,
                str(model.get("context_length", "")),
                until,
            ]
        )
    return _table(rows)


def format_list(models, now_ns=None):
    """The table `ollama list` prints for an /api/tags answer."""
    now_ns = now_ns or time.time_ns()
    rows = [["NAME", "ID", "SIZE", "MODIFIED"]]
    for model in models:
        modified = parse_go_time(model.get("modified_at", ""))
        rows.append(
            [
                model["name"],
                model.get("digest", "")[:12],
                human_bytes(model.get("size", 0)),
                human_time(modified, now_ns),
            ]
        )
    return _table(rows)


def _client_base(value):
    scheme, host, port = parse_ollama_host(value if value is not None else os.environ.get("OLLAMA_HOST", ""))
    if host in ("", "0.0.0.0", "::"):
        host = "127.0.0.1"
    shown = "[%s]" % host if ":" in host else host
    return "%s://%s:%d" % (scheme, shown, port)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in ("ps", "list", "ls"):
        parser = argparse.ArgumentParser(prog="ollama_emulator.py %s" % argv[0])
        parser.add_argument("--host", help="server URL (default: OLLAMA_HOST as the ollama CLI reads it)")
        parser.add_argument("--token", default=os.environ.get("OLLAMA_API_TOKEN"), help="bearer token")
        args = parser.parse_args(argv[1:])
        base = _client_base(args.host)
        try:
            if argv[0] == "ps":
                print(format_ps(_cli_get(base, "/api/ps", args.token)["models"]))
            else:
                print(format_list(_cli_get(base, "/api/tags", args.token)["models"]))
        except (urllib.error.URLError, OSError) as exc:
            sys.stderr.write("Error: could not reach %s: %s\n" % (base, exc))
            return 1
        return 0
    if argv and argv[0] == "serve":
        argv = argv[1:]
    parser = argparse.ArgumentParser(
        prog="ollama_emulator.py", description="Emulate the Ollama HTTP API (see README.md next to this file)."
    )
    parser.add_argument("--host", help="bind address (default: from OLLAMA_HOST, else 127.0.0.1)")
    parser.add_argument("--port", type=int, help="port (default: from OLLAMA_HOST, else 11434; 0 picks one)")
    parser.add_argument("--state-dir", help="keep local models here across restarts (default: memory only)")
    parser.add_argument("--catalog", help="JSON file replacing the registry catalog")
    parser.add_argument("--version", default=DEFAULT_VERSION, help="server version to emulate")
    parser.add_argument("--gpus", type=int, default=1, help="number of simulated GPUs (0 = CPU only)")
    parser.add_argument("--vram-gib", type=float, default=24.0, help="VRAM per simulated GPU in GiB")
    parser.add_argument("--load-seconds-per-gib", type=float, default=0.0, help="simulated load time")
    parser.add_argument("--pull-bytes-per-second", type=float, default=0, help="download speed (0 = instant)")
    parser.add_argument("--unload-seconds", type=float, default=0.0, help="how long an unload takes")
    parser.add_argument("--boot-delay", type=float, default=0.0, help="refuse connections this long after start")
    parser.add_argument("--tls-cert", help="PEM certificate: serve HTTPS")
    parser.add_argument("--tls-key", help="PEM private key for --tls-cert")
    parser.add_argument("--tls-client-ca", help="PEM CA bundle: require client certificates signed by it")
    parser.add_argument("--require-token", help="answer 401 unless 'Authorization: Bearer TOKEN' is sent")
    parser.add_argument("--verbose", action="store_true", help="log requests to stderr")
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    _unused, env_host, env_port = parse_ollama_host(os.environ.get("OLLAMA_HOST", ""))
    host = args.host if args.host is not None else (env_host or "0.0.0.0")
    port = args.port if args.port is not None else env_port
    emulator = Emulator(
        host=host,
        port=port,
        state_dir=args.state_dir,
        catalog=args.catalog,
        version=args.version,
        gpus=args.gpus,
        vram_gib=args.vram_gib,
        load_seconds_per_gib=args.load_seconds_per_gib,
        pull_bytes_per_second=args.pull_bytes_per_second,
        boot_delay=args.boot_delay,
        tls_cert=args.tls_cert,
        tls_key=args.tls_key,
        tls_client_ca=args.tls_client_ca,
        require_token=args.require_token,
        unload_seconds=args.unload_seconds,
        verbose=args.verbose,
    )
    # systemd stops services with SIGTERM: shut down cleanly and exit 0.
    signal.signal(signal.SIGTERM, lambda *_: emulator.stopped.set())
    emulator.serve_until_interrupted()
    return 0


if __name__ == "__main__":
    sys.exit(main())
