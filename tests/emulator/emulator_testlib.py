# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Helpers for the emulator's tests: raw HTTP that shows statuses, headers and bytes as sent.

A module of its own (not conftest) so that tests can import it even when pytest collects other
directories with their own conftest.py in the same run.
"""

import http.client
import json
import os
import time
import urllib.parse

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
EMULATOR_PY = os.path.join(HERE, "ollama_emulator.py")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body

    @property
    def content_type(self):
        return self.headers.get("Content-Type")

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def lines(self):
        """NDJSON objects; the last line may lack its newline."""
        return [json.loads(line) for line in self.body.decode("utf-8").splitlines() if line.strip()]


class Api:
    """Raw HTTP against one emulator, so tests see statuses, headers and bytes as sent."""

    def __init__(self, url, ssl_context=None, token=None):
        self.url = url
        parsed = urllib.parse.urlsplit(url)
        self.host = parsed.hostname
        self.port = parsed.port
        self.https = parsed.scheme == "https"
        self.ssl_context = ssl_context
        self.token = token

    def connection(self, timeout=10):
        if self.https:
            return http.client.HTTPSConnection(self.host, self.port, timeout=timeout, context=self.ssl_context)
        return http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def request(self, method, path, body=None, *, raw=None, headers=None, timeout=10):
        headers = dict(headers or {})
        data = raw
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        if self.token:
            headers.setdefault("Authorization", "Bearer %s" % self.token)
        conn = self.connection(timeout)
        try:
            conn.request(method, path, body=data, headers=headers)
            response = conn.getresponse()
            payload = response.read()
            return Response(response.status, response.headers, payload)
        finally:
            conn.close()

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, body=body, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def control(self, method, path, body=None):
        response = self.request(method, "/_emulator/" + path, body=body)
        assert response.status == 200, response.body
        return response.json()

    def pull(self, name, **extra):
        response = self.post("/api/pull", dict({"model": name, "stream": False}, **extra), timeout=60)
        assert response.status == 200, response.body
        return response

    def local(self, name, from_catalog=None):
        return self.control("POST", "local", {"model": name, "from_catalog": from_catalog or name})

    def ps(self):
        return self.get("/api/ps").json()["models"]

    def tags(self):
        return self.get("/api/tags").json()["models"]

    def requests(self):
        return self.control("GET", "requests")["requests"]


def wait_until(predicate, timeout=10.0, interval=0.02, message="condition"):
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail("timed out after %.1fs waiting for %s" % (timeout, message))
        time.sleep(interval)
