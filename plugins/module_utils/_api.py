# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one Ollama HTTP client of the collection.

PRIVATE to the collection: may change at any time. Built on ``ansible.module_utils.urls`` so
managed nodes need nothing installed; does not import AnsibleModule, so tests and other plugins
can use it with plain values. It knows the API's transport, its errors and its streams; modules
know desired state.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import re
import ssl
import time
from http.client import HTTPException
from urllib.error import HTTPError, URLError

from ansible_collections.llmops.ollama.plugins.module_utils._state import find_listed
from ansible_collections.llmops.ollama.plugins.module_utils._urls import (
    Request,
    SSLValidationError,
    UrlsConnectionError,
    make_context,
)

DEFAULT_URL = "http://127.0.0.1:11434"
STRUCTURED_CREATE_SINCE = (0, 5, 5)
USER_AGENT = "llmops.ollama"

CONNECTION_ARGUMENT_SPEC = dict(
    url=dict(type="str"),
    api_token=dict(type="str", no_log=True),
    validate_certs=dict(type="bool", default=True),
    ca_path=dict(type="path"),
    client_cert=dict(type="path"),
    client_key=dict(type="path", no_log=False),
    timeout=dict(type="int", default=30),
    wait_timeout=dict(type="int", default=0),
)


def connection_argument_spec():
    return dict((key, dict(value)) for key, value in CONNECTION_ARGUMENT_SPEC.items())


def normalise_url(value):
    """Base URL from ``OLLAMA_HOST``-style text, parsed the way the Ollama server parses it.

    ``[scheme://]host[:port][/path]``; without a scheme the scheme is http and the port 11434,
    with ``http://`` the port is 80 and with ``https://`` 443. The unspecified bind addresses
    (``0.0.0.0``, ``::``) become loopback, which is where a client finds such a server.
    """
    text = (value or "").strip().strip("'\"").strip()
    if not text:
        return DEFAULT_URL
    default_port = "11434"
    if "://" in text:
        scheme, hostport = text.split("://", 1)
        scheme = scheme.lower()
        if scheme == "http":
            default_port = "80"
        elif scheme == "https":
            default_port = "443"
    else:
        scheme, hostport = "http", text
        if text == "ollama.com":
            scheme, hostport = "https", "ollama.com:443"
    path = ""
    if "/" in hostport:
        hostport, path = hostport.split("/", 1)
        path = "/" + path.rstrip("/") if path.strip("/") else ""
    host, port = hostport, default_port
    bracketed = re.match(r"^\[([^\]]*)\](?::(\d*))?$", hostport)
    if bracketed:
        host = bracketed.group(1)
        port = bracketed.group(2) or default_port
    elif hostport.count(":") == 1:
        host, port = hostport.split(":", 1)
        port = port or default_port
    if not host:
        host = "127.0.0.1"
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    if not port.isdigit() or int(port) > 65535:
        raise ValueError("%r is not a valid Ollama address: bad port %r" % (value, port))
    if ":" in host:
        host = "[%s]" % host
    return "%s://%s:%s%s" % (scheme, host, port, path)


def parse_version(text):
    """``"0.5.4"`` → ``(0, 5, 4)``; pre-release suffixes are ignored; dev builds (0.0.0) are new."""
    numbers = re.findall(r"\d+", (text or "").split("-")[0].split("+")[0])[:3]
    parsed = tuple(int(n) for n in numbers) + (0,) * (3 - len(numbers))
    if parsed == (0, 0, 0):
        return (999, 0, 0)
    return parsed


def open_url(url, method=None, context=None, **kwargs):
    """``ansible.module_utils.urls.open_url`` with a TLS context given by the caller.

    ``open_url`` itself takes no context and so builds one per request; ``Request`` takes one.
    """
    return Request().open(method, url, context=context, **kwargs)


def _monotonic():
    return time.monotonic()


def _sleep(seconds):
    time.sleep(seconds)


class OllamaError(Exception):
    """A failed API call: what was attempted, for which model, at which address, and why.

    ``str()`` is the user-facing message. It carries the server's own ``error`` text and a hint
    when the fix is known; the API token never appears in it.
    """

    def __init__(self, action, detail, url, *, model=None, status=None, hint=None, server_message=None):
        self.action = action
        self.detail = detail
        self.url = url
        self.model = model
        self.status = status
        self.hint = hint
        self.server_message = server_message
        super(OllamaError, self).__init__(self.message)

    @property
    def message(self):
        target = "model %r " % self.model if self.model else ""
        text = "Failed to %s %sat %s: %s" % (self.action, target, self.url, self.detail)
        if self.status:
            text += " (HTTP %s)" % self.status
        if self.hint:
            text += ". %s" % self.hint
        return text

    def __str__(self):
        return self.message


class _DeferredContext:
    """The TLS context of one client, built on its first use and then reused.

    ``open_url`` builds a context for every request unless given one, and building one reads every
    CA certificate of the host (about 50 ms each time). Plain-HTTP calls never need one, so this
    stand-in builds nothing until an HTTPS connection (an https URL, or a redirect to one) reads or
    sets an attribute of it; from then on every attribute is the real context's, the one
    ``open_url`` would have built. Even an empty ``ssl.SSLContext`` costs a millisecond or two
    (OpenSSL reads its configuration), which is why this is not a subclass of it.
    """

    def __init__(self, factory):
        object.__setattr__(self, "_llmops_factory", factory)
        object.__setattr__(self, "_llmops_real", None)

    def real(self):
        if self._llmops_real is None:
            object.__setattr__(self, "_llmops_real", self._llmops_factory())
        return self._llmops_real

    def __getattr__(self, name):
        return getattr(self.real(), name)

    def __setattr__(self, name, value):
        setattr(self.real(), name, value)


def redact_token(text, token):
    """``text`` with the token (as given, or stripped as the client sends it) masked."""
    text = "" if text is None else str(text)
    for form in sorted(set((token or "", (token or "").strip())), key=len, reverse=True):
        if form.strip():
            text = text.replace(form, "********")
    return text


def _checked_token(token):
    """The bearer token without surrounding whitespace; refused when it cannot be a header value.

    A token read from a file or a YAML block scalar ends with a line break, which http.client
    would refuse with an error that quotes the whole header, token included. The message here
    never contains the token.
    """
    token = (token or "").strip()
    if re.search(r"[\x00-\x20\x7f]", token):
        raise ValueError(
            "api_token contains a line break, a space or another control character; a bearer token has none"
        )
    return token or None


class OllamaClient:
    """Talks to one Ollama server. Every method raises OllamaError on failure."""

    def __init__(
        self,
        url=None,
        *,
        api_token=None,
        validate_certs=True,
        ca_path=None,
        client_cert=None,
        client_key=None,
        timeout=30,
        wait_timeout=0,
        clock=None,
        sleep=None,
    ):
        self.url = normalise_url(url or os.environ.get("OLLAMA_HOST"))
        self._token = _checked_token(api_token)
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.client_cert = client_cert
        self.client_key = client_key
        self.timeout = timeout
        self.wait_timeout = wait_timeout or 0
        self.clock = clock or _monotonic
        self.sleep = sleep or _sleep
        self.requests = 0
        self._answered = False
        self._context = None
        self._version = None

    @classmethod
    def from_params(cls, params, **kwargs):
        return cls(
            url=params.get("url"),
            api_token=params.get("api_token"),
            validate_certs=params.get("validate_certs", True),
            ca_path=params.get("ca_path"),
            client_cert=params.get("client_cert"),
            client_key=params.get("client_key"),
            timeout=params.get("timeout") or 30,
            wait_timeout=params.get("wait_timeout") or 0,
            **kwargs,
        )

    # -----------------------------------------------------------------------------------------
    # transport

    def redact(self, text):
        return redact_token(text, self._token)

    def _error(self, action, detail, *, model=None, status=None, hint=None, server_message=None):
        return OllamaError(
            action,
            self.redact(detail),
            self.url,
            model=model,
            status=status,
            hint=self.redact(hint) if hint else None,
            server_message=self.redact(server_message) if server_message else None,
        )

    def _make_context(self):
        return make_context(
            cafile=self.ca_path,
            validate_certs=self.validate_certs,
            client_cert=self.client_cert,
            client_key=self.client_key,
        )

    def tls_context(self):
        """The one TLS context of this client."""
        if self._context is None:
            self._context = _DeferredContext(self._make_context)
        return self._context

    def _send(self, method, path, data, headers, timeout):
        return open_url(
            self.url + path,
            data=data,
            headers=headers,
            method=method,
            timeout=timeout,
            validate_certs=self.validate_certs,
            ca_path=self.ca_path,
            client_cert=self.client_cert,
            client_key=self.client_key,
            http_agent=USER_AGENT,
            follow_redirects="urllib2",
            context=self.tls_context(),
        )

    def open(self, method, path, body=None, *, action="call", model=None, timeout=None, data=None, headers=None):
        """Send one request and return the open response; HTTP and network errors raise."""
        hdrs = {"Accept": "application/json"}
        if self._token:
            hdrs["Authorization"] = "Bearer %s" % self._token
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            hdrs["Content-Type"] = "application/json"
        hdrs.update(headers or {})
        use_timeout = self.timeout if timeout is None else timeout
        deadline = None
        delay = 0.25
        while True:
            self.requests += 1
            try:
                response = self._send(method, path, data, hdrs, use_timeout or None)
                self._answered = True
                return response
            except HTTPError as exc:
                self._answered = True
                try:
                    raw = exc.read()
                except Exception:
                    raw = b""
                # Imported here: only a failed call needs the explanations of failures.
                from ansible_collections.llmops.ollama.plugins.module_utils._diagnose import (  # noqa: PLC0415
                    error_text,
                    hint,
                )

                message = error_text(raw) or str(exc.reason or "")
                raise self._error(
                    action,
                    message or "HTTP error",
                    model=model,
                    status=exc.code,
                    hint=hint(action, exc.code, message, path),
                    server_message=message,
                )
            except (OSError, URLError, UrlsConnectionError, SSLValidationError, HTTPException) as exc:
                from ansible_collections.llmops.ollama.plugins.module_utils._diagnose import (  # noqa: PLC0415
                    is_tls_failure,
                )

                tls = is_tls_failure(exc)
                reason = exc if tls and isinstance(exc, ssl.SSLError) else getattr(exc, "reason", None) or exc
                if not tls and self.wait_timeout and not self._answered:
                    if deadline is None:
                        deadline = self.clock() + self.wait_timeout
                    if self.clock() + delay < deadline:
                        self.sleep(delay)
                        delay = min(delay * 2, 2.0)
                        continue
                raise self._transport_error(action, model, reason, use_timeout)

    def _transport_error(self, action, model, reason, timeout):
        from ansible_collections.llmops.ollama.plugins.module_utils._diagnose import (  # noqa: PLC0415
            transport_problem,
        )

        detail, hint = transport_problem(reason, timeout, self.wait_timeout)
        return self._error(action, detail, model=model, hint=hint)

    def request(self, method, path, body=None, *, action="call", model=None, timeout=None):
        """One request, whole answer: parsed JSON, or None for the API's empty success bodies."""
        response = self.open(method, path, body=body, action=action, model=model, timeout=timeout)
        try:
            raw = response.read()
        except (OSError, HTTPException) as exc:
            raise self._transport_error(action, model, exc, timeout or self.timeout)
        finally:
            response.close()
        if not raw or not raw.strip():
            return None
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError:
            raise self._error(action, "the server's answer is not JSON: %r" % raw[:200], model=model)

    def stream(self, path, body, *, action, model, stall_timeout=300, progress=None):
        """POST a streaming call and read its NDJSON answer one line at a time.

        Streamed rather than ``"stream": false`` (which would make the HTTP status tell the
        outcome) because a multi-GB pull must show progress and fail when it stalls, and a
        non-streamed call is silent until the very end.

        Memory stays constant: lines are folded into ``progress`` and dropped. Any line carrying
        ``error`` fails, even under HTTP 200; the stream must end with ``{"status":"success"}``.
        ``stall_timeout`` is the longest silence or lack of progress tolerated (socket read
        timeout plus a progress clock); there is no total time limit.
        """
        # Imported here: most runs neither pull nor create.
        from ansible_collections.llmops.ollama.plugins.module_utils._transfer import read_stream  # noqa: PLC0415

        stall = stall_timeout if stall_timeout and stall_timeout > 0 else None
        response = self.open("POST", path, body=body, action=action, model=model, timeout=stall or 0)
        read_stream(self, response, path, action=action, model=model, stall=stall, progress=progress)

    # -----------------------------------------------------------------------------------------
    # API

    def version(self):
        if self._version is None:
            answer = self.request("GET", "/api/version", action="read the version of the server")
            self._version = (answer or {}).get("version") or "0.0.0"
        return self._version

    def supports_structured_create(self):
        return parse_version(self.version()) >= STRUCTURED_CREATE_SINCE

    def list_models(self):
        answer = self.request("GET", "/api/tags", action="list the models")
        return (answer or {}).get("models") or []

    def running(self):
        answer = self.request("GET", "/api/ps", action="list the loaded models")
        return (answer or {}).get("models") or []

    def show(self, name):
        """``/api/show`` for ``name``, or None when the server does not have it."""
        try:
            return self.request("POST", "/api/show", {"model": name}, action="show", model=name)
        except OllamaError as exc:
            if exc.status == 404:
                return None
            raise

    def pull(self, name, insecure=False, stall_timeout=300, progress=None):
        body = {"model": name, "stream": True}
        if insecure:
            body["insecure"] = True
        self.stream("/api/pull", body, action="pull", model=name, stall_timeout=stall_timeout, progress=progress)

    def create(self, name, request, stall_timeout=300, progress=None):
        body = dict(request)
        body["model"] = name
        body["stream"] = True
        self.stream("/api/create", body, action="create", model=name, stall_timeout=stall_timeout, progress=progress)

    def copy(self, source, destination):
        body = {"source": source, "destination": destination}
        self.request("POST", "/api/copy", body, action="copy", model=source)

    def delete(self, name):
        # The server reads the name from the JSON body of this DELETE.
        self.request("DELETE", "/api/delete", {"model": name}, action="delete", model=name)

    def load(self, name, keep_alive, kind="completion"):
        """Load into memory: generate without prompt, or embed with empty input (embedding models
        refuse generate)."""
        if kind == "embedding":
            body = {"model": name, "input": [], "keep_alive": keep_alive}
            return self.request("POST", "/api/embed", body, action="load", model=name, timeout=max(self.timeout, 300))
        body = {"model": name, "keep_alive": keep_alive, "stream": False}
        return self.request("POST", "/api/generate", body, action="load", model=name, timeout=max(self.timeout, 300))

    def unload(self, name):
        # keep_alive 0 without a prompt unloads any kind of model: the server checks it before
        # capabilities.
        body = {"model": name, "keep_alive": 0, "stream": False}
        return self.request("POST", "/api/generate", body, action="unload", model=name)

    def find_running(self, name, digest=None, models=None):
        models = self.running() if models is None else models
        entry = find_listed(models, name)
        if entry is None and digest:
            for candidate in models:
                if candidate.get("digest") == digest:
                    return candidate
        return entry

    def wait_running(self, name, present, digest=None, deadline_seconds=None, match=None):
        """Poll /api/ps until ``name`` is (or is no longer) listed; unloading is asynchronous.

        ``match(models)`` may replace the name/digest lookup, for runners listed under another name.
        """
        deadline = self.clock() + (deadline_seconds if deadline_seconds is not None else max(self.timeout, 1))
        delay = 0.05
        while True:
            models = self.running()
            entry = match(models) if match is not None else self.find_running(name, digest, models)
            if (entry is not None) == present:
                return entry
            if self.clock() >= deadline:
                listed = sorted(str(m.get("name") or m.get("model")) for m in models)
                raise self._error(
                    "load" if present else "unload",
                    "the model is %s listed by /api/ps after %s seconds (it lists: %s)"
                    % ("not" if present else "still", deadline_seconds or self.timeout, ", ".join(listed) or "nothing"),
                    model=name,
                    hint="The server is slow to %s it; raise timeout" % ("load" if present else "unload"),
                )
            self.sleep(delay)
            delay = min(delay * 2, 1.0)

    def blob_exists(self, digest):
        try:
            self.request("HEAD", "/api/blobs/%s" % digest, action="check blob %s for" % digest)
        except OllamaError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def upload_blob(self, path, digest=None, stall_timeout=300):
        """Upload a local file as ``sha256:<hex>`` unless the server already has it: ``(digest, sent)``."""
        from ansible_collections.llmops.ollama.plugins.module_utils._transfer import upload_blob  # noqa: PLC0415

        return upload_blob(self, path, digest, stall_timeout)
