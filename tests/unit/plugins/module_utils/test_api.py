# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import json

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._api import (
    OllamaClient,
    OllamaError,
    normalise_url,
    parse_version,
)
from ansible_collections.llmops.ollama.plugins.module_utils._progress import Progress

URL = "http://127.0.0.1:11434"


@pytest.mark.parametrize(
    "value, url",
    [
        (None, URL),
        ("", URL),
        ("0.0.0.0", URL),
        ("0.0.0.0:11500", "http://127.0.0.1:11500"),
        ('"gpu01:11434"', "http://gpu01:11434"),
        ("http://gpu01", "http://gpu01:80"),
        ("https://gpu01", "https://gpu01:443"),
        ("https://proxy.example.com/ollama/", "https://proxy.example.com:443/ollama"),
        ("[::1]:11434", "http://[::1]:11434"),
        ("ollama.com", "https://ollama.com:443"),
    ],
)
def test_url_is_parsed_like_ollama_host(value, url):
    assert normalise_url(value) == url


def test_url_defaults_to_the_environment(monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "10.0.0.5")
    assert OllamaClient().url == "http://10.0.0.5:11434"


def test_version_parsing():
    assert parse_version("0.5.4") < (0, 5, 5) <= parse_version("0.5.5-rc1")
    assert parse_version("0.0.0") > (0, 32, 0)


def test_token_is_sent_as_bearer_and_never_appears_in_errors(fake):
    fake.token = "s3cret-token"
    client = OllamaClient(URL, api_token="s3cret-token")
    assert client.list_models() == []
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer s3cret-token"
    wrong = OllamaClient(URL, api_token="other-token")
    with pytest.raises(OllamaError) as caught:
        wrong.pull("llama3.2")
    assert caught.value.status == 401
    assert "other-token" not in str(caught.value)
    assert "api_token" in str(caught.value)


def test_server_message_echoing_the_token_is_redacted(fake):
    client = OllamaClient(URL, api_token="tok-123")
    fake.add_catalog("llama3.2")
    fake.faults["pull"] = {"error_after": 1, "error": "registry said tok-123 is bad"}
    with pytest.raises(OllamaError) as caught:
        client.pull("llama3.2")
    assert "tok-123" not in str(caught.value)
    assert "********" in str(caught.value)


def test_connection_refused_names_url_and_suggests_the_service(fake):
    fake.refuse = 1
    with pytest.raises(OllamaError) as caught:
        OllamaClient(URL).list_models()
    message = str(caught.value)
    assert URL in message
    assert "Connection refused" in message
    assert "systemctl status ollama" in message


def test_wait_timeout_retries_until_the_api_answers(fake, clock):
    fake.refuse = 3
    assert OllamaClient(URL, wait_timeout=30).version() == "0.32.15"
    assert len(clock.slept) == 3
    assert clock.slept == sorted(clock.slept)


def test_wait_timeout_gives_up_at_the_deadline(fake, clock):
    fake.refuse = 1000
    with pytest.raises(OllamaError, match="wait_timeout=5"):
        OllamaClient(URL, wait_timeout=5).version()
    assert sum(clock.slept) <= 5


def test_timeout_is_reported_with_a_hint(fake):
    fake.faults["timeout_path"] = "/api/tags"
    with pytest.raises(OllamaError, match=r"no answer within 7 seconds.*Raise timeout"):
        OllamaClient(URL, timeout=7).list_models()


def test_unknown_endpoint_suggests_an_upgrade(fake):
    with pytest.raises(OllamaError) as caught:
        OllamaClient(URL).request("GET", "/api/nothing", action="read")
    assert caught.value.status == 404
    assert "upgrade Ollama" in str(caught.value)


def test_show_of_a_missing_model_is_none(fake):
    assert OllamaClient(URL).show("nothing-here") is None


def test_pull_streams_line_by_line_and_needs_success(fake):
    fake.add_catalog("llama3.2", size=4000)
    progress = Progress("llama3.2:latest")
    OllamaClient(URL).pull("llama3.2", progress=progress)
    assert fake.requests[-1]["body"] == {"model": "llama3.2", "stream": True}
    assert progress.summary()["bytes"] == 4000
    assert fake.model("llama3.2") is not None


def test_pull_of_an_unknown_model_fails_under_http_200_with_a_hint(fake):
    with pytest.raises(OllamaError) as caught:
        OllamaClient(URL).pull("no-such-model:7b")
    message = str(caught.value)
    assert "Failed to pull model 'no-such-model:7b' at %s" % URL in message
    assert "pull model manifest: file does not exist" in message
    assert "Check the model name and tag" in message


def test_error_line_in_the_middle_of_a_stream_fails(fake):
    fake.add_catalog("llama3.2")
    fake.faults["pull"] = {"error_after": 3, "error": "digest mismatch, file must be downloaded again"}
    with pytest.raises(OllamaError, match="digest mismatch"):
        OllamaClient(URL).pull("llama3.2")
    assert fake.model("llama3.2") is None


def test_stream_ending_without_success_fails(fake):
    fake.add_catalog("llama3.2")
    fake.faults["pull"] = {"cut_after": 3}
    with pytest.raises(OllamaError, match="ended without success"):
        OllamaClient(URL).pull("llama3.2")


def test_stall_is_detected_by_the_socket_timeout(fake):
    fake.add_catalog("llama3.2")
    fake.faults["pull"] = {"stall_after": 2}
    with pytest.raises(OllamaError, match="no progress for 60 seconds"):
        OllamaClient(URL).pull("llama3.2", stall_timeout=60)
    # The stall timeout is the socket timeout; there is no total limit.
    assert fake.requests[-1]["timeout"] == 60


def test_lines_without_progress_count_as_a_stall(fake, clock):
    fake.add_catalog("llama3.2")
    lines = [{"status": "pulling x", "digest": "sha256:x", "total": 10, "completed": 1}] * 5

    def same_line_forever(url, **kwargs):
        clock.now += 40
        return fake._stream(lines)

    fake.ROUTES = dict(fake.ROUTES)
    fake.ROUTES[("POST", "/api/pull")] = lambda self, url, *a: same_line_forever(url)
    with pytest.raises(OllamaError, match="no progress for 60 seconds"):
        OllamaClient(URL, clock=lambda: clock.now + 0).stream(
            "/api/pull", {"model": "x"}, action="pull", model="x", stall_timeout=60, progress=_Ticking(clock)
        )


class _Ticking(Progress):
    def __init__(self, clock):
        super().__init__("x")
        self._fake = clock

    def update(self, line):
        self._fake.now += 40
        return super().update(line)


def test_no_stall_timeout_means_no_socket_timeout(fake):
    fake.add_catalog("llama3.2")
    OllamaClient(URL).pull("llama3.2", stall_timeout=0)
    assert fake.requests[-1]["timeout"] is None


def test_delete_sends_its_json_body(fake):
    fake.put_local("llama3.2")
    OllamaClient(URL).delete("llama3.2")
    assert fake.requests[-1]["method"] == "DELETE"
    assert fake.requests[-1]["body"] == {"model": "llama3.2"}


def test_blob_upload_heads_first_and_streams_the_file(fake, tmp_path):
    path = tmp_path / "w.gguf"
    path.write_bytes(b"GGUF" * 1000)
    digest = "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()
    client = OllamaClient(URL)
    assert client.upload_blob(str(path)) == (digest, True)
    head, post = fake.requests[-2:]
    assert (head["method"], head["path"]) == ("HEAD", "/api/blobs/" + digest)
    assert (post["method"], post["path"]) == ("POST", "/api/blobs/" + digest)
    assert post["headers"]["Content-Length"] == str(4000)
    assert client.upload_blob(str(path)) == (digest, False)
    assert fake.requests[-1]["method"] == "HEAD"


def test_progress_file_is_written_atomically_with_the_record(fake, tmp_path, clock):
    fake.add_catalog("llama3.2", size=4000)
    target = tmp_path / "progress.json"
    OllamaClient(URL).pull("llama3.2", progress=Progress("llama3.2:latest", str(target), clock=clock.monotonic))
    record = json.loads(target.read_text())
    assert record["model"] == "llama3.2:latest"
    assert record["status"] == "success"
    assert (record["completed"], record["total"], record["percent"]) == (4000, 4000, 100.0)
    assert set(record) == {"model", "status", "completed", "total", "percent", "rate", "updated"}
    assert [p.name for p in tmp_path.iterdir()] == ["progress.json"]


def test_progress_file_problems_do_not_fail_the_pull(fake, tmp_path):
    fake.add_catalog("llama3.2")
    progress = Progress("llama3.2:latest", str(tmp_path / "missing-dir" / "p.json"))
    OllamaClient(URL).pull("llama3.2", progress=progress)
    assert progress.write_errors and "could not write progress_path" in progress.write_errors[0]


def test_unload_is_polled_until_the_model_is_gone(fake, clock):
    fake.put_local("llama3.2")
    fake.load("llama3.2")
    fake.unload_lag = 3
    client = OllamaClient(URL)
    client.unload("llama3.2")
    assert client.find_running("llama3.2") is not None
    assert client.wait_running("llama3.2", False) is None
    assert len([r for r in fake.requests if r["path"] == "/api/ps"]) >= 4


def test_unload_that_never_finishes_fails_at_the_deadline(fake, clock):
    fake.put_local("llama3.2")
    fake.load("llama3.2")
    fake.unload_lag = 10**6
    client = OllamaClient(URL, timeout=3)
    client.unload("llama3.2")
    with pytest.raises(OllamaError, match="still listed by /api/ps after 3 seconds"):
        client.wait_running("llama3.2", False)


def test_tls_options_reach_the_transport(fake):
    client = OllamaClient(
        "https://gpu01:11434", validate_certs=False, ca_path="/ca.pem", client_cert="/c.pem", client_key="/k.pem"
    )
    client.list_models()
    options = fake.requests[-1]["options"]
    assert (options["validate_certs"], options["ca_path"], options["client_cert"], options["client_key"]) == (
        False,
        "/ca.pem",
        "/c.pem",
        "/k.pem",
    )


def test_bare_403_mentions_the_host_header_check(fake):
    fake.faults["forbidden"] = True
    with pytest.raises(OllamaError) as caught:
        OllamaClient(URL).list_models()
    assert caught.value.status == 403
    assert "Host-header" in str(caught.value)


def test_progress_file_is_rewritten_at_most_once_a_second(tmp_path, clock):
    target = tmp_path / "p.json"
    progress = Progress("m", str(target), clock=clock.monotonic)
    writes = []
    original = progress.write

    def counting_write():
        writes.append(clock.now)
        original()

    progress.write = counting_write
    for step in range(10):
        progress.update({"status": "pulling x", "digest": "sha256:x", "total": 100, "completed": step * 10})
        clock.now += 0.25
    assert len(writes) == 3
    assert json.loads(target.read_text())["total"] == 100
