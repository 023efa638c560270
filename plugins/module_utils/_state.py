# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""keep_alive normalisation, /api/show data and the model views that results and diffs are made of.

PRIVATE to the collection: may change at any time. Pure functions, no Ansible imports and no
I/O, so unit tests call them directly and the modules share one notion of "the same model".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.llmops.ollama.plugins.module_utils._names import same_model

# The Ollama CLI prints "Forever" for an expiry more than 20 years ahead; the server's own
# "forever" is about 292 years ahead, so any threshold in between works.
FOREVER_AFTER_SECONDS = 20 * 365 * 24 * 3600

# Patterns rather than compiled expressions: each module run is a new process, and most runs never
# parse a keep_alive string or a blob path (``re`` compiles and caches a pattern on first use).
_NUMBER = r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$"
_DURATION_PART = r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)"
_DURATION_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


class KeepAliveError(ValueError):
    """A keep_alive value the server would refuse."""


def _go_duration_seconds(text):
    """Seconds for a Go duration string such as ``1h30m``, or None when it is not one."""
    body = text
    sign = 1.0
    if body[:1] in "+-":
        sign = -1.0 if body[0] == "-" else 1.0
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        return None
    total = 0.0
    pos = 0
    while pos < len(body):
        match = re.compile(_DURATION_PART).match(body, pos)
        if not match:
            return None
        total += float(match.group(1)) * _DURATION_UNIT_SECONDS[match.group(2)]
        pos = match.end()
    return sign * total


def keep_alive_seconds(value):
    """Normalise a keep_alive as the user wrote it into seconds (negative = forever).

    Numbers are seconds, as the API reads them. A string holding a bare number is taken as that
    number: YAML and ``-e`` easily turn ``-1`` into ``"-1"``, which the server would refuse
    (400 "missing unit in duration"). Other strings must be Go durations (``24h``, ``90m``,
    ``1h30m``). Raises KeepAliveError, before any request, for anything the server would refuse.
    """
    if isinstance(value, bool) or value is None:
        raise KeepAliveError(
            "keep_alive must be a number of seconds (-1 = forever, 0 = unload) or a duration such as '24h', got %r"
            % (value,)
        )
    if isinstance(value, (int, float)):
        return float(value)
    if not isinstance(value, str):
        raise KeepAliveError("keep_alive must be a number or a duration string, got %s" % type(value).__name__)
    text = value.strip().strip("'\"").strip()
    if re.match(_NUMBER, text):
        return float(text)
    seconds = _go_duration_seconds(text)
    if seconds is None:
        hint = ""
        if text[-1:] == "d":
            hint = "; days are not supported, use hours (e.g. '48h')"
        raise KeepAliveError(
            "keep_alive %r is not valid: use a number of seconds (-1 = forever) or a duration such as "
            "'24h', '90m' or '1h30m'%s" % (value, hint)
        )
    return seconds


def keep_alive_payload(seconds):
    """The JSON value to send: -1 for forever, else whole seconds when possible."""
    if seconds < 0:
        return -1
    if seconds == int(seconds):
        return int(seconds)
    return seconds


def describe_keep_alive(seconds):
    if seconds < 0:
        return "forever"
    if seconds == 0:
        return "0 (unload)"
    if seconds % 3600 == 0:
        return "%dh" % (seconds // 3600)
    if seconds % 60 == 0:
        return "%dm" % (seconds // 60)
    return "%gs" % seconds


# ---------------------------------------------------------------------------------------------
# Timestamps and loaded models


def parse_timestamp(text):
    """Parse the server's RFC 3339 timestamps (nanoseconds, any zone) into an aware datetime."""
    if not text or not isinstance(text, str):
        return None
    match = re.match(
        r"^(\d{4,})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)?$",
        text.strip(),
    )
    if not match:
        return None
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    micro = int((match.group(7) or ".0")[1:7].ljust(6, "0"))
    zone = match.group(8)
    offset = datetime.timedelta(0)
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    try:
        return datetime.datetime(year, month, day, hour, minute, second, micro, tzinfo=datetime.timezone(offset))
    except (ValueError, OverflowError):
        return None


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def seconds_left(expires_at, now=None):
    moment = parse_timestamp(expires_at)
    if moment is None:
        return None
    now = now or utcnow()
    return (moment - now).total_seconds()


def is_forever(expires_at, now=None):
    left = seconds_left(expires_at, now)
    return left is not None and left > FOREVER_AFTER_SECONDS


def keep_alive_satisfied(ps_entry, wanted_seconds, now=None):
    """True when a loaded model already has the keep-alive asked for.

    "Forever" is recognised by an expiry more than 20 years ahead. A finite keep-alive counts as
    satisfied when the remaining time is within a minute (or 5 %) of it: an immediate re-run is a
    no-op, a later run refreshes the timer, which is a real change.
    """
    if ps_entry is None:
        return False
    forever = is_forever(ps_entry.get("expires_at"), now)
    if wanted_seconds < 0:
        return forever
    if forever:
        return False
    left = seconds_left(ps_entry.get("expires_at"), now)
    if left is None:
        return False
    return abs(left - wanted_seconds) <= max(60.0, wanted_seconds * 0.05)


def gpu_percent(size, size_vram):
    if not size:
        return None
    return round(100.0 * min(size_vram or 0, size) / size)


def find_listed(models, name):
    """The entry of /api/tags or /api/ps that denotes ``name`` (defaults applied, any case)."""
    for entry in models or []:
        listed = entry.get("name") or entry.get("model")
        if not listed:
            continue
        try:
            if same_model(listed, name):
                return entry
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------------------------------------
# /api/show data


def parse_show_parameters(text):
    """Turn /api/show ``parameters`` (``key   value`` lines, random order) into a typed dict.

    Values are Go ``%#v`` renderings: quoted strings, bare numbers and booleans. ``stop`` (the
    only list option) is always a list, and repeated keys accumulate.
    """
    result = {}
    for raw_line in (text or "").splitlines():
        line = raw_line.strip()
        if not line:
            continue
        parts = line.split(None, 1)
        key = parts[0]
        raw = parts[1].strip() if len(parts) > 1 else ""
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
        if key == "stop":
            result.setdefault("stop", []).append(value if isinstance(value, str) else str(value))
        elif key in result:
            # Repeated non-list keys only come from hand-made data; keep every value visible.
            previous = result[key]
            result[key] = (previous if isinstance(previous, list) else [previous]) + [value]
        else:
            result[key] = value
    return result


_BLOB_DIGEST = r"sha256[-:]([0-9a-fA-F]{64})"


def modelfile_blobs(modelfile_text):
    """``{"from": [hex...], "adapter": [hex...]}`` from the Modelfile that /api/show returns.

    The server writes ``FROM <blob path>`` for the model layer (and ``ADAPTER <blob path>``), so
    the blob's sha256 identifies the weights a model runs, whatever name it was built from.
    """
    found = {"from": [], "adapter": []}
    for line in (modelfile_text or "").splitlines():
        parts = line.strip().split(None, 1)
        if len(parts) != 2:
            continue
        key = parts[0].lower()
        if key not in found:
            continue
        match = re.search(_BLOB_DIGEST, parts[1])
        if match:
            found[key].append(match.group(1).lower())
    return found


def weights_identity(show):
    """What identifies the weights of a model: its model-layer blob digest when the server shows
    one, otherwise a fingerprint of ``details`` and ``model_info`` (coarser, but stable)."""
    if not show:
        return None
    blobs = modelfile_blobs(show.get("modelfile"))
    if blobs["from"]:
        return "blob:" + ",".join(sorted(blobs["from"]))
    details = show.get("details") or {}
    info = show.get("model_info") or {}
    fingerprint = {
        "format": details.get("format"),
        "family": details.get("family"),
        "parameter_size": details.get("parameter_size"),
        "quantization_level": details.get("quantization_level"),
        "parameter_count": info.get("general.parameter_count"),
    }
    if not any(fingerprint.values()):
        return None
    return "details:" + json.dumps(fingerprint, sort_keys=True)


def detect_kind(show, tags_entry=None):
    """``embedding`` or ``completion``.

    Servers since 0.6.4 list ``capabilities`` in /api/show (0.30+ also in /api/tags); older ones
    do not, and an embedding model is then recognised by a ``<arch>.pooling_type`` key in
    ``model_info``, the same GGUF key the server derives the capability from.
    """
    capabilities = None
    if show and show.get("capabilities") is not None:
        capabilities = show.get("capabilities")
    elif tags_entry and tags_entry.get("capabilities") is not None:
        capabilities = tags_entry.get("capabilities")
    if capabilities is not None:
        if "embedding" in capabilities and "completion" not in capabilities:
            return "embedding"
        return "completion"
    info = (show or {}).get("model_info") or {}
    if any(key.endswith(".pooling_type") for key in info):
        return "embedding"
    return "completion"


# ---------------------------------------------------------------------------------------------
# Views


def model_view(name, tags_entry=None, show=None, ps_entry=None, checked_loaded=True):
    """The small, normalised picture of one model that results and diffs are made of."""
    view = {
        "name": name,
        "present": tags_entry is not None or show is not None,
        "digest": (tags_entry or {}).get("digest"),
        "disk_size": (tags_entry or {}).get("size"),
        "kind": None,
        "capabilities": None,
        "details": (show or tags_entry or {}).get("details"),
        "parameters": None,
        "template": None,
        "system": None,
        "loaded": None,
        "expires_at": None,
        "forever": None,
        "size": None,
        "size_vram": None,
        "gpu_percent": None,
    }
    if tags_entry is not None or show is not None:
        view["kind"] = detect_kind(show, tags_entry)
        caps = (show or {}).get("capabilities")
        if caps is None:
            caps = (tags_entry or {}).get("capabilities")
        view["capabilities"] = sorted(caps) if caps is not None else None
    if show is not None:
        view["parameters"] = parse_show_parameters(show.get("parameters"))
        view["template"] = show.get("template") or ""
        view["system"] = show.get("system") or ""
    if checked_loaded:
        apply_loaded(view, ps_entry)
    return view


def apply_loaded(view, ps_entry, now=None):
    view["loaded"] = ps_entry is not None
    if ps_entry is None:
        view.update(expires_at=None, forever=None, size=None, size_vram=None, gpu_percent=None)
        return view
    size = ps_entry.get("size")
    size_vram = ps_entry.get("size_vram")
    view.update(
        expires_at=ps_entry.get("expires_at"),
        forever=is_forever(ps_entry.get("expires_at"), now),
        size=size,
        size_vram=size_vram,
        gpu_percent=gpu_percent(size, size_vram),
    )
    if ps_entry.get("context_length") is not None:
        view["context_length"] = ps_entry.get("context_length")
    return view


DIFF_KEYS = ("present", "digest", "parameters", "template", "system", "loaded", "forever")


def diff_view(view):
    """The part of a view shown by ``--diff``; keys that were not looked at are left out."""
    return dict((key, view.get(key)) for key in DIFF_KEYS if view.get(key) is not None)
