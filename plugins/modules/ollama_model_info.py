#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Ansible modules import after their documentation blocks (validate-modules requires it).

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: ollama_model_info
short_description: Read the version, local models and loaded models of an Ollama server
version_added: 0.1.0
description:
  - Reports the server version, the models on the server (name, digest, size, kind,
    capabilities, details, parameters, modification time) and the models in memory (size,
    share in GPU memory, expiry, whether kept for ever).
  - Never changes anything.
author:
  - llmops.ollama contributors (@llmops)
extends_documentation_fragment:
  - llmops.ollama.connection
  - llmops.ollama.connection.actiongroup
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: N/A
  idempotent:
    description: When run twice with the same arguments, the second run reports no change.
    support: full
  platform:
    platforms: posix
options:
  name:
    description:
      - Only report this model (in O(name) form, compared with defaults applied and any case).
    type: str
  show:
    description:
      - Ask C(/api/show) about each reported model, for its parameters, and its kind and
        capabilities on servers before 0.30.
      - V(false) saves that request per model when only names, sizes, digests and what is loaded
        matter. RV(models[].parameters) is then null, and so are
        RV(models[].kind) and RV(models[].capabilities) on servers before 0.30, whose
        C(/api/tags) does not list capabilities.
    type: bool
    default: true
notes:
  - Each reported local model costs one C(/api/show) request unless O(show=false); use O(name) on
    servers with many models.
seealso:
  - module: llmops.ollama.ollama_model
"""

EXAMPLES = r"""
---
- name: Read what the server has
  llmops.ollama.ollama_model_info:
  register: ollama

- name: Show the loaded models
  ansible.builtin.debug:
    msg: "{{ item.name }}: {{ item.gpu_percent }}% GPU, forever={{ item.forever }}"
  loop: "{{ ollama.loaded }}"

- name: Look at one model on another server
  llmops.ollama.ollama_model_info:
    name: nomic-embed-text
    url: http://gpu01.example.com:11434
  register: embed_model
"""

RETURN = r"""
version:
  description: Version the server reports.
  returned: always
  type: str
  sample: 0.32.15
models:
  description: Models on the server, newest first.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Display name.
      type: str
      sample: llama3.1:8b
    digest:
      description: Manifest digest.
      type: str
      sample: 46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e
    size:
      description: Size on disk in bytes.
      type: int
      sample: 4920753328
    kind:
      description: V(completion) or V(embedding); null when not known (see O(show)).
      type: str
      sample: completion
    capabilities:
      description: Capabilities (null for servers before 0.6.4).
      type: list
      elements: str
      sample: [completion, tools]
    details:
      description: Format, family, parameter size, quantization level, parent model.
      type: dict
      sample: {"family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_K_M"}
    parameters:
      description: Stored parameters, typed; null with O(show=false).
      type: dict
      sample: {"num_ctx": 32768}
    modified_at:
      description: When the model was last pulled or created.
      type: str
      sample: "2026-11-22T05:00:00.123456789Z"
loaded:
  description: Models in memory.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Name of the model that caused the load.
      type: str
      sample: llama3.1:8b
    size:
      description: Bytes in memory.
      type: int
      sample: 6654289920
    size_vram:
      description: Bytes of it in GPU memory.
      type: int
      sample: 6654289920
    gpu_percent:
      description: Share in GPU memory, 0-100.
      type: int
      sample: 100
    expires_at:
      description: When the server will unload it.
      type: str
      sample: "2318-11-14T05:12:03.123456789Z"
    forever:
      description: Whether it is kept for ever (expiry more than 20 years ahead).
      type: bool
      sample: true
    context_length:
      description: Context size of the runner (servers from 0.10.0).
      type: int
      sample: 32768
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmops.ollama.plugins.module_utils._api import (
    OllamaClient,
    OllamaError,
    connection_argument_spec,
    redact_token,
)
from ansible_collections.llmops.ollama.plugins.module_utils._names import InvalidModelName, same_model
from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    detect_kind,
    gpu_percent,
    is_forever,
    parse_show_parameters,
)


def _matches(entry, wanted):
    if wanted is None:
        return True
    try:
        return same_model(entry.get("name") or entry.get("model") or "", wanted)
    except InvalidModelName:
        return False


def gather(client, name=None, show_models=True):
    version = client.version()
    models = []
    for entry in client.list_models():
        if not _matches(entry, name):
            continue
        show = (client.show(entry.get("name") or entry.get("model")) or {}) if show_models else {}
        capabilities = show.get("capabilities", entry.get("capabilities"))
        known = show_models or capabilities is not None
        models.append(
            {
                "name": entry.get("name") or entry.get("model"),
                "digest": entry.get("digest"),
                "size": entry.get("size"),
                "kind": detect_kind(show, entry) if known else None,
                "capabilities": sorted(capabilities) if capabilities is not None else None,
                "details": entry.get("details") or show.get("details"),
                "parameters": parse_show_parameters(show.get("parameters")) if show_models else None,
                "modified_at": entry.get("modified_at"),
            }
        )
    loaded = []
    for entry in client.running():
        if not _matches(entry, name):
            continue
        loaded.append(
            {
                "name": entry.get("name") or entry.get("model"),
                "size": entry.get("size"),
                "size_vram": entry.get("size_vram"),
                "gpu_percent": gpu_percent(entry.get("size"), entry.get("size_vram")),
                "expires_at": entry.get("expires_at"),
                "forever": is_forever(entry.get("expires_at")),
                "context_length": entry.get("context_length"),
            }
        )
    return {"version": version, "models": models, "loaded": loaded}


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(name=dict(type="str"), show=dict(type="bool", default=True))
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    name = module.params["name"]
    try:
        if name is not None:
            same_model(name, name)
        client = OllamaClient.from_params(module.params)
        facts = gather(client, name, module.params["show"])
    except (InvalidModelName, ValueError) as exc:
        module.fail_json(msg="Invalid request: %s" % redact_token(exc, module.params.get("api_token")))
    except OllamaError as exc:
        module.fail_json(msg=str(exc), status=exc.status)
    module.exit_json(changed=False, **facts)


if __name__ == "__main__":
    main()
