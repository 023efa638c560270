# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Load Ollama models into memory and keep them there.

Installed by the llmops.ollama.models role and run by ollama-warmup.service every time
Ollama (re)starts, because Ollama itself never loads a model before the first request.
Standard library only, so it runs on any host with Python 3.6+ and also serves as the
start hook of a container deployment (set OLLAMA_PRELOAD_MODELS and give no config file).

Exit status: 0 all models loaded, 1 some models failed (the summary names them),
2 unusable configuration, 3 the API never answered.
"""

import argparse
import json
import os
import re
import ssl
import sys
import time
import urllib.error
import urllib.request

DEFAULT_CONFIG = "/etc/ollama/warmup.json"
DEFAULT_URL = "http://127.0.0.1:11434"
# The CLI shows "Forever" for expiries more than 20 years ahead; a forever keep-alive is ~292 years.
FOREVER_YEARS = 20
EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_NO_API = 0, 1, 2, 3
# /api/show writes the weights layer as "FROM /path/blobs/sha256-<hex>" (ADAPTER likewise).
BLOB_DIGEST = re.compile(r"sha256[-:]([0-9a-fA-F]{64})")


class WarmupError(Exception):
    pass


def log(message):
    # One flushed line per event: journald shows it as soon as it happens.
    print("ollama-warmup: " + message, flush=True)


def url_from_ollama_host(value):
    """Parse OLLAMA_HOST as the server does: port 11434 only when no scheme is given."""
    value = (value or "").strip().strip("'\"")
    if not value:
        return DEFAULT_URL
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "http", value
        default_port = "11434"
    else:
        default_port = "443" if scheme == "https" else "80"
    hostport, _slash, path = rest.partition("/")
    if hostport.startswith("["):
        host, _b, port = hostport[1:].partition("]")
        port = port.lstrip(":")
        host = "[%s]" % host
    elif hostport.count(":") == 1:
        host, _c, port = hostport.partition(":")
    else:
        host, port = hostport, ""
    if host in ("", "0.0.0.0", "[::]"):
        host = "127.0.0.1"
    return "%s://%s:%s%s" % (scheme, host, port or default_port, "/" + path if path else "")


def display_name(name):
    """Short display form used by /api/ps: default host and namespace dropped, tag always shown."""
    name = name.strip().split("://", 1)[-1]
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        name += ":latest"
    for prefix in ("registry.ollama.ai/library/", "library/", "registry.ollama.ai/"):
        if name.lower().startswith(prefix):
            return name[len(prefix) :]
    return name


def normalise_keep_alive(value):
    # YAML and environment variables turn -1 into the string "-1", which the API rejects with 400.
    if isinstance(value, str):
        text = value.strip()
        try:
            number = float(text)
        except ValueError:
            return text
        return int(number) if number.is_integer() else number
    return value


def parse_models(value):
    if isinstance(value, str):
        value = [item for item in (part.strip() for part in value.split(",")) if item]
    models = []
    for index, entry in enumerate(value or []):
        item = {"name": entry} if isinstance(entry, str) else entry
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or not item["name"].strip():
            raise WarmupError("model entry %d must be a name or an object with a 'name': %r" % (index + 1, item))
        kind = item.get("kind", "auto")
        if kind not in ("auto", "completion", "embedding"):
            raise WarmupError("model %r: kind must be auto, completion or embedding, got %r" % (item["name"], kind))
        slot = item.get("slot")
        if slot is not None and not isinstance(slot, int):
            raise WarmupError("model %r: slot must be an integer, got %r" % (item["name"], slot))
        models.append({"name": item["name"].strip(), "kind": kind, "slot": slot})
    # Slot 1 first, then the other slots, then the extras; the given order breaks ties.
    order = sorted(range(len(models)), key=lambda i: (models[i]["slot"] is None, models[i]["slot"] or 0, i))
    return [models[i] for i in order]


def checked_token(token):
    """The bearer token as sent; refused, without quoting it, when it cannot be a header value.

    http.client refuses such a header with an error that quotes it, token included, into the journal.
    """
    if token is None:
        return None
    if not isinstance(token, str):
        raise WarmupError("api_token must be a string")
    token = token.strip()
    if re.search(r"[\x00-\x20\x7f]", token):
        raise WarmupError("api_token contains a line break, a space or another control character")
    return token or None


def load_config(path, environ):
    """Read the JSON config, or fall back to OLLAMA_PRELOAD_MODELS when there is no config file."""
    if path and os.path.exists(path):
        try:
            with open(path) as handle:
                config = json.load(handle)
        except (OSError, ValueError) as exc:
            raise WarmupError("cannot read config %s: %s" % (path, exc))
        if not isinstance(config, dict):
            raise WarmupError("config %s must hold a JSON object" % path)
        source = path
    else:
        config = {
            "models": environ.get("OLLAMA_PRELOAD_MODELS", ""),
            "url": url_from_ollama_host(environ.get("OLLAMA_HOST")),
            # A container start hook has nothing else that would pull the models.
            "pull_missing": environ.get("OLLAMA_PRELOAD_PULL", "1").strip().lower() not in ("0", "false", "no"),
        }
        source = "OLLAMA_PRELOAD_MODELS"
    settings = {
        "source": source,
        "url": str(config.get("url") or DEFAULT_URL).rstrip("/"),
        "models": parse_models(config.get("models")),
        "keep_alive": normalise_keep_alive(config.get("keep_alive", -1)),
        "api_wait_timeout": float(config.get("api_wait_timeout", 300)),
        "load_timeout": float(config.get("load_timeout", 900)),
        "pull_missing": bool(config.get("pull_missing", False)),
        "pull_timeout": float(config.get("pull_timeout", 7200)),
        "api_token": checked_token(config.get("api_token") or environ.get("OLLAMA_API_TOKEN")),
        "validate_certs": bool(config.get("validate_certs", True)),
        "ca_path": config.get("ca_path") or None,
    }
    return settings


class Api:
    def __init__(self, settings):
        self.base = settings["url"]
        self.token = settings["api_token"]
        self.context = None
        if self.base.startswith("https://"):
            self.context = ssl.create_default_context(cafile=settings["ca_path"])
            if not settings["validate_certs"]:
                self.context.check_hostname = False
                self.context.verify_mode = ssl.CERT_NONE

    def call(self, method, path, payload=None, timeout=30):
        data = None if payload is None else json.dumps(payload).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if self.token:
            request.add_header("Authorization", "Bearer " + self.token)
        try:
            with urllib.request.urlopen(request, timeout=timeout, context=self.context) as response:
                body = response.read()
        except urllib.error.HTTPError as exc:
            text = exc.read().decode("utf-8", "replace")
            try:
                text = json.loads(text).get("error", text)
            except (ValueError, AttributeError):
                pass
            raise WarmupError("HTTP %s from %s %s: %s" % (exc.code, method, path, text))
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise WarmupError("cannot reach %s: %s" % (self.base, reason))
        if not body.strip():
            return None
        document = json.loads(body.decode())
        if isinstance(document, dict) and document.get("error"):
            raise WarmupError("%s %s: %s" % (method, path, document["error"]))
        return document


def wait_for_api(api, timeout):
    deadline = time.monotonic() + timeout
    delay, attempts = 0.25, 0
    while True:
        attempts += 1
        try:
            version = api.call("GET", "/api/version", timeout=5)
            return (version or {}).get("version", "unknown"), attempts
        except WarmupError as exc:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WarmupError("API at %s did not answer within %ds: %s" % (api.base, timeout, exc))
            time.sleep(min(delay, remaining))
            delay = min(delay * 2, 10)


def model_kind(api, model):
    """Embedding models refuse /api/generate and must be loaded through /api/embed."""
    if model["kind"] != "auto":
        return model["kind"], None
    show = api.call("POST", "/api/show", {"model": model["name"]})
    capabilities = show.get("capabilities")
    if capabilities:
        return ("embedding" if "embedding" in capabilities and "completion" not in capabilities else "completion"), show
    # Servers before 0.6.4 have no capabilities; embedding GGUFs carry a pooling_type key.
    info = show.get("model_info") or {}
    is_embedding = any(key.endswith(".pooling_type") for key in info)
    return ("embedding" if is_embedding else "completion"), show


def ensure_present(api, model, settings):
    try:
        api.call("POST", "/api/show", {"model": model["name"]})
        return False
    except WarmupError as exc:
        if "HTTP 404" not in str(exc) or not settings["pull_missing"]:
            raise
    log("%s is missing, pulling it" % model["name"])
    api.call("POST", "/api/pull", {"model": model["name"], "stream": False}, timeout=settings["pull_timeout"])
    return True


def weights(show):
    """The weights and adapter blobs a model runs, or None when /api/show names no blob."""
    blobs = {"from": set(), "adapter": set()}
    for line in (show.get("modelfile") or "").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) == 2 and parts[0].lower() in blobs:
            match = BLOB_DIGEST.search(parts[1])
            if match:
                blobs[parts[0].lower()].add(match.group(1).lower())
    if not blobs["from"]:
        return None
    return tuple(sorted(blobs["from"])), tuple(sorted(blobs["adapter"]))


def context_size(show):
    """The num_ctx a model sets, capped at its trained context as the server caps it; None if unset."""
    value = None
    for line in (show.get("parameters") or "").splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[0] == "num_ctx":
            try:
                value = int(parts[1])
            except ValueError:
                return None
    info = show.get("model_info") or {}
    trained = info.get("%s.context_length" % info.get("general.architecture"))
    if value is not None and isinstance(trained, int) and 0 < trained < value:
        return trained
    return value


class Shows:
    """/api/show of each name, asked once per run."""

    def __init__(self, api):
        self.api = api
        self.cache = {}

    def get(self, name):
        key = display_name(name).lower()
        if key not in self.cache:
            try:
                self.cache[key] = self.api.call("POST", "/api/show", {"model": name}) or {}
            except WarmupError:
                self.cache[key] = {}
        return self.cache[key]


def find_loaded(api, name, shows=None):
    """The /api/ps entry of the runner serving ``name``.

    The server runs one runner per weights file, listed under the name that loaded it: a variant
    built FROM a base with only another system prompt or sampling parameters is served by a runner
    listed as the base (or as another variant) when that runner already has the variant's context size.
    """
    wanted = display_name(name).lower()
    entries = (api.call("GET", "/api/ps") or {}).get("models") or []
    for entry in entries:
        if display_name(entry.get("name") or entry.get("model") or "").lower() == wanted:
            return entry
    if not entries or shows is None:
        return None
    mine = shows.get(name)
    my_weights = weights(mine)
    if my_weights is None:
        return None
    my_context = context_size(mine)
    for entry in entries:
        other = entry.get("name") or entry.get("model")
        if not other or weights(shows.get(other)) != my_weights:
            continue
        if my_context is not None and entry.get("context_length") not in (None, my_context):
            # Another context size: this runner serves the other name only; loading this one reloads it.
            continue
        return dict(entry, served_as=other)
    return None


def is_forever(expires_at):
    try:
        year = int(str(expires_at)[:4])
    except ValueError:
        return False
    return year - time.gmtime().tm_year > FOREVER_YEARS


def describe(entry):
    size = entry.get("size") or 0
    vram = entry.get("size_vram") or 0
    share = "%d%% GPU" % round(100.0 * vram / size) if size else "size unknown"
    return "%.1f GiB, %s" % (size / 2.0**30, share)


def warm(api, model, settings, shows):
    started = time.monotonic()
    if settings["pull_missing"]:
        ensure_present(api, model, settings)
    kind, _show = model_kind(api, model)
    keep_alive = settings["keep_alive"]
    if kind == "embedding":
        api.call(
            "POST",
            "/api/embed",
            {"model": model["name"], "input": [], "keep_alive": keep_alive},
            timeout=settings["load_timeout"],
        )
    else:
        try:
            api.call(
                "POST",
                "/api/generate",
                {"model": model["name"], "keep_alive": keep_alive, "stream": False},
                timeout=settings["load_timeout"],
            )
        except WarmupError as exc:
            # kind was forced or guessed wrongly: the server says so, so use the embed API instead.
            if "does not support generate" not in str(exc):
                raise
            kind = "embedding"
            api.call(
                "POST",
                "/api/embed",
                {"model": model["name"], "input": [], "keep_alive": keep_alive},
                timeout=settings["load_timeout"],
            )
    entry = find_loaded(api, model["name"], shows)
    if entry is None:
        raise WarmupError(
            "the server accepted the load but %s is not in /api/ps (evicted? check "
            "OLLAMA_MAX_LOADED_MODELS and memory)" % model["name"]
        )
    forever_wanted = isinstance(keep_alive, (int, float)) and keep_alive < 0
    if forever_wanted and not is_forever(entry.get("expires_at")):
        raise WarmupError("%s is loaded but expires at %s instead of never" % (model["name"], entry.get("expires_at")))
    return kind, time.monotonic() - started, entry


def run(settings):
    models = settings["models"]
    if not models:
        log("no models configured in %s; nothing to do" % settings["source"])
        return EXIT_OK
    api = Api(settings)
    try:
        version, attempts = wait_for_api(api, settings["api_wait_timeout"])
    except WarmupError as exc:
        log("FAILED: %s; no model loaded" % exc)
        return EXIT_NO_API
    log(
        "Ollama %s answered at %s after %d attempt(s); loading %d model(s) from %s"
        % (version, api.base, attempts, len(models), settings["source"])
    )
    failures = []
    shows = Shows(api)
    for position, model in enumerate(models, 1):
        label = "slot %d" % model["slot"] if model["slot"] is not None else "extra"
        started = time.monotonic()
        try:
            kind, seconds, entry = warm(api, model, settings, shows)
        except WarmupError as exc:
            failures.append((model["name"], str(exc)))
            log(
                "[%d/%d] FAILED %s (%s) after %.1fs: %s"
                % (position, len(models), model["name"], label, time.monotonic() - started, exc)
            )
            continue
        log(
            "[%d/%d] loaded %s (%s, %s) in %.1fs: %s, expires %s%s"
            % (
                position,
                len(models),
                model["name"],
                label,
                kind,
                seconds,
                describe(entry),
                "never" if is_forever(entry.get("expires_at")) else entry.get("expires_at"),
                "; shares the runner listed as %s (same weights and context)" % entry["served_as"]
                if entry.get("served_as")
                else "",
            )
        )
    # A later load can push out an earlier model (OLLAMA_MAX_LOADED_MODELS, memory): look once more.
    failed_names = set(name for name, _reason in failures)
    for model in models:
        if model["name"] in failed_names:
            continue
        try:
            gone = find_loaded(api, model["name"], shows) is None
        except WarmupError as exc:
            failures.append((model["name"], "cannot re-check /api/ps: %s" % exc))
            continue
        if gone:
            reason = "evicted by a later load; raise OLLAMA_MAX_LOADED_MODELS or free GPU memory"
            mine = weights(shows.get(model["name"]))
            rivals = [
                other["name"]
                for other in models
                if other is not model and mine is not None and weights(shows.get(other["name"])) == mine
            ]
            if rivals:
                reason = (
                    "shares its weights with %s but needs another context size; Ollama keeps one runner per "
                    "weights file and reloads it when num_ctx changes, so give them the same num_ctx"
                    % ", ".join(rivals)
                )
            failures.append((model["name"], reason))
            log("FAILED %s: %s" % (model["name"], reason))
    if failures:
        log(
            "summary: %d of %d model(s) loaded; FAILED: %s"
            % (len(models) - len(failures), len(models), "; ".join("%s (%s)" % item for item in failures))
        )
        return EXIT_FAILED
    log("summary: all %d model(s) loaded and kept in memory" % len(models))
    return EXIT_OK


def main(argv=None, environ=None):
    environ = os.environ if environ is None else environ
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--config",
        default=environ.get("OLLAMA_WARMUP_CONFIG", DEFAULT_CONFIG),
        help="JSON config (default %(default)s); without it OLLAMA_PRELOAD_MODELS is used",
    )
    parser.add_argument("--url", help="Ollama API address, overrides the config")
    args = parser.parse_args(argv)
    try:
        settings = load_config(args.config, environ)
    except (WarmupError, TypeError, ValueError) as exc:
        log("FAILED: %s" % exc)
        return EXIT_CONFIG
    if args.url:
        settings["url"] = args.url.rstrip("/")
    return run(settings)


if __name__ == "__main__":
    sys.exit(main())
