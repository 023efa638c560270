# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""An in-memory Ollama for unit tests, patched in place of ``open_url`` where ``_api`` looks it up.

It routes (method, path) to handlers, keeps models and loaded runners in dicts, records every
request, raises ``HTTPError`` for error statuses and serves streams as NDJSON lines that are read
one at a time. Behaviour follows docs/../ollama-api.md; faults are switched on per test.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import socket
from urllib.error import HTTPError, URLError

from ansible_collections.llmops.ollama.plugins.module_utils._modelfile import parse_modelfile
from ansible_collections.llmops.ollama.plugins.module_utils._names import display_name, qualified_name

FOREVER = datetime.timedelta(days=365 * 292)


def _ts(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _hex(text):
    return hashlib.sha256(text.encode()).hexdigest()


def _go_value(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


class FakeResponse:
    """What ``open_url`` returns: read(), readline(), close()."""

    def __init__(self, status=200, body=b"", lines=None, stall_after=None, cut_after=None):
        self.status = status
        self._body = body
        self._lines = list(lines or [])
        self._stall_after = stall_after
        self._cut_after = cut_after
        self._served = 0
        self.closed = False

    def getcode(self):
        return self.status

    def read(self):
        if self._lines:
            return b"".join(self._lines)
        return self._body

    def readline(self):
        if self._stall_after is not None and self._served >= self._stall_after:
            raise socket.timeout("timed out")
        if self._cut_after is not None and self._served >= self._cut_after:
            return b""
        if self._served >= len(self._lines):
            return b""
        line = self._lines[self._served]
        self._served += 1
        return line

    def close(self):
        self.closed = True


class FakeOllama:
    def __init__(self, version="0.32.15"):
        self.version = version
        self.models = {}
        self.catalog = {}
        self.loaded = {}
        self.blobs = set()
        self.requests = []
        self.token = None
        self.refuse = 0
        self.faults = {}
        self.unload_lag = 0
        self.vram_fraction = 1.0
        self.rewrite_gguf = False
        self.show_blob_paths = True

    # -- set-up helpers ------------------------------------------------------------------

    def add_catalog(self, name, *, embedding=False, size=1000, blob=None, arch="llama", parameters=None, template=None):
        key = qualified_name(name)
        blob = blob or _hex("weights:" + key)
        self.catalog[key] = {
            "blob": blob,
            "embedding": embedding,
            "size": size,
            "arch": "bert" if embedding else arch,
            "parameters": dict(parameters or {}),
            "template": template if template is not None else ("" if embedding else "{{ .Prompt }}"),
        }
        return self.catalog[key]

    def bump(self, name):
        """Upstream publishes new weights for ``name``."""
        entry = self.catalog[qualified_name(name)]
        entry["blob"] = _hex("new:" + entry["blob"])

    def put_local(self, name, **catalog_kwargs):
        key = qualified_name(name)
        if key not in self.catalog:
            self.add_catalog(name, **catalog_kwargs)
        self._store(name, self._from_catalog(key))

    def _from_catalog(self, key):
        src = self.catalog[key]
        return {
            "blob": src["blob"],
            "embedding": src["embedding"],
            "size": src["size"],
            "arch": src["arch"],
            "parameters": dict(src["parameters"]),
            "template": src["template"],
            "system": "",
            "messages": [],
            "license": "",
            "adapters": [],
            "quantization": "Q4_K_M",
        }

    def _store(self, name, model):
        model["name"] = display_name(name)
        body = {k: v for k, v in model.items() if k not in ("name", "modified_at")}
        model["digest"] = _hex(json.dumps(body, sort_keys=True))
        model["modified_at"] = _ts(_now())
        self.models[qualified_name(name)] = model

    def model(self, name):
        return self.models.get(qualified_name(name))

    def load(self, name, keep_alive=-1):
        model = self.model(name)
        self._load(display_name(name), model, keep_alive)

    def writes(self):
        return [r for r in self.requests if (r["method"], r["path"]) not in self.READS and r["method"] != "HEAD"]

    READS = {
        ("GET", "/api/version"),
        ("GET", "/api/tags"),
        ("POST", "/api/show"),
        ("GET", "/api/ps"),
    }

    def paths(self):
        return ["%s %s" % (r["method"], r["path"]) for r in self.requests]

    # -- transport -------------------------------------------------------------------------

    def __call__(self, url, data=None, headers=None, method=None, timeout=None, **kwargs):
        path = url.split("://", 1)[1]
        path = path[path.index("/") :] if "/" in path else "/"
        method = method or ("POST" if data else "GET")
        body = None
        if isinstance(data, bytes) and data:
            body = json.loads(data.decode())
        elif data is not None and hasattr(data, "read"):
            body = data.read()
        record = {
            "method": method,
            "path": path,
            "body": body,
            "headers": dict(headers or {}),
            "timeout": timeout,
            "options": kwargs,
        }
        if self.refuse:
            self.refuse -= 1
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        self.requests.append(record)
        if self.token and (headers or {}).get("Authorization") != "Bearer %s" % self.token:
            return self._error(url, 401, "unauthorized")
        if self.faults.get("forbidden"):
            return self._error(url, 403, "", raw=True)
        delay = self.faults.get("timeout_path")
        if delay == path:
            raise URLError(socket.timeout("timed out"))
        handler = self.ROUTES.get((method, path))
        if handler is None and path.startswith("/api/blobs/"):
            handler = FakeOllama._blob
        if handler is None:
            return self._error(url, 404, "404 page not found", raw=True)
        return handler(self, url, method, path, body)

    def _error(self, url, status, message, raw=False):
        payload = message.encode() if raw else json.dumps({"error": message}).encode()
        raise HTTPError(url, status, "error", {}, io.BytesIO(payload))

    @staticmethod
    def _json(obj):
        return FakeResponse(200, json.dumps(obj).encode())

    def _version_tuple(self):
        return tuple(int(x) for x in self.version.split("-")[0].split("."))

    # -- handlers --------------------------------------------------------------------------

    def _version(self, url, method, path, body):
        return self._json({"version": self.version})

    def _tags(self, url, method, path, body):
        out = []
        for model in sorted(self.models.values(), key=lambda m: m["modified_at"], reverse=True):
            entry = {
                "name": model["name"],
                "model": model["name"],
                "modified_at": model["modified_at"],
                "size": model["size"],
                "digest": model["digest"],
                "details": self._details(model),
            }
            if self._version_tuple() >= (0, 30, 0):
                entry["capabilities"] = self._caps(model)
            out.append(entry)
        return self._json({"models": out})

    def _details(self, model):
        return {
            "parent_model": "",
            "format": "gguf",
            "family": model["arch"],
            "parameter_size": "8B",
            "quantization_level": model["quantization"],
        }

    def _caps(self, model):
        return ["embedding"] if model["embedding"] else ["completion", "tools"]

    def _show(self, url, method, path, body):
        name = body.get("model") or body.get("name")
        model = self.model(name)
        if model is None:
            return self._error(url, 404, "model '%s' not found" % display_name(name))
        lines = []
        for key, value in model["parameters"].items():
            for item in value if isinstance(value, list) else [value]:
                lines.append("%s %s" % (key.ljust(30), _go_value(item)))
        modelfile = '# Modelfile generated by "ollama show"\n'
        if self.show_blob_paths:
            modelfile += "FROM /usr/share/ollama/.ollama/models/blobs/sha256-%s\n" % model["blob"]
            for adapter in model["adapters"]:
                modelfile += "ADAPTER /usr/share/ollama/.ollama/models/blobs/sha256-%s\n" % adapter
        info = {"general.architecture": model["arch"], "%s.context_length" % model["arch"]: 8192}
        if model["embedding"]:
            info["%s.pooling_type" % model["arch"]] = 1
        answer = {
            "modelfile": modelfile,
            "template": model["template"],
            "details": self._details(model),
            "model_info": info,
            "modified_at": model["modified_at"],
        }
        if lines:
            answer["parameters"] = "\n".join(reversed(lines))
        for field in ("system", "license", "messages"):
            if model[field]:
                answer[field] = model[field]
        if self._version_tuple() >= (0, 6, 4):
            answer["capabilities"] = self._caps(model)
        return self._json(answer)

    def _stream(self, lines, fault=None):
        encoded = [(json.dumps(line) + "\n").encode() for line in lines]
        fault = fault or {}
        return FakeResponse(200, lines=encoded, stall_after=fault.get("stall_after"), cut_after=fault.get("cut_after"))

    def _pull_lines(self, key):
        src = self.catalog[key]
        short = src["blob"][:12]
        lines = [{"status": "pulling manifest"}]
        total = src["size"]
        for done in range(0, total + 1, max(total // 4, 1)):
            line = {"status": "pulling %s" % short, "digest": "sha256:" + src["blob"], "total": total}
            if done:
                line["completed"] = done
            lines.append(line)
        lines += [{"status": "verifying sha256 digest"}, {"status": "writing manifest"}, {"status": "success"}]
        return lines

    def _pull(self, url, method, path, body):
        name = body.get("model") or body.get("name")
        key = qualified_name(name)
        fault = self.faults.get("pull")
        if key not in self.catalog:
            return self._stream([{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}])
        lines = self._pull_lines(key)
        if fault:
            if "error_after" in fault:
                lines = lines[: fault["error_after"]] + [{"error": fault["error"]}]
            return self._stream(lines, fault)
        self._store(name, self._from_catalog(key))
        return self._stream(lines)

    def _create(self, url, method, path, body):
        name = body.get("model")
        structured = self._version_tuple() >= (0, 5, 5)
        if structured and not (body.get("from") or body.get("files")):
            return self._error(url, 400, "neither 'from' or 'files' was specified")
        if not structured and not body.get("modelfile"):
            return self._error(url, 400, "path or Modelfile are required")
        fault = self.faults.get("create")
        if fault and fault.get("status"):
            return self._error(url, fault["status"], fault["error"])
        if structured:
            spec = body
        else:
            spec = parse_modelfile(body["modelfile"])
            if spec["from"].startswith("@"):
                spec["files"] = {"model.gguf": spec["from"][1:]}
                spec.pop("from")
        lines = []
        if spec.get("files"):
            digest = next(iter(spec["files"].values()))
            if digest not in self.blobs:
                return self._stream([{"status": "parsing GGUF"}, {"error": "open /blobs/x: no such file or directory"}])
            blob = digest.split(":", 1)[1]
            if self.rewrite_gguf:
                blob = _hex("rewritten:" + blob)
            model = {
                "blob": blob,
                "embedding": False,
                "size": 500,
                "arch": "llama",
                "parameters": {},
                "template": "",
                "system": "",
                "messages": [],
                "license": "",
                "adapters": [],
                "quantization": "F16",
            }
        else:
            base = self.model(spec["from"])
            if base is None:
                key = qualified_name(spec["from"])
                if key not in self.catalog:
                    return self._stream(
                        [{"status": "pulling manifest"}, {"error": "pull model manifest: file does not exist"}]
                    )
                lines += self._pull_lines(key)[:-1]
                self._store(spec["from"], self._from_catalog(key))
                base = self.model(spec["from"])
            model = json.loads(json.dumps({k: v for k, v in base.items() if k not in ("name", "digest")}))
        params = dict(model["parameters"])
        params.update(spec.get("parameters") or {})
        model["parameters"] = params
        for field in ("template", "system"):
            if spec.get(field) is not None:
                model[field] = spec[field]
        if spec.get("messages"):
            model["messages"] = spec["messages"]
        if spec.get("license"):
            model["license"] = "\n".join(spec["license"])
        if spec.get("adapters"):
            model["adapters"] = sorted(d.split(":", 1)[1] for d in spec["adapters"].values())
        if spec.get("quantize"):
            model["quantization"] = spec["quantize"].upper()
        lines += [{"status": "using existing layer sha256:%s" % model["blob"]}, {"status": "writing manifest"}]
        if fault and fault.get("error"):
            return self._stream([*lines, {"error": fault["error"]}])
        self._store(name, model)
        return self._stream([*lines, {"status": "success"}])

    def _copy(self, url, method, path, body):
        source = self.model(body.get("source") or "")
        if self.faults.get("copy"):
            return self._error(url, 500, "simulated copy failure")
        if source is None:
            return self._error(url, 404, 'model "%s" not found' % body.get("source"))
        # The server copies the manifest: the same layers, so the same digest.
        copied = {k: v for k, v in source.items() if k not in ("name", "digest", "modified_at")}
        self._store(body["destination"], json.loads(json.dumps(copied)))
        return FakeResponse(200, b"")

    def _delete(self, url, method, path, body):
        name = body.get("model") or body.get("name")
        if self.models.pop(qualified_name(name), None) is None:
            return self._error(url, 404, "model '%s' not found" % name)
        return FakeResponse(200, b"")

    def _ps(self, url, method, path, body):
        out = []
        for key, runner in list(self.loaded.items()):
            if runner.get("stopping") is not None:
                if runner["stopping"] <= 0:
                    del self.loaded[key]
                    continue
                runner["stopping"] -= 1
            out.append({k: v for k, v in runner.items() if k != "stopping"})
        return self._json({"models": out})

    def _keep_alive(self, url, value):
        if value is None:
            return datetime.timedelta(minutes=5)
        if isinstance(value, (bool, dict, list)):
            return self._error(url, 400, "Unsupported type: '%s'" % type(value).__name__)
        if isinstance(value, (int, float)):
            return FOREVER if value < 0 else datetime.timedelta(seconds=value)
        units = {"h": 3600, "m": 60, "s": 1}
        if value == "0":
            return datetime.timedelta(0)
        if value[-1:] not in units or not value[:-1].lstrip("-").replace(".", "").isdigit():
            return self._error(url, 400, 'time: missing unit in duration "%s"' % value)
        seconds = float(value[:-1]) * units[value[-1]]
        return FOREVER if seconds < 0 else datetime.timedelta(seconds=seconds)

    def _load(self, name, model, keep_alive):
        """Runners are keyed by weights, as the server's scheduler does: a model that shares a
        loaded runner's weights and options reuses it (the runner keeps the name that loaded it)."""
        delta = keep_alive if isinstance(keep_alive, datetime.timedelta) else self._keep_alive("", keep_alive)
        context = model["parameters"].get("num_ctx", 4096)
        runner = self.loaded.get(model["blob"])
        if runner is not None and runner["context_length"] == context:
            runner["expires_at"] = _ts(_now() + delta)
            runner.pop("stopping", None)
            return
        size = model["size"] * 2
        self.loaded[model["blob"]] = {
            "name": display_name(name),
            "model": display_name(name),
            "size": size,
            "size_vram": int(size * self.vram_fraction),
            "digest": model["digest"],
            "details": self._details(model),
            "expires_at": _ts(_now() + delta),
            "context_length": context,
        }

    def runner(self, name):
        """The runner listed under ``name`` (None when that name is not listed)."""
        return next((r for r in self.loaded.values() if r["name"] == display_name(name)), None)

    def _generate(self, url, method, path, body):
        name = body.get("model")
        model = self.model(name)
        if model is None:
            return self._error(url, 404, "model '%s' not found" % name)
        delta = self._keep_alive(url, body.get("keep_alive"))
        if not body.get("prompt") and "keep_alive" in body and delta == datetime.timedelta(0):
            runner = self.loaded.get(model["blob"])
            if runner is not None:
                runner["expires_at"] = _ts(_now())
                runner["stopping"] = self.unload_lag
            return self._json({"model": name, "response": "", "done": True, "done_reason": "unload"})
        if model["embedding"]:
            return self._error(url, 400, '"%s" does not support generate' % name)
        if self.faults.get("load_oom"):
            return self._error(url, 500, "model requires more system memory (9.0 GiB) than is available (4.0 GiB)")
        self._load(name, model, delta)
        return self._json({"model": name, "response": "", "done": True, "done_reason": "load"})

    def _embed(self, url, method, path, body):
        name = body.get("model")
        model = self.model(name)
        if model is None:
            return self._error(url, 404, 'model "%s" not found, try pulling it first' % name)
        delta = self._keep_alive(url, body.get("keep_alive"))
        if body.get("input"):
            return self._error(url, 501, "this model does not support embeddings")
        self._load(name, model, delta)
        return self._json({"model": name, "embeddings": []})

    def _blob(self, url, method, path, body):
        digest = path.rsplit("/", 1)[1]
        if method == "HEAD":
            if digest in self.blobs:
                return FakeResponse(200, b"")
            return self._error(url, 404, "")
        if digest in self.blobs:
            return FakeResponse(200, b"")
        actual = "sha256:" + hashlib.sha256(body or b"").hexdigest()
        if actual != digest:
            return self._error(url, 400, 'digest mismatch, expected "%s", got "%s"' % (digest, actual))
        self.blobs.add(digest)
        return FakeResponse(201, b"")

    ROUTES = {
        ("GET", "/api/version"): _version,
        ("GET", "/api/tags"): _tags,
        ("POST", "/api/show"): _show,
        ("POST", "/api/pull"): _pull,
        ("POST", "/api/create"): _create,
        ("POST", "/api/copy"): _copy,
        ("DELETE", "/api/delete"): _delete,
        ("GET", "/api/ps"): _ps,
        ("POST", "/api/generate"): _generate,
        ("POST", "/api/embed"): _embed,
    }
