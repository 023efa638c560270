# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Documentation: rank_models.yml next to this file.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import math

from ansible.errors import AnsibleFilterError

from ansible_collections.llmops.ollama.plugins.module_utils._names import display_name, qualified_name
from ansible_collections.llmops.ollama.plugins.module_utils._selection import (
    RESULTS_SCHEMA,
    SELECTION_SCHEMA,
    SLOT_KEYS,
    MissingLibraryError,
    SelectionError,
    require_jsonschema,
    schema_problems,
)

_OPTIONS_SCHEMA = {
    "type": "object",
    "required": ["timestamp"],
    "properties": {"timestamp": {"type": "string", "format": "date-time"}},
}

_TITLE = "llmops.ollama.rank_models: invalid input; $ is the list of benchmark results"


def _mean(values):
    # fsum is exactly rounded, so the mean does not depend on the order of the runs; dividing
    # first keeps composites near the float limit from overflowing.
    return math.fsum(value / len(values) for value in values)


class _Model(object):
    """All runs of one model, averaged."""

    def __init__(self, results):
        # The smallest spelling, so that the output does not depend on the order of the runs.
        self.name = min(display_name(result["model"]) for result in results)
        self.key = qualified_name(self.name)
        self.coding = _mean([result["coding"] for result in results])
        self.general = _mean([result["general"] for result in results])
        self.average = self.coding / 2 + self.general / 2


def _best(models, taken, key):
    left = [model for model in models if model.key not in taken]
    if not left:
        return None
    winner = min(left, key=key)
    taken.add(winner.key)
    return winner.name


def rank_models(results, timestamp=None):
    """Turn benchmark results into the model_selection.json document; see rank_models.yml."""
    try:
        require_jsonschema("The filter llmops.ollama.rank_models")
        options = {} if timestamp is None else {"timestamp": timestamp}
        problems = schema_problems(options, _OPTIONS_SCHEMA, "") + schema_problems(results, RESULTS_SCHEMA, "$")
        if problems:
            raise SelectionError(_TITLE, problems)
    except (SelectionError, MissingLibraryError) as exc:
        raise AnsibleFilterError(str(exc))

    runs = {}
    for result in results:
        runs.setdefault(qualified_name(result["model"]), []).append(result)
    models = [_Model(group) for group in runs.values()]

    # Each slot gets a model the slots before it do not have; ties go to the better other
    # composite, then to the alphabetically first name.
    taken = set()
    slots = [
        _best(models, taken, lambda m: (-m.coding, -m.general, m.key)),
        _best(models, taken, lambda m: (-m.general, -m.coding, m.key)),
        _best(models, taken, lambda m: (-m.average, -m.coding, m.key)),
        None,
    ]
    document = {"timestamp": timestamp}
    document.update(zip(SLOT_KEYS, slots))

    problems = schema_problems(document, SELECTION_SCHEMA, "$")
    if problems:
        raise AnsibleFilterError(str(SelectionError("llmops.ollama.rank_models: internal error", problems)))
    return document


class FilterModule(object):
    def filters(self):
        return {"rank_models": rank_models}
