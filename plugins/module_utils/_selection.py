# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Schema of ``model_selection.json`` and the validation the slot filters share.

PRIVATE to this collection: it may change at any time without notice.

Used on the controller only, by the ``model_slots`` and ``rank_models`` filters; no module
imports it. That is why it may use jsonschema: the import is guarded, so importing this file
never fails, and a filter reports the missing library only when it runs.
``docs/model_selection.schema.json`` is ``SELECTION_SCHEMA`` written out for users; a unit test
keeps the two equal.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections
import difflib
import math
import re

from ansible_collections.llmops.ollama.plugins.module_utils._names import name_problem

try:
    import jsonschema
except ImportError:
    jsonschema = None

SLOT_KEYS = ("slot1_coding", "slot2_general", "slot3_backup", "slot4_experimental")
ROLES = ("coding", "general", "backup", "experimental")
FALLBACK_ROLES = ROLES[:3]
DEFAULT_VARIANTS = {
    "coding": {"name": "coding-primary", "num_ctx": 32768},
    "general": {"name": "general-primary", "num_ctx": 16384},
    "backup": {"name": "backup", "num_ctx": 16384},
    "experimental": {"name": "experimental", "num_ctx": 8192},
}

MODEL_NAME_FORMAT = "ollama-model-name"
FINITE_NUMBER_FORMAT = "finite-number"
DATE_TIME_EXAMPLE = "2025-01-15T10:30:00Z"

# Matches keys that start like a slot key but are none of the four. Without it a misspelt
# slot (slot1_codeing) would be an allowed extra key and its slot would fall back silently.
# Character classes instead of an inline (?i) flag keep the pattern valid ECMA 262 for other validators.
SLOT_TYPO_PATTERN = r"^(?!(slot1_coding|slot2_general|slot3_backup|slot4_experimental)$)\s*[Ss][Ll][Oo][Tt]"

_MODEL_NAME_OR_NULL = {"type": ["string", "null"], "format": MODEL_NAME_FORMAT}

SELECTION_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "$id": "https://github.com/llmops/ollama/blob/main/docs/model_selection.schema.json",
    "title": "model_selection.json",
    "description": (
        "The models chosen for the four slots of the llmops.ollama.models role, written after benchmarks "
        "(see the llmops.ollama.rank_models filter) and read by the llmops.ollama.model_slots filter. "
        "A slot that is null or absent uses the fallback model of that slot. "
        "Model names follow Ollama's naming rules, [host/][namespace/]model[:tag]; the custom format "
        "'ollama-model-name' stands for them. Other keys are allowed, "
        "except keys that begin with 'slot' and are not one of the four slot keys."
    ),
    "type": "object",
    "required": ["timestamp"],
    "properties": {
        "timestamp": {
            "description": "When the selection was made, an RFC 3339 date-time with a time zone.",
            "type": "string",
            "format": "date-time",
        },
        "slot1_coding": dict(_MODEL_NAME_OR_NULL, description="Slot 1, primary coding: highest coding composite."),
        "slot2_general": dict(
            _MODEL_NAME_OR_NULL,
            description="Slot 2, primary general: highest general composite among the other models.",
        ),
        "slot3_backup": dict(_MODEL_NAME_OR_NULL, description="Slot 3, backup: best average of both composites."),
        "slot4_experimental": dict(
            _MODEL_NAME_OR_NULL,
            description="Slot 4, experimental: set by hand; the slot4_model override wins over it.",
        ),
    },
    "patternProperties": {
        SLOT_TYPO_PATTERN: {
            "description": "A key that looks like a slot but is none of the four is an error, never an extra key.",
            "not": {},
        },
    },
    "additionalProperties": True,
}

# Input of rank_models. Several results for one model are runs that get averaged, so the
# schema allows repeated names.
RESULTS_SCHEMA = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "rank_models input: benchmark results",
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "required": ["model", "coding", "general"],
        "properties": {
            "model": {"type": "string", "format": MODEL_NAME_FORMAT},
            "coding": {"type": "number", "format": FINITE_NUMBER_FORMAT},
            "general": {"type": "number", "format": FINITE_NUMBER_FORMAT},
        },
        "additionalProperties": True,
    },
}

_DATE_TIME = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(?:[Zz]|([+-])([0-9]{2}):([0-9]{2}))"
)
_ALLOWED_SCHEMES = ("http", "https")
_TYPE_WORDS = {
    "object": "an object (mapping)",
    "array": "an array (list)",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "null": "null",
}
_SHOWN_CHARS = 60


class MissingLibraryError(Exception):
    """A controller-side Python library the filter needs is not installed."""


class Problem(collections.namedtuple("Problem", ["root", "path", "expected", "found"])):
    """One validation problem: where (``root`` + ``path``), what was expected, what was found."""

    __slots__ = ()

    def location(self):
        text = self.root
        for part in self.path:
            if isinstance(part, int):
                text += "[%d]" % part
            elif re.match(r"^[A-Za-z_][A-Za-z0-9_-]*$", part):
                text += ("." if text else "") + part
            else:
                text += "[%r]" % (part,)
        return text or "$"

    def sort_key(self):
        # The document ($) before the options; integers numerically, so $[2] comes before $[10].
        return (
            self.root != "$",
            tuple((0, p, "") if isinstance(p, int) else (1, 0, p) for p in self.path),
            self.expected,
            self.found,
        )

    def __str__(self):
        return "%s: expected %s, found %s" % (self.location(), self.expected, self.found)


class SelectionError(ValueError):
    """Every problem found in one call, in one message, so a user fixes the input in one go."""

    def __init__(self, title, problems):
        self.problems = sorted(set(problems), key=Problem.sort_key)
        count = len(self.problems)
        lines = ["%s (%d problem%s):" % (title, count, "" if count == 1 else "s")]
        lines.extend("- " + str(problem) for problem in self.problems)
        super(SelectionError, self).__init__("\n".join(lines))


def require_jsonschema(what):
    if jsonschema is None:
        raise MissingLibraryError(
            "%s needs the Python library jsonschema on the Ansible controller, and it is not installed. "
            "Install it into the Python that runs Ansible: pip install jsonschema" % what
        )


def date_time_problem(value):
    """Why ``value`` is not an RFC 3339 date-time (section 5.6, with a time zone), or None."""
    if not isinstance(value, str):
        return "it is not a string"
    match = _DATE_TIME.fullmatch(value)
    if not match:
        return "it is not in the form YYYY-MM-DDThh:mm:ss[.fraction] followed by Z or +hh:mm or -hh:mm"
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    if not 1 <= month <= 12:
        return "month %02d does not exist" % month
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    if not 1 <= day <= days:
        return "day %02d does not exist in %04d-%02d" % (day, year, month)
    if hour > 23 or minute > 59 or second > 60:
        return "time %02d:%02d:%02d does not exist" % (hour, minute, second)
    offset = 0
    if match.group(7):
        offset_hour, offset_minute = int(match.group(8)), int(match.group(9))
        if offset_hour > 23 or offset_minute > 59:
            return "time zone offset %s%02d:%02d does not exist" % (match.group(7), offset_hour, offset_minute)
        offset = (offset_hour * 60 + offset_minute) * (1 if match.group(7) == "+" else -1)
    # A leap second is inserted at the end of a UTC day only.
    if second == 60 and (hour * 60 + minute - offset) % 1440 != 1439:
        return "second 60 (a leap second) exists only at 23:59 UTC"
    return None


def model_name_problem(value):
    """Why ``value`` is not a model name the collection accepts, or None."""
    problem = name_problem(value)
    if problem:
        prefix = "%r is not a valid Ollama model name: " % (value,)
        return problem.replace(prefix, "", 1) if problem.startswith(prefix) else problem
    scheme_at = value.find("://")
    # _names.py skips the scheme like the server does; names end up in Modelfiles and unit
    # files, so anything but a plain http(s) scheme is refused here.
    if scheme_at != -1 and value[:scheme_at].lower() not in _ALLOWED_SCHEMES:
        return "its scheme %r is not http or https" % (value[:scheme_at],)
    return None


def describe(value):
    """A short, bounded description of a value for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean %s" % ("true" if value else "false")
    if isinstance(value, int):
        if value.bit_length() > 64:
            return "an integer of %d bits" % value.bit_length()
        return "integer %d" % value
    if isinstance(value, float):
        return "number %r" % value
    if isinstance(value, str):
        if len(value) > _SHOWN_CHARS:
            return "string %r... (%d characters)" % (value[:_SHOWN_CHARS], len(value))
        return "string %r" % (value,)
    if isinstance(value, dict):
        return "object (mapping) with %d key%s" % (len(value), "" if len(value) == 1 else "s")
    if isinstance(value, (list, tuple)):
        return "array (list) of %d item%s" % (len(value), "" if len(value) == 1 else "s")
    return "a value of Python type %s" % type(value).__name__


def _shorten(text, limit=200):
    return text if len(text) <= limit else text[:limit] + "..."


def _did_you_mean(key, choices):
    close = difflib.get_close_matches(str(key).strip().lower(), choices, n=1, cutoff=0.6)
    return " (did you mean %r?)" % close[0] if close else ""


def _format_checker():
    checker = jsonschema.FormatChecker(formats=())
    # jsonschema's own date-time check silently passes everything unless rfc3339-validator is
    # installed, so the collection brings its own.
    checker.checks("date-time")(lambda value: not isinstance(value, str) or date_time_problem(value) is None)
    checker.checks(MODEL_NAME_FORMAT)(lambda value: not isinstance(value, str) or model_name_problem(value) is None)
    checker.checks(FINITE_NUMBER_FORMAT)(lambda value: not isinstance(value, float) or math.isfinite(value))
    return checker


def _format_problem(fmt, value):
    if fmt == "date-time":
        return (
            "an RFC 3339 date-time with a time zone, such as %s" % DATE_TIME_EXAMPLE,
            "%s (%s)" % (describe(value), date_time_problem(value)),
        )
    if fmt == MODEL_NAME_FORMAT:
        return (
            "an Ollama model name such as llama3.1:8b ([host/][namespace/]model[:tag])",
            "%s (%s)" % (describe(value), _shorten(model_name_problem(value))),
        )
    return "a finite number", describe(value)


def _problems_from_error(error, root):
    path = tuple(error.absolute_path)
    instance = error.instance
    kind = error.validator
    if kind == "type":
        types = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return [Problem(root, path, " or ".join(_TYPE_WORDS.get(t, t) for t in types), describe(instance))]
    if kind == "format":
        expected, found = _format_problem(error.validator_value, instance)
        return [Problem(root, path, expected, found)]
    if kind == "required":
        return [
            Problem(root, path + (key,), "this required key", "no such key")
            for key in error.validator_value
            if key not in instance
        ]
    if kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        return [
            Problem(
                root,
                path + (key,),
                "one of the keys %s" % ", ".join(allowed),
                "an unknown key" + _did_you_mean(key, allowed),
            )
            for key in instance
            if key not in allowed
        ]
    if kind == "not" and tuple(error.relative_schema_path)[:1] == ("patternProperties",):
        return [
            Problem(
                root,
                path,
                "one of the slot keys %s" % ", ".join(SLOT_KEYS),
                "an unknown slot key%s; a misspelt slot must not fall back silently"
                % _did_you_mean(path[-1], list(SLOT_KEYS)),
            )
        ]
    if kind == "minItems":
        return [Problem(root, path, "at least %d item" % error.validator_value, describe(instance))]
    if kind == "minimum":
        return [Problem(root, path, "a number of at least %s" % error.validator_value, describe(instance))]
    return [Problem(root, path, "a value matching the schema (%s)" % _shorten(error.message), describe(instance))]


def schema_problems(document, schema, root):
    """Every way ``document`` breaks ``schema``, as Problems whose paths start at ``root``.

    ``root`` is ``$`` for a JSON document and empty for filter options, so that paths read
    ``$.slot1_coding`` and ``fallback.coding``.
    """
    require_jsonschema("this filter")
    validator = jsonschema.Draft7Validator(schema, format_checker=_format_checker())
    problems = []
    for error in validator.iter_errors(document):
        problems.extend(_problems_from_error(error, root))
    return problems
