# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Why an Ollama API call failed, in words a user can act on.

PRIVATE to the collection: may change at any time. ``_api`` imports this only when a call has
failed: a module run that succeeds never compiles it.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import re
import socket
import ssl

from ansible_collections.llmops.ollama.plugins.module_utils._urls import SSLValidationError

# Texts of TLS failures that do not arrive as an ssl.SSLError: the alert names of a refused
# handshake (unknown CA, certificate required...), an EOF in the middle of one, a plain-HTTP answer.
_TLS_TEXT = re.compile(r"tlsv|\bssl|certificate|alert|handshake|violation of protocol|wrong.version.number", re.I)


def error_text(body):
    """The server's message: the ``error`` member of a JSON body, else the plain text."""
    if body is None:
        return ""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    body = body.strip()
    try:
        data = json.loads(body)
    except ValueError:
        return body[:500]
    if isinstance(data, dict) and data.get("error"):
        error = data["error"]
        if isinstance(error, dict):
            return str(error.get("message") or error)
        return str(error)
    return body[:500]


def is_tls_failure(exc):
    """Whether a transport error is a TLS failure, wherever in the exception chain it sits.

    Retrying such a failure cannot help, and "is the server running" would send the user the
    wrong way: the server answered, it only refused the handshake (or we refused its certificate).
    """
    seen = []
    pending = [exc]
    while pending and len(seen) < 10:
        item = pending.pop()
        if item is None or any(item is other for other in seen):
            continue
        seen.append(item)
        if isinstance(item, (ssl.SSLError, ssl.CertificateError, SSLValidationError)):
            return True
        if isinstance(item, BaseException):
            pending.extend((getattr(item, "reason", None), item.__cause__, item.__context__))
    return any(_TLS_TEXT.search(str(item)) for item in seen)


def transport_problem(reason, timeout, wait_timeout):
    """``(detail, hint)`` for a call that got no HTTP answer: a timeout, a TLS failure or no server."""
    text = str(reason)
    if isinstance(reason, (socket.timeout,)) or "timed out" in text:
        return (
            "no answer within %s seconds (%s)" % (timeout, text),
            "Raise timeout (or stall_timeout for pulls and creates), or check the server's load",
        )
    if is_tls_failure(reason):
        return "TLS error: %s" % text, "Check validate_certs, ca_path, client_cert and client_key"
    hint = "Is the Ollama server running (systemctl status ollama) and is url right?"
    if wait_timeout:
        hint += " It did not answer within wait_timeout=%s seconds" % wait_timeout
    else:
        hint += " Set wait_timeout when the host has just booted"
    return "cannot connect: %s" % text, hint


def hint(action, status, message, path):
    """The known fix for an error the server gave, or None."""
    text = (message or "").lower()
    if status in (401,):
        return "The server wants authentication: check api_token"
    if status == 403:
        return (
            "The server refused the request: check api_token, or, for a bare 403, the server's Host-header "
            "check (a server bound to 127.0.0.1 behind a proxy needs OLLAMA_HOST=0.0.0.0 or a local Host)"
        )
    if "page not found" in text or (status == 405 and "method not allowed" in text):
        return "This Ollama server does not provide %s; upgrade Ollama" % path
    if "path or modelfile are required" in text:
        return "The server expects the pre-0.5.5 create request; upgrade Ollama or check that /api/version is honest"
    if "neither 'from' or 'files' was specified" in text:
        return "The server expects the structured create request of Ollama 0.5.5 and later"
    if action.startswith("pull") or "pull model manifest" in text:
        if "file does not exist" in text or status == 404:
            return (
                "Check the model name and tag: the registry does not have it (a private registry needs "
                "host/namespace/model:tag, and insecure: true when it speaks plain HTTP)"
            )
        if "pull model manifest" in text:
            return "Check that the registry is reachable from the Ollama server (proxy, DNS, firewall)"
    if "does not support generate" in text or "does not support chat" in text:
        return "This is an embedding model: use kind: embedding or kind: auto"
    if "does not support embeddings" in text:
        return "This is not an embedding model: use kind: completion or kind: auto"
    if "memory" in text and action.startswith("load"):
        return "The model does not fit: unload other models, lower num_ctx or choose a smaller quantization"
    if "invalid model name" in text or ("is invalid" in text and action.startswith("delete")):
        return "Model names are [host[:port]/namespace/]model[:tag]"
    if status == 503:
        return "The server is busy (queue full); retry later or raise OLLAMA_MAX_QUEUE"
    if status == 404 and action.startswith(("load", "show", "unload", "delete")):
        return "The model is not on the server: pull or create it first (state: present)"
    return None
