# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The steps of ``ollama_model`` that change the server: pulls, creates, rebuilds and loads.

PRIVATE to the collection: may change at any time. The module's reconciler looks at the server
and compares; once it has found a difference it hands the work to ``ModelChanges``, which carries
it out (or, in check mode, predicts its outcome). The module imports this only then, so a run that
finds nothing to change does not compile it: every module run compiles its imports anew.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os

from ansible_collections.llmops.ollama.plugins.module_utils._api import OllamaError
from ansible_collections.llmops.ollama.plugins.module_utils._names import InvalidModelName, display_name
from ansible_collections.llmops.ollama.plugins.module_utils._state import (
    apply_loaded,
    describe_keep_alive,
    detect_kind,
    find_listed,
    is_forever,
    keep_alive_payload,
    model_view,
    parse_show_parameters,
    utcnow,
)

CREATE_FIELDS = (
    "parameters",
    "template",
    "system",
    "license",
    "messages",
    "quantize",
    "requires",
    "renderer",
    "parser",
)
# A loaded model's new definition is built under its name plus this suffix before the old one
# leaves memory.
CANDIDATE_SUFFIX = "-llmops-candidate"


class ModelChanges:
    """Carries out what a ``ModelReconciler`` decided, recording actions and warnings on it."""

    def __init__(self, reconciler):
        self.rec = reconciler
        self.client = reconciler.client
        self.params = reconciler.params
        self.name = reconciler.name
        self.check_mode = reconciler.check_mode

    def _progress(self, name):
        # Imported here as well: only pulls and creates report progress.
        from ansible_collections.llmops.ollama.plugins.module_utils._progress import Progress  # noqa: PLC0415

        return Progress(name, self.params["progress_path"])

    # pulls ----------------------------------------------------------------------------------

    def pull(self, name):
        progress = self._progress(name)
        self.client.pull(name, self.params["insecure"], self.params["stall_timeout"], progress)
        self.rec.warnings.extend(progress.write_errors)
        summary = dict(progress.summary(), model=display_name(name))
        self.rec.result_extra["pull"] = summary
        return summary

    def pull_model(self, entry, before):
        """Pull the model (missing, or pull: always); ``(before, after)``."""
        rec = self.rec
        if self.check_mode:
            rec.actions.append("pulled %s" % self.name)
            after = dict(before, present=True, digest=None)
            if entry is not None:
                after["digest"] = "(unknown: the registry is asked at run time)"
            return before, after
        self.pull(self.name)
        new_entry = find_listed(self.client.list_models(), self.name)
        if new_entry is None:
            raise OllamaError(
                "pull", "the pull reported success but the model is not listed", self.client.url, model=self.name
            )
        if entry is None:
            rec.actions.append("pulled %s" % self.name)
        elif new_entry.get("digest") != entry.get("digest"):
            rec.actions.append("updated %s to digest %s" % (self.name, (new_entry.get("digest") or "")[:12]))
        if entry is not None and new_entry.get("digest") == entry.get("digest"):
            # Same manifest: the model itself is unchanged, no need to show it again.
            after = dict(before)
            after["disk_size"] = new_entry.get("size")
            return before, after
        rec.forget_shows()
        after = model_view(self.name, new_entry, rec.show(self.name), checked_loaded=False)
        return before, after

    def pull_base(self, base_name):
        """Pull a created model's base, missing or asked for with pull: always."""
        rec = self.rec
        if self.check_mode:
            rec.actions.append("pulled base model %s" % display_name(base_name))
            return
        base_before = find_listed(self.client.list_models(), base_name)
        self.pull(base_name)
        rec.forget_shows()
        base_after = find_listed(self.client.list_models(), base_name)
        if base_before is None or (base_after or {}).get("digest") != base_before.get("digest"):
            rec.actions.append("pulled base model %s" % display_name(base_name))

    # creates --------------------------------------------------------------------------------

    def create_request(self):
        definition = self.rec.definition
        blob_refs = {}
        if definition["from_path"]:
            digest, _sent = self.client.upload_blob(
                definition["from_path"], self.rec.file_digest(definition["from_path"]), self.params["stall_timeout"]
            )
            blob_refs[definition["from"]] = digest
        adapter_refs = {}
        for written, path in zip(definition.get("adapters") or [], definition["adapter_paths"]):
            digest, _sent = self.client.upload_blob(path, self.rec.file_digest(path), self.params["stall_timeout"])
            blob_refs[written] = digest
            adapter_refs[os.path.basename(path)] = digest
        if not self.client.supports_structured_create():
            from ansible_collections.llmops.ollama.plugins.module_utils._modelfile import render_modelfile  # noqa: PLC0415

            request = {"modelfile": render_modelfile(definition, blob_refs)}
            if definition.get("quantize"):
                request["quantize"] = definition["quantize"]
            return request
        request = {}
        if definition["from_path"]:
            request["files"] = {os.path.basename(definition["from_path"]): blob_refs[definition["from"]]}
        else:
            request["from"] = definition["from"]
        if adapter_refs:
            request["adapters"] = adapter_refs
        for field in CREATE_FIELDS:
            if definition.get(field) not in (None, [], {}):
                request[field] = definition[field]
        return request

    def create(self, reasons, before, current_show, base_show):
        """Create the model, or rebuild it for ``reasons``; ``(before, after)``."""
        rec = self.rec
        entry = find_listed(self.client.list_models(), self.name) if current_show is not None else None
        if entry is not None:
            before.update(digest=entry.get("digest"), disk_size=entry.get("size"))
        running = None
        if entry is not None:
            running = rec.running(entry.get("digest"))
            apply_loaded(before, running)
        word = "created" if entry is None else "rebuilt"
        detail = "" if entry is None else ": " + "; ".join(reasons)
        if self.check_mode:
            rec.actions.append("%s %s%s" % (word, self.name, detail))
            return before, self.predicted_created(before, base_show, running)

        if running is not None:
            self.rebuild_loaded(running, entry.get("digest"))
        else:
            progress = self._progress(self.name)
            try:
                self.client.create(self.name, self.create_request(), self.params["stall_timeout"], progress)
            except OllamaError as exc:
                if entry is not None:
                    exc.detail += "; the previous model is unchanged"
                raise
            finally:
                rec.warnings.extend(progress.write_errors)
        rec.actions.append("%s %s%s" % (word, self.name, detail))
        rec.forget_shows()
        new_entry = find_listed(self.client.list_models(), self.name)
        after = model_view(self.name, new_entry, rec.show(self.name), checked_loaded=False)
        if running is not None:
            apply_loaded(after, None)
            if self.params["state"] != "loaded":
                loaded = self.reload(running, (new_entry or {}).get("digest"))
                apply_loaded(after, loaded)
                rec.actions.append("reloaded %s" % self.name)
        return before, after

    def candidate_name(self):
        """Where a loaded model's new definition is built first: its name plus a suffix, same tag."""
        head, _sep, tag = self.name.rpartition(":")
        try:
            return display_name("%s%s:%s" % (head, CANDIDATE_SUFFIX, tag))
        except InvalidModelName:
            return None

    def rebuild_loaded(self, running, digest):
        """Rebuild a model that is serving, and unload it only once its replacement is built.

        After a create the name points at the new definition and the old runner could no longer
        be reached by name, so the old one must leave memory before the name changes. The new
        definition is therefore created under a candidate name while the old model keeps serving;
        then the old one is unloaded, the candidate copied onto the name (the server copies only
        the manifest) and removed. A create the server refuses costs nothing that was serving.
        """
        candidate = self.candidate_name()
        target = candidate or self.name
        if candidate is None:
            # A name too long for the suffix: build in place, the old way (unload, create, reload).
            self.rec.warnings.append(
                "%s is unloaded before it is rebuilt: its name leaves no room for a candidate name" % self.name
            )
            self.client.unload(self.name)
            self.rec.wait(False, digest)
        progress = self._progress(self.name)
        try:
            self.client.create(target, self.create_request(), self.params["stall_timeout"], progress)
        except OllamaError as exc:
            if candidate is not None:
                self.forget_candidate(candidate)
                exc.model = self.name
                exc.detail += " (while building it as %s); the previous model is unchanged and still loaded" % candidate
            else:
                exc.detail += "; the previous model is unchanged"
                self.reload_after_failure(exc, running, digest)
            raise
        finally:
            self.rec.warnings.extend(progress.write_errors)
        if candidate is None:
            return
        try:
            self.client.unload(self.name)
            self.rec.wait(False, digest)
            self.client.copy(candidate, self.name)
        except OllamaError as exc:
            exc.detail += "; the previous model is unchanged"
            self.reload_after_failure(exc, running, digest)
            raise
        finally:
            self.forget_candidate(candidate)

    def forget_candidate(self, candidate):
        # A delete never touches a runner: the server's delete does not talk to its scheduler.
        try:
            self.client.delete(candidate)
        except OllamaError as exc:
            if exc.status != 404:
                self.rec.warnings.append("could not remove the candidate model %s: %s" % (candidate, exc.detail))

    def reload_after_failure(self, exc, running, digest):
        if self.rec.running(digest) is not None:
            exc.detail += " and still loaded"
            return
        try:
            self.reload(running, digest)
        except OllamaError as reload_error:
            exc.detail += "; loading it again failed too: %s" % reload_error.detail
        else:
            exc.detail += " and loaded again"

    def reload(self, running, digest):
        keep = -1 if is_forever(running.get("expires_at")) else keep_alive_payload(self.rec.keep_alive)
        show = self.rec.show(self.name)
        kind = self.params["kind"] if self.params["kind"] != "auto" else detect_kind(show)
        self.client.load(self.name, keep, kind)
        return self.rec.wait(True, digest)

    def predicted_created(self, before, base_show, running):
        after = dict(before, present=True, digest=None)
        definition = self.rec.definition
        params = dict(before.get("parameters") or {}) if before.get("present") else {}
        if base_show is not None:
            params = parse_show_parameters(base_show.get("parameters"))
            for field in ("template", "system"):
                after[field] = base_show.get(field) or ""
        params.update(definition.get("parameters") or {})
        after["parameters"] = params
        for field in ("template", "system"):
            if definition.get(field) is not None:
                after[field] = definition[field]
        if running is not None:
            after["loaded"] = True
        return after

    # loading --------------------------------------------------------------------------------

    def load(self, before, after, kind):
        """Load the model with the task's keep_alive; ``(before, after)``."""
        rec = self.rec
        action = "loaded %s (keep_alive %s)" % (self.name, describe_keep_alive(rec.keep_alive))
        if self.check_mode:
            rec.actions.append(action)
            if rec.keep_alive < 0:
                forever, moment = True, utcnow() + datetime.timedelta(days=365 * 292)
            else:
                forever, moment = False, utcnow() + datetime.timedelta(seconds=rec.keep_alive)
            after.update(loaded=True, forever=forever, expires_at=moment.strftime("%Y-%m-%dT%H:%M:%SZ"))
            return before, after
        self.client.load(self.name, keep_alive_payload(rec.keep_alive), kind)
        entry = rec.wait(True, after.get("digest"))
        rec.actions.append(action)
        apply_loaded(after, entry)
        rec.check_gpu(entry)
        return before, after
