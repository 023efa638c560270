# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The emulator as a program: command line, persistence, CLI tables, Python 3.9, TLS, tokens."""

import glob
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys

import ollama_emulator
import pytest
from emulator_testlib import EMULATOR_PY, Api


def test_listening_line_and_health(spawn):
    started = spawn("--port", "0")
    assert re.match(r"^http://127\.0\.0\.1:\d+$", started.url)
    assert Api(started.url).get("/").body == b"Ollama is running"


def test_ollama_host_sets_the_bind_address(spawn):
    started = spawn(env={"OLLAMA_HOST": "127.0.0.1:0"})
    assert started.url.startswith("http://127.0.0.1:")
    assert Api(started.url).get("/api/version").status == 200


def test_serve_subcommand_and_version_option(spawn):
    started = spawn("serve", "--port", "0", "--version", "0.6.2")
    assert Api(started.url).get("/api/version").json() == {"version": "0.6.2"}


def test_local_models_survive_a_restart_loaded_ones_do_not(spawn, tmp_path):
    first = spawn("--port", "0", "--state-dir", str(tmp_path))
    api = Api(first.url)
    api.pull("llama3.1:8b")
    created = api.post(
        "/api/create", body={"model": "coder", "from": "llama3.1:8b", "system": "Code.", "stream": False}
    )
    assert created.status == 200
    api.post("/api/generate", body={"model": "coder", "keep_alive": -1})
    before = {m["name"]: m["digest"] for m in api.tags()}
    assert api.ps()
    first.proc.terminate()
    first.proc.wait(10)

    second = spawn("--port", "0", "--state-dir", str(tmp_path))
    again = Api(second.url)
    assert {m["name"]: m["digest"] for m in again.tags()} == before
    assert again.ps() == []
    shown = again.post("/api/show", body={"model": "coder"}).json()
    assert 'SYSTEM """Code."""' in shown["modelfile"]


def test_cli_tables_look_like_ollama(spawn):
    started = spawn("--port", "0")
    api = Api(started.url)
    api.local("qwen3-coder:30b")
    api.local("nomic-embed-text")
    api.post("/api/generate", body={"model": "qwen3-coder:30b", "keep_alive": -1})
    api.post("/api/embed", body={"model": "nomic-embed-text", "input": [], "keep_alive": "5m"})
    ps = subprocess.run(
        [sys.executable, EMULATOR_PY, "ps", "--host", started.url], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert ps[0].split() == ["NAME", "ID", "SIZE", "PROCESSOR", "CONTEXT", "UNTIL"]
    rows = {line.split()[0]: line for line in ps[1:]}
    assert rows["qwen3-coder:30b"].rstrip().endswith("Forever")
    assert "100% GPU" in rows["qwen3-coder:30b"]
    assert re.search(r"\d+ minutes from now|About a minute from now", rows["nomic-embed-text:latest"])
    listing = subprocess.run(
        [sys.executable, EMULATOR_PY, "list"],
        capture_output=True,
        text=True,
        check=True,
        env=dict(os.environ, OLLAMA_HOST=started.url),
    ).stdout.splitlines()
    assert listing[0].split() == ["NAME", "ID", "SIZE", "MODIFIED"]
    assert any(line.startswith("qwen3-coder:30b") and "18 GB" in line for line in listing)


def test_ps_table_formats():
    now = 1_700_000_000 * 10**9
    forever = ollama_emulator.go_time(now + ollama_emulator.FOREVER_NS)
    table = ollama_emulator.format_ps(
        [
            {"name": "a:latest", "digest": "0" * 64, "size": 100, "size_vram": 48, "expires_at": forever},
            {"name": "b:latest", "digest": "1" * 64, "size": 10**9, "size_vram": 10**9, "expires_at": forever},
        ],
        now_ns=now,
    )
    lines = table.splitlines()
    assert "52%/48% CPU/GPU" in lines[1]
    assert "100% GPU" in lines[2]
    assert lines[1].rstrip().endswith("Forever")


def python39():
    found = sorted(glob.glob("/root/.pyenv/versions/3.9.*/bin/python3.9")) or [shutil.which("python3.9")]
    return found[-1] if found and found[-1] else None


def test_runs_on_python_3_9(spawn, tmp_path):
    interpreter = python39()
    if not interpreter:
        pytest.skip("python3.9 not installed")
    subprocess.run(
        [interpreter, "-m", "py_compile", EMULATOR_PY],
        check=True,
        env=dict(os.environ, PYTHONPYCACHEPREFIX=str(tmp_path)),
    )
    started = spawn("--port", "0", "--state-dir", str(tmp_path), python=interpreter)
    api = Api(started.url)
    assert api.get("/").body == b"Ollama is running"
    api.pull("nomic-embed-text")
    assert api.post("/api/embed", body={"model": "nomic-embed-text", "input": "x"}).status == 200


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    if not shutil.which("openssl"):
        pytest.skip("openssl CLI not available")
    root = tmp_path_factory.mktemp("pki")

    def run(command):
        subprocess.run(["openssl", *command.split()], cwd=root, check=True, capture_output=True)

    run("req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2 -subj /CN=test-ca")
    (root / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    for name in ("server", "client"):
        run("req -newkey rsa:2048 -nodes -keyout %s.key -out %s.csr -subj /CN=%s" % (name, name, name))
        run(
            "x509 -req -in %s.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out %s.pem -days 2 -extfile san.ext"
            % (name, name)
        )
    return root


def test_tls_serves_https(make_emulator, pki):
    emulator = make_emulator(env={}, tls_cert=str(pki / "server.pem"), tls_key=str(pki / "server.key"))
    assert emulator.url.startswith("https://")
    context = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    assert Api(emulator.url, ssl_context=context).get("/").body == b"Ollama is running"
    with pytest.raises(ssl.SSLError):
        Api(emulator.url, ssl_context=ssl.create_default_context()).get("/")


def test_tls_can_require_client_certificates(make_emulator, pki):
    emulator = make_emulator(
        env={},
        tls_cert=str(pki / "server.pem"),
        tls_key=str(pki / "server.key"),
        tls_client_ca=str(pki / "ca.pem"),
    )
    anonymous = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        Api(emulator.url, ssl_context=anonymous).get("/")
    with_cert = ssl.create_default_context(cafile=str(pki / "ca.pem"))
    with_cert.load_cert_chain(str(pki / "client.pem"), str(pki / "client.key"))
    assert Api(emulator.url, ssl_context=with_cert).get("/api/version").status == 200


def test_required_token_answers_401_like_a_proxy(make_emulator):
    emulator = make_emulator(env={}, require_token="s3cret")
    anonymous = Api(emulator.url)
    denied = anonymous.get("/api/tags")
    assert denied.status == 401
    assert denied.headers["WWW-Authenticate"].startswith("Bearer")
    assert anonymous.post("/api/pull", body={"model": "x"}).status == 401
    wrong = Api(emulator.url, token="guess")
    assert wrong.get("/api/tags").status == 401
    assert Api(emulator.url, token="s3cret").get("/api/tags").status == 200
    assert anonymous.control("GET", "state")["models"] == []
    statuses = [r["status"] for r in anonymous.requests()]
    assert statuses == [401, 401, 401, 200]


def test_official_client_with_token(make_emulator):
    ollama = pytest.importorskip("ollama")
    emulator = make_emulator(env={}, require_token="s3cret")
    with pytest.raises(ollama.ResponseError) as denied:
        ollama.Client(host=emulator.url).list()
    assert denied.value.status_code == 401
    client = ollama.Client(host=emulator.url, headers={"Authorization": "Bearer s3cret"})
    assert client.pull("all-minilm").status == "success"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ("http", "127.0.0.1", 11434)),
        ("0.0.0.0", ("http", "0.0.0.0", 11434)),
        (":1234", ("http", "", 1234)),
        ("http://example.com", ("http", "example.com", 80)),
        ("https://example.com", ("https", "example.com", 443)),
        ('"  10.0.0.1:8080  "', ("http", "10.0.0.1", 8080)),
        ("[::1]:5000", ("http", "::1", 5000)),
        ("example.com:99999", ("http", "example.com", 11434)),
    ],
)
def test_ollama_host_parsing(raw, expected):
    """Pitfall 19: http://host means port 80."""
    assert ollama_emulator.parse_ollama_host(raw) == expected


def test_catalog_file_replaces_the_default_catalog(spawn, tmp_path):
    catalog = tmp_path / "catalog.json"
    entry = {"name": "acme/coder:7b", "family": "llama", "size": 123456789, "capabilities": ["completion"]}
    catalog.write_text(json.dumps({"models": [entry]}))
    api = Api(spawn("--port", "0", "--catalog", str(catalog)).url)
    assert api.pull("acme/coder:7b").json() == {"status": "success"}
    assert [m["name"] for m in api.tags()] == ["acme/coder:7b"]
    assert api.post("/api/pull", body={"model": "llama3.1:8b", "stream": False}).status == 500


def test_sigterm_stops_cleanly(spawn):
    started = spawn("--port", "0")
    started.proc.send_signal(signal.SIGTERM)
    assert started.proc.wait(10) == 0
