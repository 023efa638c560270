# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which loaded runner serves a model that /api/ps lists under another name.

PRIVATE to the collection: may change at any time. The server keys runners by weights file and
lists a shared runner under the name that loaded it (pitfall 10 of the API reference), so a model
built on the same weights as a loaded one may be served without a listing of its own.
``ollama_model`` imports this only when the model is listed neither by name nor by digest.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    modelfile_blobs,
    parse_show_parameters,
    weights_identity,
)

# The options the server's runner is started with; a difference in one forces a reload.
RUNNER_OPTIONS = ("num_ctx", "num_batch", "num_gpu", "main_gpu", "use_mmap", "num_thread")
DETAIL_KEYS = ("family", "parameter_size", "quantization_level")


def _effective_context(num_ctx, show):
    """num_ctx as the server runs it: capped at the context length the model was trained for."""
    info = show.get("model_info") or {}
    trained = info.get("%s.context_length" % info.get("general.architecture"))
    if isinstance(trained, int) and not isinstance(trained, bool) and 0 < trained < num_ctx:
        return trained
    return num_ctx


def _weights(show):
    """The model-layer blob and the adapters, which the server keys its runners by."""
    identity = weights_identity(show)
    if not identity or not identity.startswith("blob:"):
        return None
    return identity, sorted(modelfile_blobs(show.get("modelfile"))["adapter"])


def _same_runner_options(show, other_show, entry):
    """Whether the runner ``entry``, loaded for the model of ``other_show``, would serve the model
    of ``show`` without a reload.

    The server reloads a runner whose options (num_ctx...) differ from the request's
    (needsReload). The context the runner really has is in /api/ps (``context_length``); other
    options are compared only where both models set them, since the server's defaults are not
    known here.
    """
    mine = parse_show_parameters(show.get("parameters"))
    theirs = parse_show_parameters((other_show or {}).get("parameters"))
    for option in RUNNER_OPTIONS:
        if mine.get(option) is None:
            continue
        if option == "num_ctx" and entry.get("context_length") is not None:
            if _effective_context(mine["num_ctx"], show) != entry["context_length"]:
                return False
        elif theirs.get(option) is not None and theirs[option] != mine[option]:
            return False
    return True


def shared_runner(name, models, show):
    """The /api/ps entry, listed under another name, whose runner serves ``name``; or None.

    ``show(name)`` returns /api/show of a model (None when the server lacks it); it is asked only
    about runners whose details could match.
    """
    mine_show = show(name)
    mine = _weights(mine_show)
    if mine is None:
        return None
    details = (mine_show or {}).get("details") or {}
    for candidate in models:
        other = candidate.get("name") or candidate.get("model")
        theirs = candidate.get("details") or {}
        # Runners whose details differ cannot share our weights; skip asking about them.
        if not other or any(
            theirs.get(k) != details.get(k)
            for k in DETAIL_KEYS
            if details.get(k) is not None and theirs.get(k) is not None
        ):
            continue
        other_show = show(other)
        if _weights(other_show) == mine and _same_runner_options(mine_show, other_show, candidate):
            return candidate
    return None
