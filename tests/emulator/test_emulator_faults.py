# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Fault injection through /_emulator/faults, one test per fault kind."""

import http.client
import json
import socket
import threading

import pytest
from emulator_testlib import Api


def open_stream(api, path, body, timeout=5):
    conn = api.connection(timeout)
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    return conn, conn.getresponse()


def read_lines_until_broken(response):
    """Read NDJSON lines until the stream ends or breaks; return (lines, how it ended)."""
    lines = []
    try:
        while True:
            raw = response.readline()
            if not raw:
                return lines, "eof"
            lines.append(json.loads(raw))
    except socket.timeout:
        return lines, "timeout"
    except (http.client.IncompleteRead, ConnectionError, http.client.HTTPException):
        return lines, "broken"


def progress(lines):
    return [line for line in lines if "completed" in line]


def test_pull_fail_streams_an_error_line_after_the_given_share(api):
    api.control("POST", "faults", {"kind": "pull_fail", "model": "llama3.1:8b", "after_fraction": 0.5, "error": "boom"})
    response = api.post("/api/pull", body={"model": "llama3.1:8b"})
    assert response.status == 200
    lines = response.lines()
    assert lines[-1] == {"error": "boom"}
    model_layer = max(progress(lines), key=lambda line: line["total"])
    assert 0 < model_layer["completed"] < model_layer["total"]
    assert api.tags() == []
    single = api.post("/api/pull", body={"model": "llama3.1:8b", "stream": False})
    assert (single.status, single.json()) == (500, {"error": "boom"})


def test_pull_fail_times_then_resumes(api):
    api.control("POST", "faults", {"kind": "pull_fail", "model": "mistral:7b", "after_fraction": 0.25, "times": 1})
    failed = api.post("/api/pull", body={"model": "mistral:7b"}).lines()
    assert "error" in failed[-1]
    stopped_at = max(line["completed"] for line in progress(failed))
    resumed = api.post("/api/pull", body={"model": "mistral:7b"}).lines()
    assert resumed[-1] == {"status": "success"}
    first_model_line = next(line for line in resumed if line.get("total", 0) > 10**9)
    assert first_model_line["completed"] == stopped_at
    assert api.control("GET", "state")["faults"] == []


def test_pull_fault_only_hits_its_model(api):
    api.control("POST", "faults", {"kind": "pull_fail", "model": "llama3.1:8b", "after_fraction": 0})
    assert api.post("/api/pull", body={"model": "mistral:7b"}).lines()[-1] == {"status": "success"}


def test_pull_stall_keeps_the_connection_open_and_silent(api):
    api.control("POST", "faults", {"kind": "pull_stall", "model": "llama3.1:8b", "after_fraction": 0.3})
    conn, response = open_stream(api, "/api/pull", {"model": "llama3.1:8b"}, timeout=0.5)
    try:
        assert response.status == 200
        lines, ended = read_lines_until_broken(response)
    finally:
        conn.close()
    assert ended == "timeout"
    assert progress(lines)
    assert {"status": "success"} not in lines
    api.control("DELETE", "faults")
    assert api.pull("llama3.1:8b").json() == {"status": "success"}


def test_pull_drop_closes_the_connection_mid_stream(api):
    api.control("POST", "faults", {"kind": "pull_drop", "model": "llama3.1:8b", "after_fraction": 0.5})
    conn, response = open_stream(api, "/api/pull", {"model": "llama3.1:8b"})
    try:
        lines, ended = read_lines_until_broken(response)
    finally:
        conn.close()
    assert ended in ("broken", "eof")
    assert progress(lines)
    assert lines[-1] != {"status": "success"}
    with pytest.raises((http.client.HTTPException, ConnectionError)):
        api.post("/api/pull", body={"model": "llama3.1:8b", "stream": False})


def test_create_fail_default_and_custom(api):
    api.local("llama3.1:8b")
    api.control("POST", "faults", {"kind": "create_fail", "model": "mine", "times": 1})
    failed = api.post("/api/create", body={"model": "mine", "from": "llama3.1:8b"})
    assert failed.status == 500 and failed.json()["error"]
    assert api.post("/api/create", body={"model": "mine", "from": "llama3.1:8b", "stream": False}).status == 200
    api.control("POST", "faults", {"kind": "create_fail", "status": 400, "error": "template error: bad"})
    custom = api.post("/api/create", body={"model": "other", "from": "llama3.1:8b"})
    assert (custom.status, custom.json()) == (400, {"error": "template error: bad"})


def test_load_oom_fails_loading_only_that_model(api):
    api.local("llama3.1:8b")
    api.local("mistral:7b")
    api.control("POST", "faults", {"kind": "load_oom", "model": "llama3.1:8b"})
    failed = api.post("/api/generate", body={"model": "llama3.1:8b"})
    assert failed.status == 500
    assert failed.json()["error"].startswith("model requires more system memory")
    assert api.ps() == []
    assert api.post("/api/generate", body={"model": "mistral:7b"}).status == 200
    embed = api.post("/api/embed", body={"model": "llama3.1:8b", "input": []})
    assert embed.status == 500


def test_load_stall_times_out_after_ollama_load_timeout(make_emulator):
    api = Api(make_emulator(env={"OLLAMA_LOAD_TIMEOUT": "200ms"}).url)
    api.local("llama3.1:8b")
    api.control("POST", "faults", {"kind": "load_stall", "model": "llama3.1:8b", "times": 1})
    failed = api.post("/api/generate", body={"model": "llama3.1:8b"})
    assert failed.status == 500
    assert failed.json()["error"].startswith("timed out waiting for llama-server to start")
    assert api.ps() == []
    assert api.post("/api/generate", body={"model": "llama3.1:8b"}).json()["done_reason"] == "load"


def test_delay_holds_the_answer_until_cleared(api):
    api.control("POST", "faults", {"kind": "delay", "path": "/api/tags", "seconds": 30})
    with pytest.raises(socket.timeout):
        api.get("/api/tags", timeout=0.3)
    assert api.get("/api/version").status == 200
    api.control("DELETE", "faults")
    assert api.get("/api/tags").status == 200


def test_delay_applies_times(api):
    api.control("POST", "faults", {"kind": "delay", "path": "/api/version", "seconds": 0.05, "times": 1})
    assert api.get("/api/version").status == 200
    assert api.control("GET", "state")["faults"] == []


def test_refuse_closes_the_listener_then_reopens(api, poll):
    api.control("POST", "faults", {"kind": "refuse", "seconds": 2})

    def refused():
        try:
            api.get("/", timeout=1)
        except ConnectionRefusedError:
            return True
        except (ConnectionError, http.client.HTTPException):
            return False
        return False

    poll(refused, timeout=5, message="connections to be refused")
    poll(lambda: not refused(), timeout=10, message="the listener to come back")
    assert api.get("/").body == b"Ollama is running"


def test_boot_delay_refuses_until_ready(make_emulator, poll):
    emulator = make_emulator(env={}, boot_delay=1.5)
    api = Api(emulator.url)
    with pytest.raises(ConnectionRefusedError):
        api.get("/")

    def answering():
        try:
            return api.get("/").status == 200
        except ConnectionRefusedError:
            return False

    poll(answering, timeout=10, message="the emulator to finish booting")


def test_faults_are_listed_and_cleared(api):
    api.control("POST", "faults", {"kind": "load_oom", "model": "x"})
    faults = api.control("GET", "state")["faults"]
    assert [f["kind"] for f in faults] == ["load_oom"]
    api.control("DELETE", "faults")
    assert api.control("GET", "state")["faults"] == []


def test_concurrent_requests_are_served_while_a_pull_stalls(api):
    api.control("POST", "faults", {"kind": "pull_stall", "model": "llama3.1:8b", "after_fraction": 0})
    results = []

    def stalled_pull():
        try:
            api.post("/api/pull", body={"model": "llama3.1:8b"}, timeout=30)
        except (socket.timeout, ConnectionError, http.client.HTTPException) as exc:
            results.append(exc)
        else:
            results.append("finished")

    thread = threading.Thread(target=stalled_pull)
    thread.start()
    try:
        for _unused in range(5):
            assert api.get("/api/version").status == 200
    finally:
        api.control("DELETE", "faults")
        thread.join(10)
    assert results and not thread.is_alive()


def test_newest_matching_fault_wins(api):
    api.control("POST", "faults", {"kind": "pull_fail", "model": "mistral:7b", "error": "old"})
    api.control("POST", "faults", {"kind": "pull_fail", "model": "mistral:7b", "error": "new", "times": 1})
    assert api.post("/api/pull", body={"model": "mistral:7b"}).lines()[-1] == {"error": "new"}
    assert api.post("/api/pull", body={"model": "mistral:7b"}).lines()[-1] == {"error": "old"}


def test_clearing_faults_does_not_disturb_a_download_in_progress(make_emulator):
    api = Api(make_emulator(env={}, pull_bytes_per_second=10**9).url)
    conn, response = open_stream(api, "/api/pull", {"model": "nomic-embed-text"})
    try:
        while "completed" not in json.loads(response.readline()):
            pass
        api.control("DELETE", "faults")
        lines, ended = read_lines_until_broken(response)
    finally:
        conn.close()
    assert (ended, lines[-1]) == ("eof", {"status": "success"})
