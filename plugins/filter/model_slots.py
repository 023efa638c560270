# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Documentation: model_slots.yml next to this file.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.module_utils._names import qualified_name
from ansible_collections.llmops.ollama.plugins.module_utils._selection import (
    DEFAULT_VARIANTS,
    FALLBACK_ROLES,
    MODEL_NAME_FORMAT,
    ROLES,
    SELECTION_SCHEMA,
    SLOT_KEYS,
    MissingLibraryError,
    Problem,
    SelectionError,
    describe,
    require_jsonschema,
    schema_problems,
)

_NAME_OR_NULL = {"type": ["string", "null"], "format": MODEL_NAME_FORMAT}

OPTIONS_SCHEMA = {
    "type": "object",
    "properties": {
        "fallback": {
            "type": ["object", "null"],
            "properties": dict((role, _NAME_OR_NULL) for role in FALLBACK_ROLES),
            "additionalProperties": False,
        },
        "slot4_model": _NAME_OR_NULL,
        "variants": {
            "type": ["object", "null"],
            "properties": dict(
                (
                    role,
                    {
                        "type": "object",
                        "properties": {
                            "name": {"type": "string", "format": MODEL_NAME_FORMAT},
                            "num_ctx": {"type": "integer", "minimum": 1},
                        },
                        "additionalProperties": False,
                    },
                )
                for role in ROLES
            ),
            "additionalProperties": False,
        },
    },
}

_TITLE = "llmops.ollama.model_slots: invalid input; $ is the model_selection.json document"


def _mapping_or_empty(value):
    return value if isinstance(value, Mapping) else {}


def _variants(variants):
    merged = {}
    for role in ROLES:
        merged[role] = dict(DEFAULT_VARIANTS[role])
        merged[role].update(_mapping_or_empty(_mapping_or_empty(variants).get(role)))
    return merged


def _cross_problems(selection, fallback, variants, problems):
    """Problems no schema can see: a slot with no model anywhere, two slots sharing one custom name."""
    bad_paths = set(problem.path for problem in problems if problem.root == "")
    found = []
    for number, (key, role) in enumerate(zip(SLOT_KEYS, FALLBACK_ROLES), 1):
        if selection.get(key) is None and not fallback.get(role) and ("fallback", role) not in bad_paths:
            why = "there is no model_selection.json" if not selection else "model_selection.json names none"
            found.append(
                Problem(
                    "",
                    ("fallback", role),
                    "a model name for slot %d (%s)" % (number, why),
                    describe(fallback.get(role)) if role in fallback else "no such key",
                )
            )
    owner = {}
    for number, role in enumerate(ROLES, 1):
        name = variants[role]["name"]
        if ("variants", role, "name") in bad_paths or not isinstance(name, str):
            continue
        key = qualified_name(name)
        if key in owner:
            found.append(
                Problem(
                    "",
                    ("variants", role, "name"),
                    "a custom model name no other slot uses",
                    "%s, the name of slot %d (%s)" % (describe(name), owner[key][0], owner[key][1]),
                )
            )
        else:
            owner[key] = (number, role)
    return found


def _document_problems(selection):
    if isinstance(selection, (str, bytes)):
        return [Problem("$", (), "the parsed document, an object (mapping)", "a string; parse it with from_json")]
    if isinstance(selection, Mapping):
        if not selection:
            return []
        # JSON has only string keys; a YAML mapping may not, and the schema's key patterns need strings.
        odd_keys = [key for key in selection if not isinstance(key, str)]
        if odd_keys:
            return [Problem("$", (), "an object with string keys", "key %s" % describe(key)) for key in odd_keys]
    return schema_problems(selection, SELECTION_SCHEMA, "$")


def model_slots(selection, fallback=None, slot4_model="", variants=None):
    """Assign a base model and a custom variant to each slot; see model_slots.yml."""
    if selection is None:
        selection = {}
    options = {
        "fallback": fallback,
        # "-e slot4_model=" arrives as an empty string and means "no override".
        "slot4_model": None if slot4_model == "" else slot4_model,
        "variants": variants,
    }
    fallback = _mapping_or_empty(fallback)
    merged_variants = _variants(variants)
    try:
        require_jsonschema("The filter llmops.ollama.model_slots")
        problems = schema_problems(options, OPTIONS_SCHEMA, "") + _document_problems(selection)
        if isinstance(selection, Mapping):
            problems.extend(_cross_problems(selection, fallback, merged_variants, problems))
        if problems:
            raise SelectionError(_TITLE, problems)
    except (SelectionError, MissingLibraryError) as exc:
        raise AnsibleFilterError(str(exc))

    slots = []
    for number, (key, role) in enumerate(zip(SLOT_KEYS, ROLES), 1):
        if role == "experimental" and options["slot4_model"] is not None:
            base_model, source = options["slot4_model"], "override"
        elif selection.get(key) is not None:
            base_model, source = selection[key], "selection"
        elif role in FALLBACK_ROLES:
            base_model, source = fallback[role], "fallback"
        else:
            continue
        variant = merged_variants[role]
        slots.append(
            {
                "slot": number,
                "role": role,
                "name": variant["name"],
                "base_model": base_model,
                "num_ctx": int(variant["num_ctx"]),
                "source": source,
            }
        )
    return slots


class FilterModule(object):
    def filters(self):
        return {"model_slots": model_slots}
