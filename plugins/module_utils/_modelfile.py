# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Modelfile parsing and parameter typing.

PRIVATE to the collection: may change at any time. Since Ollama 0.5.5 the client, not the
server, parses Modelfiles and sends a structured create request; the server stores PARAMETER
values verbatim and only fails at inference time when one is wrongly typed. So this module
parses like the Ollama CLI and types every parameter before anything is sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

INSTRUCTIONS = (
    "from",
    "license",
    "template",
    "system",
    "adapter",
    "draft",
    "renderer",
    "parser",
    "parameter",
    "message",
    "requires",
)
MESSAGE_ROLES = ("system", "user", "assistant")

INT_PARAMETERS = frozenset(
    (
        "num_ctx",
        "num_batch",
        "num_gpu",
        "main_gpu",
        "num_thread",
        "draft_num_predict",
        "num_keep",
        "seed",
        "num_predict",
        "top_k",
        "repeat_last_n",
    )
)
FLOAT_PARAMETERS = frozenset(
    ("top_p", "min_p", "typical_p", "temperature", "repeat_penalty", "presence_penalty", "frequency_penalty")
)
BOOL_PARAMETERS = frozenset(("use_mmap",))
LIST_PARAMETERS = frozenset(("stop",))
# Removed from the server's options in 0.7.0; the CLI warns and drops them, and so do we.
DEPRECATED_PARAMETERS = frozenset(
    (
        "penalize_newline",
        "low_vram",
        "f16_kv",
        "logits_all",
        "vocab_only",
        "use_mlock",
        "mirostat",
        "mirostat_tau",
        "mirostat_eta",
    )
)
KNOWN_PARAMETERS = INT_PARAMETERS | FLOAT_PARAMETERS | BOOL_PARAMETERS | LIST_PARAMETERS

_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")
# Patterns, compiled by ``re`` on first use: most Modelfiles type no number from text.
_INT_TEXT = r"^[+-]?\d+$"
_FLOAT_TEXT = r"(?i)^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity|nan)$"
_SEMVER = r"^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$"


class ModelfileError(ValueError):
    """The Modelfile or a parameter is invalid; the message says where and why."""


def _type_one(name, value):
    if name in INT_PARAMETERS:
        if isinstance(value, bool):
            raise ModelfileError("parameter %s must be an integer, got %r" % (name, value))
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value == int(value):
            return int(value)
        if isinstance(value, str) and re.match(_INT_TEXT, value.strip()):
            return int(value.strip())
        raise ModelfileError("parameter %s must be an integer, got %r" % (name, value))
    if name in FLOAT_PARAMETERS:
        if isinstance(value, bool):
            raise ModelfileError("parameter %s must be a number, got %r" % (name, value))
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str) and re.match(_FLOAT_TEXT, value.strip()):
            return float(value.strip())
        raise ModelfileError("parameter %s must be a number, got %r" % (name, value))
    if name in BOOL_PARAMETERS:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip() in _GO_TRUE:
            return True
        if isinstance(value, str) and value.strip() in _GO_FALSE:
            return False
        raise ModelfileError("parameter %s must be a boolean (true or false), got %r" % (name, value))
    # stop
    values = value if isinstance(value, list) else [value]
    for item in values:
        if not isinstance(item, str):
            raise ModelfileError("parameter stop must be a string or a list of strings, got %r" % (item,))
    return list(values)


def type_parameters(parameters, warnings=None):
    """Check names and convert values to the JSON types the server expects.

    Unknown names and values of the wrong type raise ModelfileError; deprecated names are
    dropped with a warning appended to ``warnings``. ``stop`` always becomes a list.
    """
    typed = {}
    for name in sorted(parameters or {}):
        value = parameters[name]
        if name in DEPRECATED_PARAMETERS:
            if warnings is not None:
                warnings.append("parameter %s is deprecated and ignored by Ollama; it was dropped" % name)
            continue
        if name not in KNOWN_PARAMETERS:
            raise ModelfileError("unknown parameter '%s' (known: %s)" % (name, ", ".join(sorted(KNOWN_PARAMETERS))))
        typed[name] = _type_one(name, value)
    return typed


def _unquote(text):
    """Mirror of the CLI's unquote: (value, complete)."""
    if text.startswith('"""'):
        if len(text) >= 6 and text.endswith('"""'):
            return text[3:-3], True
        return "", False
    if text.startswith('"'):
        if len(text) >= 2 and text.endswith('"'):
            return text[1:-1], True
        return "", False
    return text, True


def _is_name(text):
    return bool(text) and all(("a" <= c <= "z") or ("A" <= c <= "Z") for c in text)


def parse_commands(text):
    """Split Modelfile text into ``(instruction, argument, line)`` tuples like the Ollama CLI.

    A value runs to the end of its line unless it opens a quote (``"`` or ``\"\"\"``), in
    which case it runs to the end of the first line where the quote closes.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    commands = []
    index = 0
    while index < len(lines):
        number = index + 1
        line = lines[index].lstrip(" \t")
        index += 1
        if not line or line.startswith("#"):
            continue
        parts = re.split(r"[ \t]", line, maxsplit=1)
        word = parts[0]
        if not _is_name(word) or word.lower() not in INSTRUCTIONS or len(parts) < 2:
            raise ModelfileError(
                "(line %d): command must be one of %s, got %r"
                % (number, ", ".join('"%s"' % i for i in INSTRUCTIONS), word)
            )
        instruction = word.lower()
        rest = parts[1].lstrip(" \t")
        key = None
        if instruction in ("parameter", "message"):
            sub = re.split(r"[ \t]", rest, maxsplit=1)
            key = sub[0]
            rest = sub[1].lstrip(" \t") if len(sub) > 1 else ""
            if instruction == "parameter" and not re.match(r"^[A-Za-z0-9_]+$", key):
                raise ModelfileError("(line %d): invalid parameter name %r" % (number, key))
            if instruction == "message" and key not in MESSAGE_ROLES:
                raise ModelfileError(
                    '(line %d): message role must be one of "system", "user", or "assistant", got %r' % (number, key)
                )
        buffer = rest
        value, complete = _unquote(buffer.strip())
        while not complete:
            if index >= len(lines):
                raise ModelfileError(
                    "(line %d): unexpected end of the Modelfile: a quoted %s value is never closed"
                    % (number, instruction.upper())
                )
            buffer += "\n" + lines[index]
            index += 1
            value, complete = _unquote(buffer.strip())
        if instruction != "message" and not value.strip() and not buffer.strip().startswith('"'):
            raise ModelfileError("(line %d): %s needs a value" % (number, instruction.upper()))
        commands.append((instruction, key, value, number))
    return commands


def parse_modelfile(text, warnings=None):
    """Parse Modelfile text into a definition dict (the create request's typed fields).

    Keys: ``from``, and when given ``parameters``, ``template``, ``system``, ``license`` (list),
    ``messages``, ``adapters`` (list of paths or names), ``requires``, ``renderer``, ``parser``,
    ``draft``. Paths are kept as written; resolve them with ``resolve_local_paths``.
    """
    definition = {}
    raw_parameters = {}
    for instruction, key, value, number in parse_commands(text):
        if instruction == "from":
            definition["from"] = value
        elif instruction == "parameter":
            if key in LIST_PARAMETERS:
                raw_parameters.setdefault(key, []).append(value)
            else:
                raw_parameters[key] = value
        elif instruction in ("template", "system", "renderer", "parser", "draft"):
            definition[instruction] = value
        elif instruction == "license":
            definition.setdefault("license", []).append(value)
        elif instruction == "adapter":
            definition.setdefault("adapters", []).append(value)
        elif instruction == "message":
            definition.setdefault("messages", []).append({"role": key, "content": value})
        elif instruction == "requires":
            if not re.match(_SEMVER, value.strip()):
                raise ModelfileError(
                    "(line %d): requires must be a valid semver (e.g. 0.14.0), got %r" % (number, value)
                )
            definition["requires"] = value.strip()
    if "from" not in definition:
        raise ModelfileError("no FROM line: a Modelfile must name its base model or weights file")
    if raw_parameters:
        try:
            definition["parameters"] = type_parameters(raw_parameters, warnings)
        except ModelfileError as exc:
            raise ModelfileError("in PARAMETER: %s" % exc)
    return definition


def local_path(reference, base_dir=None):
    """The absolute path ``reference`` names on this host, or None when it is a model name.

    Like the CLI: ``~`` is expanded, relative paths are taken from the Modelfile's directory,
    and only something that exists is a path.
    """
    if not reference:
        return None
    candidate = os.path.expanduser(reference)
    if not os.path.isabs(candidate):
        candidate = os.path.join(base_dir or os.getcwd(), candidate)
    if os.path.exists(candidate):
        return os.path.abspath(candidate)
    return None


def _quote(text):
    if '"""' in text:
        raise ModelfileError('a value containing """ cannot be written into a Modelfile for this server')
    return '"""%s"""' % text


def render_modelfile(definition, blob_refs=None):
    """Modelfile text for servers before 0.5.5, which parse it themselves.

    ``blob_refs`` maps local paths to ``sha256:<hex>``: those servers accept ``@sha256:<hex>``
    for an uploaded blob, the form their own CLI used.
    """
    blob_refs = blob_refs or {}

    def ref(value):
        if value in blob_refs:
            return "@" + blob_refs[value]
        return value

    lines = ["FROM %s" % ref(definition["from"])]
    for adapter in definition.get("adapters") or []:
        lines.append("ADAPTER %s" % ref(adapter))
    for name in sorted(definition.get("parameters") or {}):
        value = definition["parameters"][name]
        values = value if isinstance(value, list) else [value]
        for item in values:
            text = item
            if isinstance(item, bool):
                text = "true" if item else "false"
            elif isinstance(item, str) and (item != item.strip() or not item):
                text = '"%s"' % item
            lines.append("PARAMETER %s %s" % (name, text))
    for field in ("template", "system"):
        if definition.get(field) is not None:
            lines.append("%s %s" % (field.upper(), _quote(definition[field])))
    for text in definition.get("license") or []:
        lines.append("LICENSE %s" % _quote(text))
    for message in definition.get("messages") or []:
        lines.append("MESSAGE %s %s" % (message["role"], _quote(message["content"])))
    return "\n".join(lines) + "\n"
