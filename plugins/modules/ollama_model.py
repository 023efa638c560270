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
module: ollama_model
short_description: Make one Ollama model pulled, created, loaded, unloaded or removed
version_added: 0.1.0
description:
  - Makes one model on an Ollama server be what the task says - pulled from a registry, or
    created from a Modelfile or structured options, kept in memory with a given keep-alive,
    unloaded, or removed.
  - The module reads the model's current state, reduces it to a small view, compares it with
    the wanted one and only then writes. C(changed) comes from comparing the views before and
    after, never from the fact that a request was sent.
  - Created models are compared, not timestamped - parameters (as a set), template, system
    prompt, messages, license, quantization, and the identity of the base model's weights, so a
    base model re-pulled with new weights causes a rebuild. The weights are identified by the
    model-layer blob that C(/api/show) names in its Modelfile (C(FROM .../sha256-<hex>)).
  - Modelfiles are parsed on the managed node, parameters are typed (for example C(num_ctx)
    an integer, C(stop) a list); an unknown parameter or a value of the wrong type fails before
    any request. Servers from Ollama 0.5.5 get the structured create request, older ones the
    Modelfile text.
author:
  - llmops.ollama contributors (@llmops)
extends_documentation_fragment:
  - llmops.ollama.connection
  - llmops.ollama.connection.actiongroup
  - ansible.builtin.action_common_attributes
attributes:
  check_mode:
    support: full
    details:
      - Sends no write request. With O(pull=always) it cannot know whether the registry has a
        newer version, so it predicts a change.
  diff_mode:
    support: full
    details:
      - Shows the digest, parameters, template, system prompt and loaded state before and after.
  idempotent:
    description: When run twice with the same arguments, the second run reports no change.
    support: partial
    details:
      - O(pull=always) reports a change only when the local digest changed.
      - A finite O(keep_alive) is refreshed (and reported as a load) when the time left differs
        from it by more than a minute.
  platform:
    platforms: posix
options:
  name:
    description:
      - Model name, V([host[:port]/namespace/]model[:tag]); the tag defaults to V(latest).
      - Names are compared the way the server compares them (defaults applied, case-insensitive).
    type: str
    required: true
  state:
    description:
      - V(present) - the model exists (pulled or created).
      - V(absent) - the model is unloaded, then deleted.
      - V(loaded) - the model exists and is in memory with the O(keep_alive) asked for.
      - V(unloaded) - the model is not in memory (whether it exists or not); nothing is pulled.
    type: str
    choices: [present, absent, loaded, unloaded]
    default: present
  pull:
    description:
      - V(missing) pulls the model only when it is not on the server.
      - V(always) asks the registry every time; the task reports a change only when the local
        digest changed.
      - For a created model this applies to a base model given by name - V(always) re-pulls
        it before comparing, so new upstream weights cause a rebuild.
    type: str
    choices: [missing, always]
    default: missing
  insecure:
    description:
      - Allow a plain-HTTP private registry. Never needed for the public registry.
    type: bool
    default: false
  modelfile:
    description:
      - Modelfile text to create the model from. Every instruction of the Ollama Modelfile is
        understood, including triple-quoted multi-line C(TEMPLATE) and C(SYSTEM).
      - A local GGUF file in C(FROM) or C(ADAPTER) is uploaded to the server as a blob; relative
        paths are taken from the current directory. A file that does not start with the GGUF
        magic bytes is refused before any request, so no other file of the managed node is sent.
      - Mutually exclusive with O(modelfile_path) and the structured options.
    type: str
  modelfile_path:
    description:
      - Path of a Modelfile on the managed node; relative paths inside it are taken from its
        directory.
    type: path
  from:
    description:
      - Base model name, or path of a local GGUF file, for a model defined by structured options.
    type: str
  parameters:
    description:
      - 'Runtime parameters, for example C({"num_ctx": 32768, "temperature": 0.2, "stop": ["<|im_end|>"]}).'
      - Values are checked and typed like Modelfile C(PARAMETER) lines; unknown names fail, and
        deprecated ones are dropped with a warning.
      - Parameters of the base model that are not named here are kept, as the server does.
    type: dict
  system:
    description: System prompt.
    type: str
  template:
    description: Prompt template (Go template syntax).
    type: str
  messages:
    description: Seed conversation.
    type: list
    elements: dict
    suboptions:
      role:
        description: Who speaks.
        type: str
        required: true
        choices: [system, user, assistant]
      content:
        description: What is said.
        type: str
        required: true
  license:
    description: License texts.
    type: list
    elements: str
  adapters:
    description: Paths of local LoRA adapter files (GGUF) on the managed node.
    type: list
    elements: path
  quantize:
    description:
      - Quantize the created model, for example V(q4_K_M) or V(q8_0). Only for F16/F32 sources.
    type: str
  keep_alive:
    description:
      - How long the model stays in memory for O(state=loaded) - a number of seconds, V(-1) (or
        any negative value) for ever, or a duration such as V(24h), V(90m) or V(1h30m) (no days).
      - The string V("-1"), as YAML or C(-e) may produce, is taken as the number.
    type: raw
    default: -1
  kind:
    description:
      - How to load the model. V(auto) recognises embedding models from the server's
        capabilities (or, for servers before 0.6.4, from C(<arch>.pooling_type) in C(model_info))
        and loads them through the embed API; others through generate.
    type: str
    choices: [auto, completion, embedding]
    default: auto
  require_gpu:
    description:
      - With O(state=loaded), fail when the model is not entirely in GPU memory.
    type: bool
    default: false
  stall_timeout:
    description:
      - Seconds a pull, create or blob upload may go without progress before it fails.
      - There is no limit on the total time, since a large pull may rightly take an hour.
      - V(0) waits for ever.
    type: int
    default: 300
  progress_path:
    description:
      - File on the managed node that the module rewrites (atomically, at most once a second)
        with a JSON progress record C({model, status, completed, total, percent, rate, updated})
        during a pull or create.
    type: path
notes:
  - At most three API requests are made when nothing has to change. A pulled model reads
    C(/api/tags) and C(/api/show), and C(/api/ps) for O(state=loaded). A created model reads
    C(/api/show) of itself and of its base model, then C(/api/ps) for O(state=loaded) (which
    gives its digest) or C(/api/tags) otherwise; the list is also read when a loaded model runs
    under another name (a runner it shares).
  - For a created model whose C(FROM) is a local GGUF file, the file is hashed on every run.
  - A model that is loaded when it is rebuilt keeps serving while its new definition is built
    under the name C(<name>-llmops-candidate); only then is it unloaded, the candidate copied onto
    its name and deleted, and the model loaded again. If the create fails, the previous model is
    unchanged and was never unloaded. A name with no room for the suffix is unloaded first and
    rebuilt in place, with a warning.
seealso:
  - module: llmops.ollama.ollama_model_info
  - name: Ollama API
    description: The HTTP API this module uses.
    link: https://github.com/ollama/ollama/blob/main/docs/api.md
  - name: Modelfile reference
    description: The instructions O(modelfile) understands.
    link: https://github.com/ollama/ollama/blob/main/docs/modelfile.mdx
"""

EXAMPLES = r'''
---
- name: Pull a model if it is missing
  llmops.ollama.ollama_model:
    name: llama3.1:8b

- name: Follow upstream updates (changed only when the digest changes)
  llmops.ollama.ollama_model:
    name: llama3.1:8b
    pull: always

- name: Create a tuned variant from a Modelfile
  llmops.ollama.ollama_model:
    name: coding-primary
    modelfile: |
      FROM qwen2.5-coder:14b
      PARAMETER num_ctx 32768
      PARAMETER temperature 0.2
      PARAMETER stop "<|im_end|>"
      SYSTEM """
      You are a careful senior engineer.
      """

- name: Create the same kind of variant from structured options, and keep it in memory for ever
  llmops.ollama.ollama_model:
    name: general-primary
    from: llama3.1:8b
    parameters:
      num_ctx: 16384
    system: You answer briefly.
    state: loaded
    keep_alive: -1
    require_gpu: true

- name: Load an embedding model for a day (recognised automatically, loaded through the embed API)
  llmops.ollama.ollama_model:
    name: nomic-embed-text
    state: loaded
    keep_alive: 24h

- name: Free the GPU memory a model uses, keeping it on disk
  llmops.ollama.ollama_model:
    name: llama3.1:8b
    state: unloaded

- name: Remove a model (it is unloaded first)
  llmops.ollama.ollama_model:
    name: experimental
    state: absent

- name: Set the connection once for all llmops.ollama modules
  module_defaults:
    group/llmops.ollama.ollama:
      url: https://gpu01.example.com:11434
      api_token: "{{ ollama_token }}"
      wait_timeout: 120
  block:
    - name: Keep the backup model loaded
      llmops.ollama.ollama_model:
        name: deepseek-coder-v2:16b
        state: loaded
'''

RETURN = r"""
changed:
  description: Whether the model's view differs before and after (predicted in check mode).
  returned: always
  type: bool
  sample: true
actions:
  description: What was done (or would be done in check mode), in words.
  returned: always
  type: list
  elements: str
  sample: ["pulled llama3.1:8b", "loaded llama3.1:8b (keep_alive forever)"]
model:
  description:
    - The model after the task (predicted in check mode). Keys that were not looked at are null;
      for example O(state=present) does not ask the server what is loaded.
  returned: always
  type: dict
  contains:
    name:
      description: Display name, always with a tag.
      type: str
      sample: llama3.1:8b
    present:
      description: Whether the model is on the server.
      type: bool
      sample: true
    digest:
      description: Manifest digest from C(/api/tags) or C(/api/ps); null when unknown or predicted.
      type: str
      sample: 46e0c10c039e019119339687c3c1757cc81b9da49709a3b3924863ba87ca666e
    disk_size:
      description:
        - Size on disk in bytes, from C(/api/tags).
        - Null for an unchanged created model with O(state=loaded) that is loaded under its own
          name, whose run does not read the list (see the notes).
      type: int
      sample: 4920753328
    kind:
      description: V(completion) or V(embedding), as detected.
      type: str
      sample: completion
    capabilities:
      description: Capabilities reported by the server (null for servers before 0.6.4).
      type: list
      elements: str
      sample: [completion, tools]
    details:
      description: The server's C(details) (family, parameter size, quantization level...).
      type: dict
      sample: {"family": "llama", "parameter_size": "8.0B", "quantization_level": "Q4_K_M"}
    parameters:
      description: Stored parameters, typed.
      type: dict
      sample: {"num_ctx": 32768, "stop": ["<|im_end|>"]}
    template:
      description: Prompt template.
      type: str
      sample: "{{ .Prompt }}"
    system:
      description: System prompt.
      type: str
      sample: You answer briefly.
    loaded:
      description: Whether the model is in memory; null when not checked.
      type: bool
      sample: true
    expires_at:
      description: When the server will unload it.
      type: str
      sample: "2318-11-14T05:12:03.123456789Z"
    forever:
      description: Whether it is kept for ever (expiry more than 20 years ahead).
      type: bool
      sample: true
    size:
      description: Bytes in memory when loaded.
      type: int
      sample: 6654289920
    size_vram:
      description: Bytes of it in GPU memory.
      type: int
      sample: 6654289920
    gpu_percent:
      description: Share of it in GPU memory, 0-100 (the rest is on the CPU).
      type: int
      sample: 100
pull:
  description: Summary of a pull that ran.
  returned: when a pull ran
  type: dict
  contains:
    model:
      description: The model pulled (the base model, for a created model).
      type: str
      sample: llama3.1:8b
    bytes:
      description: Bytes the server reported as completed.
      type: int
      sample: 4920753328
    seconds:
      description: Duration of the pull.
      type: float
      sample: 83.2
    rate:
      description: Bytes per second.
      type: int
      sample: 59143669
diff:
  description: Small views of the model before and after (predicted in check mode).
  returned: always
  type: dict
  sample: {"before": {"present": false}, "after": {"present": true, "digest": "46e0c10c039e"}}
"""

import traceback

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmops.ollama.plugins.module_utils._api import (
    OllamaClient,
    OllamaError,
    connection_argument_spec,
    redact_token,
)
from ansible_collections.llmops.ollama.plugins.module_utils._names import InvalidModelName, display_name
from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    KeepAliveError,
    apply_loaded,
    diff_view,
    find_listed,
    keep_alive_satisfied,
    keep_alive_seconds,
    model_view,
)

STRUCTURED_OPTIONS = ("parameters", "system", "template", "messages", "license", "adapters")


class ModelReconciler:
    """Looks at the server and compares it with the task; ``ModelChanges`` acts on a difference.

    A run that finds nothing to change stays in this class, which is all that such a run
    compiles besides the client: the module_utils that change things are imported on demand.
    """

    def __init__(self, module, client):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.actions = []
        self.warnings = []
        self.result_extra = {}
        self.name = display_name(self.params["name"])
        self.definition = None
        if any(self.params[key] is not None for key in ("modelfile", "modelfile_path", "from")):
            # Imported here: most tasks pull or load a model and never need the definition code.
            from ansible_collections.llmops.ollama.plugins.module_utils._definition import (  # noqa: PLC0415
                build_definition,
            )

            self.definition = build_definition(self.params, self.warnings)
        elif self.params["quantize"]:
            raise ValueError("quantize needs a definition: modelfile, modelfile_path or from")
        self.keep_alive = keep_alive_seconds(self.params["keep_alive"])
        if self.params["state"] == "loaded" and self.keep_alive == 0:
            raise KeepAliveError("keep_alive 0 would unload the model at once; use state: unloaded")
        self._file_digests = {}
        self._shows = {}
        self._changes = None

    # helpers ------------------------------------------------------------------------------

    def changes(self):
        if self._changes is None:
            from ansible_collections.llmops.ollama.plugins.module_utils._changes import ModelChanges  # noqa: PLC0415

            self._changes = ModelChanges(self)
        return self._changes

    def file_digest(self, path):
        if path not in self._file_digests:
            from ansible_collections.llmops.ollama.plugins.module_utils._transfer import sha256_file  # noqa: PLC0415

            self._file_digests[path] = sha256_file(path)
        return self._file_digests[path]

    def wait(self, present, digest=None):
        return self.client.wait_running(self.name, present, match=lambda models: self._match_running(models, digest))

    def running(self, digest=None):
        return self._match_running(self.client.running(), digest)

    def _match_running(self, models, digest=None):
        """The /api/ps entry of this model's runner.

        The server keys runners by weights file and lists a shared runner under the name that
        loaded it, so when neither the name nor the manifest digest is listed, the runners of
        other names are compared by the model-layer blob their /api/show names (pitfall 10).
        """
        entry = self.client.find_running(self.name, digest, models)
        if entry is not None or not models:
            return entry
        from ansible_collections.llmops.ollama.plugins.module_utils._runners import shared_runner  # noqa: PLC0415

        return shared_runner(self.name, models, self.show)

    def show(self, name):
        """/api/show, asked once per name until this run changes the model."""
        key = display_name(name)
        if key not in self._shows:
            self._shows[key] = self.client.show(name)
        return self._shows[key]

    def forget_shows(self):
        """Ask /api/show again: this run has changed the model."""
        self._shows = {}

    # states -------------------------------------------------------------------------------

    def run(self):
        state = self.params["state"]
        if state == "unloaded":
            return self.ensure_unloaded()
        if state == "absent":
            return self.ensure_absent()
        before, after = self.ensure_present()
        if state == "loaded":
            before, after = self.ensure_loaded(before, after)
        return before, after

    def ensure_unloaded(self):
        entry = self.running()
        # Whether the model is on disk does not matter here, so it is not asked (one request).
        before = apply_loaded(dict(model_view(self.name, None, checked_loaded=False), present=None), entry)
        after = dict(before)
        if entry is not None:
            if not self.check_mode:
                self.client.unload(self.name)
                self.wait(False)
            self.actions.append("unloaded %s" % self.name)
            apply_loaded(after, None)
        return before, after

    def ensure_absent(self):
        entry = find_listed(self.client.list_models(), self.name)
        before = model_view(self.name, entry, checked_loaded=False)
        if entry is None:
            return before, before
        running = self.running(entry.get("digest"))
        apply_loaded(before, running)
        if running is not None:
            if not self.check_mode:
                self.client.unload(self.name)
                self.wait(False, entry.get("digest"))
            self.actions.append("unloaded %s" % self.name)
        if not self.check_mode:
            self.client.delete(self.name)
        self.actions.append("deleted %s" % self.name)
        after = model_view(self.name, None)
        return before, after

    def ensure_present(self):
        if self.definition is None:
            return self._ensure_pulled(find_listed(self.client.list_models(), self.name))
        before, after = self._ensure_created()
        if self.params["state"] != "loaded":
            self._add_listing(before, after)
        return before, after

    def _add_listing(self, before, after):
        """Digest and disk size of an unchanged created model, which /api/show does not give.

        Only /api/tags has them; a model that is to be loaded gets its digest from /api/ps
        instead, which keeps its no-op at three requests.
        """
        if before.get("digest") is not None or not before.get("present") or after != before:
            return
        entry = find_listed(self.client.list_models(), self.name) or {}
        for view in (before, after):
            view.update(digest=entry.get("digest"), disk_size=entry.get("size"))

    def _ensure_pulled(self, entry):
        show = self.show(self.name) if entry is not None else None
        before = model_view(self.name, entry, show, checked_loaded=False)
        if entry is not None and self.params["pull"] == "missing":
            return before, dict(before)
        return self.changes().pull_model(entry, before)

    # created models -------------------------------------------------------------------------

    def _ensure_created(self):
        from ansible_collections.llmops.ollama.plugins.module_utils._definition import (  # noqa: PLC0415
            definition_differences,
            weight_reasons,
        )

        definition = self.definition
        base_name = None if definition["from_path"] else definition["from"]
        # /api/show answers 404 for a model the server does not have, so the model and its base
        # are looked up there, without /api/tags: a no-op needs only what /api/show says.
        current_show = self.show(self.name)
        base_show = self.show(base_name) if base_name else None
        # A missing base is pulled here rather than inside the create, so the pull gets the same
        # progress, stall detection and insecure handling as any other.
        if base_name and (self.params["pull"] == "always" or base_show is None):
            self.changes().pull_base(base_name)
            if not self.check_mode:
                current_show = self.show(self.name)
                base_show = self.show(base_name)
        before = model_view(self.name, None, current_show, checked_loaded=False)

        if current_show is None:
            reasons = ["model does not exist"]
        else:
            reasons = weight_reasons(
                definition, current_show, base_show, self.file_digest, self.client.blob_exists
            ) + definition_differences(definition, current_show, base_show, base_known=base_show is not None)
        if not reasons:
            return before, dict(before)
        return self.changes().create(reasons, before, current_show, base_show)

    # loading ------------------------------------------------------------------------------

    def ensure_loaded(self, before, after):
        models = self.client.running()
        if after.get("present") and after.get("digest") is None and after == before:
            # An unchanged created model: /api/ps has the digest when it is loaded under its
            # own name; /api/tags is asked only when it is not.
            listed = find_listed(models, self.name)
            if listed is None:
                self._add_listing(before, after)
            else:
                for view in (before, after):
                    view["digest"] = listed.get("digest")
        digest = after.get("digest")
        running = self._match_running(models, digest)
        if before.get("loaded") is None:
            # A rebuild in this run may already have looked (and unloaded the old runner).
            apply_loaded(before, running if before.get("present") else None)
        apply_loaded(after, running)
        if running is not None and keep_alive_satisfied(running, self.keep_alive):
            self.check_gpu(running)
            return before, after
        if self.params["kind"] != "auto":
            kind = self.params["kind"]
        else:
            kind = after.get("kind") or "completion"
        return self.changes().load(before, after, kind)

    def check_gpu(self, entry):
        if not self.params["require_gpu"] or entry is None:
            return
        size, vram = entry.get("size") or 0, entry.get("size_vram") or 0
        if vram < size:
            percent = round(100.0 * vram / size) if size else 0
            raise OllamaError(
                "keep in GPU memory",
                "only %d%% of it (%d of %d bytes) is in GPU memory, the rest runs on the CPU" % (percent, vram, size),
                self.client.url,
                model=self.name,
                hint="Free GPU memory (unload other models), lower num_ctx, or use a smaller quantization",
            )


def main():
    argument_spec = connection_argument_spec()
    argument_spec.update(
        name=dict(type="str", required=True),
        state=dict(type="str", default="present", choices=["present", "absent", "loaded", "unloaded"]),
        pull=dict(type="str", default="missing", choices=["missing", "always"]),
        insecure=dict(type="bool", default=False),
        modelfile=dict(type="str"),
        modelfile_path=dict(type="path"),
        parameters=dict(type="dict"),
        system=dict(type="str"),
        template=dict(type="str"),
        messages=dict(
            type="list",
            elements="dict",
            options=dict(
                role=dict(type="str", required=True, choices=["system", "user", "assistant"]),
                content=dict(type="str", required=True),
            ),
        ),
        license=dict(type="list", elements="str"),
        adapters=dict(type="list", elements="path"),
        quantize=dict(type="str"),
        keep_alive=dict(type="raw", default=-1),
        kind=dict(type="str", default="auto", choices=["auto", "completion", "embedding"]),
        require_gpu=dict(type="bool", default=False),
        stall_timeout=dict(type="int", default=300),
        progress_path=dict(type="path"),
    )
    argument_spec["from"] = dict(type="str")
    exclusive = [("modelfile", "modelfile_path", "from")]
    for option in STRUCTURED_OPTIONS:
        exclusive.append(("modelfile", option))
        exclusive.append(("modelfile_path", option))
    module = AnsibleModule(
        argument_spec=argument_spec,
        mutually_exclusive=exclusive,
        required_by=dict((option, "from") for option in STRUCTURED_OPTIONS),
        supports_check_mode=True,
    )
    result = dict(changed=False, actions=[])
    reconciler = None
    try:
        client = OllamaClient.from_params(module.params)
        reconciler = ModelReconciler(module, client)
        before, after = reconciler.run()
    except (InvalidModelName, KeepAliveError, ValueError) as exc:
        # ValueError covers the definition's and the Modelfile parser's errors.
        message = redact_token(exc, module.params.get("api_token"))
        module.fail_json(msg="Invalid request for model %r: %s" % (module.params["name"], message), **result)
    except OllamaError as exc:
        # What was done before the failure stays done: report it.
        result["actions"] = reconciler.actions if reconciler else []
        result["changed"] = bool(result["actions"]) and not module.check_mode
        for warning in reconciler.warnings if reconciler else []:
            module.warn(warning)
        module.fail_json(msg=str(exc), status=exc.status, **result)
    except Exception as exc:  # pylint: disable=broad-exception-caught
        message = redact_token(exc, module.params.get("api_token"))
        module.fail_json(
            msg="Unexpected error for model %r: %s" % (module.params["name"], message),
            exception=traceback.format_exc(),
            **result,
        )
    for warning in reconciler.warnings:
        module.warn(warning)
    before_diff, after_diff = diff_view(before), diff_view(after)
    # Actions are only taken (or predicted) where a comparison found a difference.
    result.update(
        changed=bool(reconciler.actions) or before_diff != after_diff,
        actions=reconciler.actions,
        model=after,
        diff=dict(before=before_diff, after=after_diff),
    )
    result.update(reconciler.result_extra)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
