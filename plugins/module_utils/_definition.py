# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A created model's definition: built from the task, and compared with what the server has.

PRIVATE to the collection: may change at any time. ``ollama_model`` imports this only for tasks
that define a model (``modelfile``, ``modelfile_path`` or ``from``): a task that pulls or loads
a model never compiles it, nor the Modelfile parser it uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible_collections.llmops.ollama.plugins.module_utils._modelfile import (
    local_path,
    parse_modelfile,
    type_parameters,
)
from ansible_collections.llmops.ollama.plugins.module_utils._names import InvalidModelName, display_name
from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    modelfile_blobs,
    parse_show_parameters,
    weights_identity,
)

GGUF_MAGIC = b"GGUF"


class DefinitionError(ValueError):
    """A definition that cannot be built into a model; raised before any request."""


def _require_gguf(instruction, written, path):
    """Refuse a local file that is not GGUF weights before anything is sent.

    The file would be uploaded to the server, which may be another host: a typo or a path to a
    secret must not copy an arbitrary file of the managed node there.
    """
    try:
        with open(path, "rb") as stream:
            magic = stream.read(4)
    except OSError as exc:
        raise DefinitionError("cannot read %s %s: %s" % (instruction, written, exc))
    if magic != GGUF_MAGIC:
        raise DefinitionError(
            '%s %s is not a GGUF file (it does not start with "GGUF"); point %s at a .gguf file%s'
            % (instruction, written, instruction, " or a model name" if instruction == "FROM" else "")
        )


def build_definition(params, warnings):
    """The typed create definition from the task's modelfile, modelfile_path or structured options."""
    base_dir = None
    if params["modelfile"] is not None:
        definition = parse_modelfile(params["modelfile"], warnings)
    elif params["modelfile_path"] is not None:
        path = params["modelfile_path"]
        try:
            with open(path, "rb") as stream:
                text = stream.read().decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise DefinitionError("cannot read modelfile_path %s: %s" % (path, exc))
        definition = parse_modelfile(text, warnings)
        base_dir = os.path.dirname(os.path.abspath(path))
    else:
        definition = {"from": params["from"]}
        if params["parameters"]:
            definition["parameters"] = type_parameters(params["parameters"], warnings)
        for field in ("system", "template", "license", "adapters"):
            if params[field] is not None:
                definition[field] = params[field]
        if params["messages"]:
            definition["messages"] = [{"role": m["role"], "content": m["content"]} for m in params["messages"]]
    if params["quantize"]:
        definition["quantize"] = params["quantize"]
    if definition.get("draft"):
        raise DefinitionError("DRAFT models are not supported by this module")

    definition["from_path"] = local_path(definition["from"], base_dir)
    if definition["from_path"] and os.path.isdir(definition["from_path"]):
        raise DefinitionError(
            "FROM %s is a directory; this module uploads single GGUF files, point FROM at the .gguf file"
            % definition["from"]
        )
    if definition["from_path"]:
        _require_gguf("FROM", definition["from"], definition["from_path"])
    else:
        try:
            display_name(definition["from"])
        except InvalidModelName as exc:
            raise DefinitionError("FROM is neither an existing file nor a valid model name: %s" % exc)
    adapter_paths = []
    for adapter in definition.get("adapters") or []:
        path = local_path(adapter, base_dir)
        if not path or not os.path.isfile(path):
            raise DefinitionError("ADAPTER %s is not a file on this host" % adapter)
        _require_gguf("ADAPTER", adapter, path)
        adapter_paths.append(path)
    definition["adapter_paths"] = adapter_paths
    return definition


# ---------------------------------------------------------------------------------------------
# Comparison of a created model with its definition


def weight_reasons(definition, current_show, base_show, file_digest, blob_exists):
    """Reasons why the weights of the model of ``current_show`` are not those ``definition`` names.

    ``file_digest(path)`` gives ``sha256:<hex>`` of a local file and ``blob_exists(digest)`` asks the
    server whether it has that blob.
    """
    reasons = []
    current = modelfile_blobs(current_show.get("modelfile"))
    path = definition["from_path"]
    if path:
        digest = file_digest(path)
        # Servers from 0.30 rewrite GGUF files on create, so the model layer may carry another
        # digest than the file; the uploaded blob still being there means the same file was used.
        if digest.split(":", 1)[1] not in current["from"] and not blob_exists(digest):
            reasons.append("weights file %s changed" % os.path.basename(path))
    elif base_show is not None:
        wanted = weights_identity(base_show)
        have = weights_identity(current_show)
        if wanted and have and wanted != have:
            reasons.append("base model %s has new weights" % definition["from"])
    for adapter in definition["adapter_paths"]:
        digest = file_digest(adapter)
        if digest.split(":", 1)[1] not in current["adapter"] and not blob_exists(digest):
            reasons.append("adapter %s changed" % os.path.basename(adapter))
    return reasons


def _normal_value(value):
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, (int, float)):
        return ("number", float(value))
    if isinstance(value, list):
        return ("list", tuple(sorted(repr(_normal_value(v)) for v in value)))
    return ("text", str(value))


def normal_parameters(parameters):
    """Parameters as a comparable set: order and int/float spelling do not matter."""
    return dict((key, _normal_value(value)) for key, value in (parameters or {}).items())


def expected_parameters(desired, base_parameters):
    """The server merges parameters: the new keys win, the base model's others are kept."""
    merged = dict(base_parameters or {})
    merged.update(desired or {})
    return merged


def definition_differences(definition, current_show, base_show=None, base_known=False):
    """Reasons (strings) why the model built from ``definition`` differs from ``current_show``.

    ``definition`` holds the typed create fields (``parameters``, ``template``, ``system``,
    ``messages``, ``license``, ``quantize``). Fields the definition leaves out are inherited from
    the base model, so they are compared with the base when it is known (``base_known``) and
    otherwise not at all. Weights are compared elsewhere (they need blob digests).
    """
    reasons = []
    current_params = parse_show_parameters(current_show.get("parameters"))
    desired_params = definition.get("parameters") or {}
    if base_known:
        base_params = parse_show_parameters((base_show or {}).get("parameters"))
        wanted = expected_parameters(desired_params, base_params)
        if normal_parameters(wanted) != normal_parameters(current_params):
            changed = sorted(
                set(
                    key
                    for key in set(wanted) | set(current_params)
                    if normal_parameters({key: wanted.get(key)}) != normal_parameters({key: current_params.get(key)})
                )
            )
            reasons.append("parameters differ (%s)" % ", ".join(changed))
    else:
        current_normal = normal_parameters(current_params)
        changed = sorted(
            key for key, value in normal_parameters(desired_params).items() if current_normal.get(key) != value
        )
        if changed:
            reasons.append("parameters differ (%s)" % ", ".join(changed))

    for field in ("template", "system"):
        if definition.get(field) is not None:
            wanted = definition[field]
        elif base_known:
            wanted = (base_show or {}).get(field) or ""
        else:
            continue
        if (current_show.get(field) or "") != wanted:
            reasons.append("%s differs" % field)

    wanted_messages = definition.get("messages") or None
    if wanted_messages is None and base_known:
        wanted_messages = (base_show or {}).get("messages") or []
    if wanted_messages is not None:
        current_messages = [
            {"role": m.get("role"), "content": m.get("content")} for m in current_show.get("messages") or []
        ]
        wanted_messages = [{"role": m.get("role"), "content": m.get("content")} for m in wanted_messages]
        if current_messages != wanted_messages:
            reasons.append("messages differ")

    licenses = definition.get("license")
    if licenses:
        current_license = current_show.get("license") or ""
        if isinstance(current_license, list):
            current_license = "\n".join(current_license)
        if any(text not in current_license for text in licenses):
            reasons.append("license differs")

    quantize = definition.get("quantize")
    if quantize:
        level = ((current_show.get("details") or {}).get("quantization_level") or "").lower()
        if level != quantize.lower():
            reasons.append("quantization differs (%s, want %s)" % (level or "unknown", quantize))
    return reasons
