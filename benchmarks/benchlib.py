# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark plumbing, not part of the collection's content: emulators on loopback, playbook
runs with per-task timings, and the statistics that bench.py reports."""

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH_DIR = os.path.join(REPO, "benchmarks")
EMULATOR = os.path.join(REPO, "tests", "emulator", "ollama_emulator.py")
WARMUP_PROGRAM = os.path.join(REPO, "roles", "models", "files", "ollama-warmup.py")
PLAYBOOK = os.path.join(REPO, "playbooks", "03_ollama.yml")
PYTHON = sys.executable
LISTENING = "listening on "
GIB = 2.0**30


class BenchError(Exception):
    pass


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), flush=True)


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def spread(values):
    """Median with min and max, rounded for the report."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {
        "median": round(statistics.median(values), 4),
        "min": round(min(values), 4),
        "max": round(max(values), 4),
        "n": len(values),
    }


def linear_fit(xs, ys):
    """Least squares y = a + b*x; returns (a, b)."""
    n = float(len(xs))
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def wait_until(predicate, timeout, interval=0.02, what="condition"):
    """Poll with a deadline; never sleeps longer than needed."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise BenchError("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)


def http_json(url, method="GET", body=None, timeout=60):
    if not url.startswith("http://127.0.0.1:"):
        raise BenchError("benchmarks only talk to loopback, not %s" % url)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=timeout) as response:
        raw = response.read()
    return json.loads(raw.decode()) if raw.strip() else None


# ---------------------------------------------------------------------------------------------
# Emulators
# ---------------------------------------------------------------------------------------------


class Emulator:
    """One Ollama API emulator on 127.0.0.1 with a free port, started by us and stopped by pid."""

    def __init__(self, workdir, *, gpus=4, vram_gib=80, load_seconds_per_gib=0.0, pull_bytes_per_second=0, env=None):
        self.workdir = workdir
        self.args = [
            "--gpus",
            str(gpus),
            "--vram-gib",
            str(vram_gib),
            "--load-seconds-per-gib",
            str(load_seconds_per_gib),
            "--pull-bytes-per-second",
            str(pull_bytes_per_second),
        ]
        self.env = dict(os.environ, OLLAMA_MAX_LOADED_MODELS="32", **(env or {}))
        self.proc = None
        self.url = None
        self._stdout = os.path.join(workdir, "emulator.out")

    def spawn(self):
        os.makedirs(self.workdir, exist_ok=True)
        argv = [PYTHON, EMULATOR, "serve", "--host", "127.0.0.1", "--port", "0"]
        argv += ["--state-dir", os.path.join(self.workdir, "state")] + self.args
        with open(self._stdout, "w") as out, open(os.path.join(self.workdir, "emulator.err"), "w") as err:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env)

    def _address(self):
        if self.proc.poll() is not None:
            raise BenchError("emulator exited with %s; see %s" % (self.proc.returncode, self.workdir))
        with open(self._stdout) as out:
            for line in out:
                if line.startswith(LISTENING):
                    return line[len(LISTENING) :].strip()
        return None

    def wait_ready(self, timeout=60):
        self.url = wait_until(self._address, timeout, what="the emulator in %s to listen" % self.workdir)
        return self

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    # -- control plane and API ------------------------------------------------------------------

    def call(self, method, path, body=None, timeout=60):
        return http_json(self.url + path, method, body, timeout)

    def requests(self):
        return self.call("GET", "/_emulator/requests")["requests"]

    def clear_requests(self):
        self.call("DELETE", "/_emulator/requests")

    def reset(self):
        self.call("POST", "/_emulator/reset")

    def put_local(self, name):
        return self.call("POST", "/_emulator/local", {"model": name})

    def loaded(self):
        return self.call("GET", "/api/ps")["models"]


class EmulatorPool:
    """Many emulators, started in parallel, always stopped on exit."""

    def __init__(self, workdir, count, **kwargs):
        self.emulators = [Emulator(os.path.join(workdir, "emu%03d" % i), **kwargs) for i in range(count)]

    def __enter__(self):
        try:
            for emulator in self.emulators:
                emulator.spawn()
            for emulator in self.emulators:
                emulator.wait_ready()
        except BaseException:
            self.__exit__()
            raise
        return self.emulators

    def __exit__(self, *exc):
        for emulator in self.emulators:
            emulator.stop()


# ---------------------------------------------------------------------------------------------
# Playbook runs
# ---------------------------------------------------------------------------------------------


class Run:
    """One ansible-playbook run: wall clock, controller CPU (all descendants), timing events."""

    def __init__(self, *, wall, user, system, rc, events, output):
        self.wall = wall
        self.cpu = user + system
        self.user = user
        self.system = system
        self.rc = rc
        self.events = events
        self.output = output
        self.machine_busy = None

    def tasks(self):
        """Per task: its interval (start to the next task's start) and its host results."""
        marks = [e for e in self.events if e["ev"] in ("task", "playbook_end")]
        results = {}
        for event in self.events:
            if event["ev"] == "result":
                results.setdefault(event["uuid"], []).append(event)
        rows = []
        for this, following in zip(marks, marks[1:]):
            if this["ev"] != "task":
                continue
            rows.append(
                {
                    "name": this["name"],
                    "action": this["action"],
                    "seconds": following["t"] - this["t"],
                    "results": results.get(this["uuid"], []),
                }
            )
        return rows

    def changed(self):
        return sum(1 for e in self.events if e["ev"] == "result" and e["changed"])

    def failed(self):
        return [e for e in self.events if e["ev"] == "result" and e["status"] in ("failed", "unreachable")]


def cpu_times():
    """(busy, total) jiffies of the whole machine, from /proc/stat; (0, 0) where there is none."""
    try:
        with open("/proc/stat") as handle:
            fields = [int(x) for x in handle.readline().split()[1:]]
    except (OSError, ValueError):
        return 0, 0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def ansible_env(extra=None):
    env = dict(os.environ)
    collections = [os.path.join(REPO, ".collections"), os.path.join(REPO, ".build", "collections")]
    env.update(
        {
            "ANSIBLE_CONFIG": os.path.join(REPO, "ansible.cfg"),
            "ANSIBLE_COLLECTIONS_PATH": ":".join(collections),
            "ANSIBLE_CALLBACK_PLUGINS": os.path.join(BENCH_DIR, "callback_plugins"),
            "ANSIBLE_LIBRARY": os.path.join(BENCH_DIR, "library"),
            "ANSIBLE_CALLBACKS_ENABLED": "bench_timing",
            "ANSIBLE_PLAYBOOK_VARS_ROOT": "all",
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_RETRY_FILES_ENABLED": "0",
            "ANSIBLE_DEPRECATION_WARNINGS": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    env.update(extra or {})
    return env


def run_playbook(workdir, label, playbook, inventory, *, forks=5, extra_vars=None, env=None, timeout=3600):
    """Run ansible-playbook from the repository root and fail loudly when the play fails."""
    os.makedirs(workdir, exist_ok=True)
    timing = os.path.join(workdir, label + ".timing.jsonl")
    output = os.path.join(workdir, label + ".out")
    if os.path.exists(timing):
        os.unlink(timing)
    argv = [os.path.join(os.path.dirname(PYTHON), "ansible-playbook"), "-i", inventory, "-f", str(forks), playbook]
    if extra_vars:
        argv += ["-e", json.dumps(extra_vars)]
    run_env = ansible_env(dict(env or {}, BENCH_TIMING_FILE=timing))
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_before = cpu_times()
    started = time.monotonic()
    with open(output, "w") as out:
        rc = subprocess.call(argv, cwd=REPO, env=run_env, stdout=out, stderr=subprocess.STDOUT, timeout=timeout)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    machine_after = cpu_times()
    total = machine_after[1] - machine_before[1]
    events = []
    if os.path.exists(timing):
        with open(timing) as handle:
            events = [json.loads(line) for line in handle if line.strip()]
    run = Run(
        wall=wall,
        user=after.ru_utime - before.ru_utime,
        system=after.ru_stime - before.ru_stime,
        rc=rc,
        events=events,
        output=output,
    )
    # Share of all CPUs busy during the run (anything on the machine, emulators included).
    run.machine_busy = (machine_after[0] - machine_before[0]) / float(total) if total else None
    if rc != 0 or run.failed():
        with open(output) as out:
            tail = out.read()[-3000:]
        raise BenchError("%s failed (rc=%s); output in %s:\n%s" % (label, rc, output, tail))
    return run


def write_json(path, data):
    with open(path, "w") as handle:
        json.dump(data, handle, indent=2, sort_keys=True)
        handle.write("\n")


def fresh_dir(path):
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    return path
