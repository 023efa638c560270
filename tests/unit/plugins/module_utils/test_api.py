# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

import hashlib
import http.server
import json
import re
import shutil
import ssl
import subprocess
import threading
from urllib.error import URLError

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils import _api
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


def test_a_load_that_is_never_listed_says_what_is_listed(fake, clock):
    fake.put_local("llama3.2")
    fake.put_local("other")
    fake.load("other")
    client = OllamaClient(URL, timeout=3)
    with pytest.raises(OllamaError, match=r"not listed by /api/ps after 3 seconds \(it lists: other:latest\)"):
        client.wait_running("llama3.2", True)


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


# --- TLS: real handshakes against a local server --------------------------------------------

_OPENSSL = shutil.which("openssl")


def _openssl(*args):
    subprocess.run([_OPENSSL, *args], check=True, capture_output=True)


def _issue(directory, name, ca=None, server=False):
    """An EC key and a certificate for ``name``, signed by ``ca`` (a (cert, key) pair) or itself."""
    key, cert = str(directory / (name + ".key")), str(directory / (name + ".pem"))
    _openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    if ca is None:
        _openssl("req", "-x509", "-new", "-key", key, "-subj", "/CN=" + name, "-days", "2", "-out", cert)
        return cert, key
    csr = str(directory / (name + ".csr"))
    _openssl("req", "-new", "-key", key, "-subj", "/CN=" + name, "-out", csr)
    extensions = str(directory / (name + ".ext"))
    with open(extensions, "w") as stream:
        stream.write("subjectAltName=IP:127.0.0.1\n" if server else "extendedKeyUsage=clientAuth\n")
    _openssl(
        "x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-days", "2",
        "-extfile", extensions, "-out", cert,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if _OPENSSL is None:
        pytest.skip("openssl is needed to make test certificates")
    directory = tmp_path_factory.mktemp("pki")
    ca = _issue(directory, "ca")
    rogue_ca = _issue(directory, "rogue-ca")
    return {
        "ca": ca[0],
        "server": _issue(directory, "server", ca, server=True),
        "client": _issue(directory, "client", ca),
        "rogue_client": _issue(directory, "rogue-client", rogue_ca),
    }


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.server.redirect_to:
            self.send_response(307)
            self.send_header("Location", self.server.redirect_to + self.path)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = json.dumps({"version": "0.32.15", "models": []}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def _serve(tls=None, client_ca=None, redirect_to=None):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.redirect_to = redirect_to
    scheme = "http"
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(*tls)
        if client_ca:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(client_ca)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, "%s://127.0.0.1:%d" % (scheme, server.server_address[1])


@pytest.fixture(scope="module")
def servers(pki):
    started = {}
    started["https"] = _serve(pki["server"])
    started["mtls"] = _serve(pki["server"], client_ca=pki["ca"])
    started["http"] = _serve()
    started["redirect"] = _serve(redirect_to=started["https"][1])
    yield {name: url for name, (_server, url) in started.items()}
    for server, _url in started.values():
        server.shutdown()
        server.server_close()


@pytest.fixture
def contexts_built(monkeypatch):
    """Counts the TLS contexts the client builds, with the arguments it builds them from."""
    built = []
    real = _api.make_context

    def counting(**kwargs):
        built.append(kwargs)
        return real(**kwargs)

    monkeypatch.setattr(_api, "make_context", counting)
    return built


def test_plain_http_never_builds_a_tls_context(fake, contexts_built):
    client = OllamaClient(URL)
    client.version()
    client.list_models()
    client.running()
    assert contexts_built == []
    # open_url builds a context itself (reading every CA file) unless it gets one.
    contexts = [r["options"]["context"] for r in fake.requests]
    assert len(contexts) == 3 and contexts[0] and all(c is contexts[0] for c in contexts)


def test_https_builds_one_context_from_the_tls_options(servers, pki, contexts_built, clock):
    client = OllamaClient(servers["mtls"], ca_path=pki["ca"], client_cert=pki["client"][0], client_key=pki["client"][1])
    assert client.version() == "0.32.15"
    assert client.list_models() == []
    assert client.running() == []
    assert contexts_built == [
        {"cafile": pki["ca"], "validate_certs": True, "client_cert": pki["client"][0], "client_key": pki["client"][1]}
    ]


def test_validate_certs_false_accepts_an_unknown_ca(servers, clock):
    assert OllamaClient(servers["https"], validate_certs=False).version() == "0.32.15"


def test_a_redirect_to_https_gets_the_full_tls_context(servers, pki, contexts_built, clock):
    assert OllamaClient(servers["redirect"], ca_path=pki["ca"]).version() == "0.32.15"
    assert [c["cafile"] for c in contexts_built] == [pki["ca"]]


@pytest.mark.parametrize(
    "case",
    [
        {"server": "https", "why": "CERTIFICATE_VERIFY_FAILED"},
        {"server": "mtls", "client": "rogue_client", "why": "(?i)alert|unknown.ca|EOF|reset"},
        {"server": "mtls", "why": "(?i)alert|certificate|EOF|reset"},
        {"server": "http", "https": True, "why": "(?i)wrong.version|ssl|EOF"},
    ],
    ids=["unknown-server-ca", "client-cert-of-another-ca", "no-client-cert", "https-to-plain-http"],
)
def test_tls_failures_are_reported_as_such_and_not_retried(servers, pki, clock, case):
    url = servers[case["server"]]
    if case.get("https"):
        url = url.replace("http://", "https://")
    kwargs = {"wait_timeout": 30}
    if case["server"] == "mtls":
        kwargs["ca_path"] = pki["ca"]
    if case.get("client"):
        kwargs["client_cert"], kwargs["client_key"] = pki[case["client"]]
    with pytest.raises(OllamaError) as caught:
        OllamaClient(url, **kwargs).version()
    message = str(caught.value)
    assert "TLS error" in message and re.search(case["why"], message)
    assert "Check validate_certs, ca_path, client_cert and client_key" in message
    assert "systemctl" not in message
    assert clock.slept == []


@pytest.mark.parametrize(
    "error",
    [
        URLError("TLSV1_ALERT_UNKNOWN_CA"),
        URLError(ssl.SSLError(1, "[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required")),
        URLError(ConnectionResetError(104, "EOF occurred in violation of protocol (_ssl.c:2427)")),
        ConnectionResetError(104, "[SSL: SSLV3_ALERT_HANDSHAKE_FAILURE] sslv3 alert handshake failure"),
    ],
    ids=["alert-name-only", "ssl-error-inside", "eof-in-handshake", "handshake-failure"],
)
def test_tls_failure_texts_are_classified_whatever_carries_them(monkeypatch, clock, error):
    def refuse(*args, **kwargs):
        raise error

    monkeypatch.setattr(_api, "open_url", refuse)
    with pytest.raises(OllamaError, match=r"TLS error.*client_cert") as caught:
        OllamaClient("https://gpu01:11434", wait_timeout=30).version()
    assert "server running" not in str(caught.value)
    assert clock.slept == []


def test_a_token_with_a_trailing_line_break_is_sent_without_it(fake):
    # What a token read from a file or a YAML block scalar looks like.
    fake.token = "s3cret-token"
    assert OllamaClient(URL, api_token="  s3cret-token\n").list_models() == []
    assert fake.requests[-1]["headers"]["Authorization"] == "Bearer s3cret-token"
