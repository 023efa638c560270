# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmarks of llmops.ollama (`make bench`, see docs/performance.md).

Every measurement runs the real thing (ansible-playbook, the modules, the role, the warm-up
program) against Ollama API emulators on 127.0.0.1. Each number is the median of several runs;
each ratio is taken between runs of the same invocation, interleaved.

    python benchmarks/bench.py [--profile full|quick] [--only floor,role,...] [--out DIR]
"""

import argparse
import datetime
import importlib.util
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import (
    BENCH_DIR,
    EMULATOR,
    GIB,
    PLAYBOOK,
    PYTHON,
    REPO,
    WARMUP_PROGRAM,
    BenchError,
    Emulator,
    EmulatorPool,
    fresh_dir,
    linear_fit,
    log,
    median,
    run_playbook,
    spread,
    wait_until,
    write_json,
)
from report import publish, write_report

SECTIONS = ("floor", "role", "memory", "warmup", "models", "hosts")

# Sizes of each measurement. `full` is what docs/performance.md quotes; `quick` smoke-tests the harness.
PROFILES = {
    "full": {
        "floor_tasks": 10,
        "floor_reps": 5,
        "loop_sizes": [1, 5, 10],
        "role_reps": 3,
        "role_models": [3, 5, 10],
        "models_reps": 1,
        # 1 host comes from the role section (forks 5). 50 hosts: a real first run, then the no-op.
        "host_plan": [
            {"hosts": 10, "first": [20], "noop": [5, 20], "free": [20]},
            {"hosts": 50, "first": [20], "noop": [20]},
        ],
        "warmup_reps": 3,
        "warmup_seconds_per_gib": 0.06,
        "pull_lines": 100000,
        "memory_reps": 3,
    },
    "quick": {
        "floor_tasks": 3,
        "floor_reps": 2,
        "loop_sizes": [1, 3],
        "role_reps": 1,
        "role_models": [3, 5],
        "models_reps": 1,
        "host_plan": [
            {"hosts": 2, "first": [5], "noop": [5], "free": [5]},
            {"hosts": 3, "seed": True, "noop": [5]},
        ],
        "warmup_reps": 1,
        "warmup_seconds_per_gib": 0.05,
        "pull_lines": 10000,
        "memory_reps": 1,
    },
}
# Everything of `full`, plus more forks and strategies on 50 hosts: about 20 minutes more on 2 cores.
PROFILES["large"] = dict(
    PROFILES["full"],
    host_plan=[
        {"hosts": 10, "first": [5, 20], "noop": [5, 20], "free": [20]},
        {"hosts": 50, "first": [20], "noop": [20, 50], "free": [20]},
    ],
)

# Completion models of the emulator's catalog: the module-level loops use up to ten of them.
COMPLETION_MODELS = [
    "llama3.1:8b",
    "qwen2.5-coder:14b",
    "deepseek-coder-v2:16b",
    "mistral:7b",
    "qwen2.5-coder:7b-base",
    "qwen2.5-coder:1.5b-base",
    "devstral:latest",
    "gpt-oss:20b",
    "qwen3-coder:30b",
    "smollm2:135m-instruct-fp16",
]
# The base of the floor's created variant: a catalog entry of its own (the emulator's smallest
# completion model under another name, so other weights), so that the variant's runner (another num_ctx)
# never replaces the runner of a model another block keeps loaded.
VARIANT_BASE_NAME = "llmops-bench-base:135m"


def variant_base_entry():
    spec = importlib.util.spec_from_file_location("ollama_emulator", EMULATOR)
    emulator_module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(emulator_module)
    completion = [entry for entry in emulator_module.DEFAULT_CATALOG if "completion" in entry.get("capabilities", ())]
    smallest = min(completion, key=lambda entry: entry["size"])
    return dict(smallest, name=VARIANT_BASE_NAME)


# The role's slots 1-3 (from the selection file), slot 4, then extras in the order they are added.
SLOT_MODELS = ["qwen2.5-coder:14b", "llama3.1:8b", "deepseek-coder-v2:16b"]
SLOT4_MODEL = "mistral:7b"
EXTRA_MODELS = [
    "nomic-embed-text",
    "all-minilm",
    "mxbai-embed-large",
    "qwen2.5-coder:1.5b-base",
    "qwen2.5-coder:7b-base",
    "smollm2:135m-instruct-fp16",
]
MODULE = "llmops.ollama.ollama_model"
ROLE_VARIANTS = ["coding-primary", "general-primary", "backup", "experimental"]


def is_ollama_task(task):
    return task["action"].startswith("llmops.ollama.")


def invocations(task):
    """How many times the task ran its module (loop items that were not skipped)."""
    count = 0
    for result in task["results"]:
        if result["items"] is not None:
            count += sum(1 for status in result.get("item_status") or [] if status != "skipped")
        elif result["status"] != "skipped":
            count += 1
    return count


def changed_tasks(run):
    return sorted({task["name"] for task in run.tasks() if any(r["changed"] for r in task["results"])})


def warn_changed(run, what):
    """A second run should change nothing; say so loudly, but still time it (it is what users get)."""
    names = changed_tasks(run)
    if names:
        log("WARNING: %s reported changes in: %s" % (what, "; ".join(names)))
    return names


def load_forever(emulator, names):
    for name in names:
        emulator.call("POST", "/api/generate", {"model": name, "keep_alive": -1, "stream": False}, timeout=120)


# ---------------------------------------------------------------------------------------------
# Module floor and module-level scaling in models
# ---------------------------------------------------------------------------------------------


def floor_playbook(path, url, tasks_per_block, loop_sizes, order):
    """One play with blocks of identical tasks; a uri task after each block reads the request log."""
    model = COMPLETION_MODELS[0]
    blocks = {
        "ping": [{"ansible.builtin.ping": {}}],
        "present": [{MODULE: {"name": model}}],
        "loaded": [{MODULE: {"name": model, "state": "loaded"}}],
        # A variant built from a Modelfile: the module compares it with its definition and base.
        "created": [
            {
                MODULE: {
                    "name": "bench-floor-variant",
                    "state": "loaded",
                    "modelfile": "FROM %s\nPARAMETER num_ctx 4096\nSYSTEM You answer briefly.\n" % VARIANT_BASE_NAME,
                }
            }
        ],
        # Any module that speaks HTTP pays for ansible.module_utils.urls: one GET with ansible.builtin.uri,
        # and a module that only imports urls (benchmarks/library/bench_urls_import.py).
        "uri": [{"ansible.builtin.uri": {"url": url + "/api/version"}}],
        "urls": [{"bench_urls_import": {}}],
    }
    tasks = []

    def read_log(block):
        tasks.append(
            {
                "name": "bench: requests after %s" % block,
                "ansible.builtin.uri": {"url": url + "/_emulator/requests", "return_content": True},
            }
        )

    read_log("start")
    for block in order:
        if block.startswith("ping_loop_") or block.startswith("loaded_loop_"):
            size = int(block.rsplit("_", 1)[1])
            if block.startswith("ping"):
                body = {"ansible.builtin.ping": {}}
            else:
                body = {MODULE: {"name": "{{ item }}", "state": "loaded"}}
            tasks.append(dict({"name": "%s" % block, "loop": COMPLETION_MODELS[:size]}, **body))
        else:
            for index in range(tasks_per_block):
                tasks.append(dict({"name": "%s %d" % (block, index + 1)}, **blocks[block][0]))
        read_log(block)
    play = [
        {
            "name": "Module floor",
            "hosts": "all",
            "gather_facts": False,
            "module_defaults": {"group/llmops.ollama.ollama": {"url": url}},
            "tasks": tasks,
        }
    ]
    with open(path, "w") as handle:
        json.dump(play, handle, indent=1)


def write_local_inventory(path, hosts):
    """hosts: {name: {vars}}; every host is this machine over the local connection."""
    common = {"ansible_connection": "local", "ansible_python_interpreter": PYTHON}
    with open(path, "w") as handle:
        json.dump({"all": {"hosts": hosts, "vars": common}}, handle, indent=1)


def analyse_floor(run, tasks_per_block):
    per = {}
    requests = {}
    previous = None
    for task in run.tasks():
        name = task["name"]
        if name.startswith("bench: requests after "):
            count = task["results"][0].get("requests", 0)
            block = name[len("bench: requests after ") :]
            if previous is not None:
                requests[block] = count - previous
            previous = count
            continue
        block = name if "_loop_" in name else name.rsplit(" ", 1)[0]
        per.setdefault(block, []).append(task["seconds"])
    costs = {block: median(values) for block, values in per.items()}
    changed = sum(1 for task in run.tasks() if any(r["changed"] for r in task["results"]))
    return costs, requests, changed


def bench_floor(cfg, work, results):
    log("module floor: %d tasks per block, %d runs" % (cfg["floor_tasks"], cfg["floor_reps"]))
    work = fresh_dir(os.path.join(work, "floor"))
    with EmulatorPool(work, 1) as (emulator,):
        for name in COMPLETION_MODELS:
            emulator.put_local(name)
        emulator.call("POST", "/_emulator/catalog", {"model": VARIANT_BASE_NAME, "entry": variant_base_entry()})
        emulator.put_local(VARIANT_BASE_NAME)
        load_forever(emulator, COMPLETION_MODELS[: max(cfg["loop_sizes"])])
        inventory = os.path.join(work, "inventory.json")
        write_local_inventory(inventory, {"bench-local": {}})
        blocks = ["ping", "present", "loaded", "created", "uri", "urls"]
        blocks += ["ping_loop_%d" % k for k in cfg["loop_sizes"]]
        blocks += ["loaded_loop_%d" % k for k in cfg["loop_sizes"]]
        reps = []
        # Run 0 converges anything the setup left different and warms caches; it is not counted.
        for rep in range(cfg["floor_reps"] + 1):
            order = blocks[rep % len(blocks) :] + blocks[: rep % len(blocks)]
            playbook = os.path.join(work, "floor%d.json" % rep)
            floor_playbook(playbook, emulator.url, cfg["floor_tasks"], cfg["loop_sizes"], order)
            run = run_playbook(work, "floor%d" % rep, playbook, inventory)
            costs, requests, changed = analyse_floor(run, cfg["floor_tasks"])
            if rep == 0:
                continue
            if changed:
                raise BenchError("floor run %d: %d tasks reported changed; the no-op is not a no-op" % (rep, changed))
            reps.append({"costs": costs, "requests": requests, "wall": run.wall})
    n = cfg["floor_tasks"]

    def series(key):
        return [r["costs"][key] for r in reps]

    ratio_present = [r["costs"]["present"] / r["costs"]["ping"] for r in reps]
    ratio_loaded = [r["costs"]["loaded"] / r["costs"]["ping"] for r in reps]
    loops = {}
    for kind in ("ping", "loaded"):
        points = []
        for k in cfg["loop_sizes"]:
            points.append((k, median(series("%s_loop_%d" % (kind, k)))))
        intercept, slope = linear_fit([p[0] for p in points], [p[1] for p in points])
        loops[kind] = {
            "points": [{"items": k, "seconds": round(s, 4)} for k, s in points],
            "intercept": round(intercept, 4),
            "per_item": round(slope, 4),
        }
    results["floor"] = {
        "tasks_per_block": n,
        "runs": len(reps),
        "ping_task": spread(series("ping")),
        "present_task": spread(series("present")),
        "loaded_task": spread(series("loaded")),
        "uri_task": spread(series("uri")),
        "ratio_uri_vs_ping": spread([r["costs"]["uri"] / r["costs"]["ping"] for r in reps]),
        "requests_per_uri": reps[0]["requests"]["uri"] / float(n),
        "urls_task": spread(series("urls")),
        "ratio_urls_vs_ping": spread([r["costs"]["urls"] / r["costs"]["ping"] for r in reps]),
        "ratio_present_vs_ping": spread(ratio_present),
        "ratio_loaded_vs_ping": spread(ratio_loaded),
        "created_task": spread(series("created")),
        "ratio_created_vs_ping": spread([r["costs"]["created"] / r["costs"]["ping"] for r in reps]),
        "requests_per_created": reps[0]["requests"]["created"] / float(n),
        "requests_per_present": reps[0]["requests"]["present"] / float(n),
        "requests_per_loaded": reps[0]["requests"]["loaded"] / float(n),
        "requests_per_ping": reps[0]["requests"]["ping"] / float(n),
        "loops": loops,
        "loop_requests": {"loaded_%d" % k: reps[0]["requests"]["loaded_loop_%d" % k] for k in cfg["loop_sizes"]},
    }
    # What a play costs before its first task: ansible-playbook's start, inventory, play setup.
    empty = os.path.join(work, "empty.json")
    with open(empty, "w") as handle:
        json.dump([{"name": "Nothing", "hosts": "all", "gather_facts": False, "tasks": []}], handle)
    results["floor"]["empty_play"] = spread(
        [run_playbook(work, "empty%d" % rep, empty, inventory).wall for rep in range(cfg["floor_reps"])]
    )
    bench_module_process(results)
    log(
        "floor: ping %.3fs, present %.3fs (x%.2f), loaded %.3fs (x%.2f), created %.3fs (x%.2f); "
        "requests %.1f / %.1f / %.1f"
        % (
            results["floor"]["ping_task"]["median"],
            results["floor"]["present_task"]["median"],
            results["floor"]["ratio_present_vs_ping"]["median"],
            results["floor"]["loaded_task"]["median"],
            results["floor"]["ratio_loaded_vs_ping"]["median"],
            results["floor"]["created_task"]["median"],
            results["floor"]["ratio_created_vs_ping"]["median"],
            results["floor"]["requests_per_present"],
            results["floor"]["requests_per_loaded"],
            results["floor"]["requests_per_created"],
        )
    )


PROCESS_PROBE = """
import sys, time
started = time.perf_counter()
if sys.argv[1] == "basic":
    import ansible.module_utils.basic  # noqa: F401
elif sys.argv[1] == "module":
    import ansible_collections.llmops.ollama.plugins.modules.ollama_model  # noqa: F401
else:
    from ansible.module_utils.urls import make_context
    started = time.perf_counter()
    make_context()
print(time.perf_counter() - started)
"""


def bench_module_process(results, runs=7):
    """Where a module process's time goes: imports (as ping's, and ours) and one TLS context."""
    env = dict(os.environ, PYTHONPATH=os.path.join(REPO, ".collections"), PYTHONDONTWRITEBYTECODE="1")
    probe = {}
    for what in ("basic", "module", "tls_context"):
        values = []
        for _attempt in range(runs):
            out = subprocess.run(
                [PYTHON, "-c", PROCESS_PROBE, what], capture_output=True, text=True, env=env, check=True
            ).stdout
            values.append(float(out.strip().splitlines()[-1]))
        probe[what] = spread(values)
    results["floor"]["process"] = {
        "import_basic": probe["basic"],
        "import_ollama_model": probe["module"],
        "make_context": probe["tls_context"],
    }


# ---------------------------------------------------------------------------------------------
# The role: no-op, scaling in models and in hosts
# ---------------------------------------------------------------------------------------------


def role_extras(count):
    """Slot 4 and extras so that the role keeps `count` models loaded (3 slots at least)."""
    if count < 3:
        raise BenchError("the role always fills slots 1-3; ask for 3 models or more")
    slot4 = SLOT4_MODEL if count >= 4 else ""
    extras = EXTRA_MODELS[: max(0, count - 4)]
    if len(extras) < count - 4:
        raise BenchError("not enough extra models in the catalog for %d models" % count)
    return slot4, extras


class RoleFleet:
    """N managed hosts (all this machine, local connection), each with its own emulator.

    With seed=True only the first host goes through a real first run; the others start from a
    copy of its Ollama state and its files, with the same models loaded, so that a no-op over
    many hosts can be timed without paying for many first runs."""

    def __init__(self, work, hosts, models, seed=False):
        self.work = work
        self.count = hosts
        self.models = models
        self.seed = seed and hosts > 1
        self.slot4, self.extras = role_extras(models)
        self.emulators = [Emulator(os.path.join(work, "emu%03d" % i), pull_bytes_per_second=0) for i in range(hosts)]
        self.inventory = os.path.join(work, "inventory.json")
        self.selection = os.path.join(work, "model_selection.json")
        self.seed_run = None

    def _root(self, index):
        return os.path.join(self.work, "host%03d" % index)

    def _write_inventory(self, count):
        hosts = {}
        for index, emulator in enumerate(self.emulators[:count]):
            root = self._root(index)
            hosts["gpu%03d" % index] = {
                "models_url": emulator.url,
                "models_config_dir": root + "/etc/ollama",
                "models_modelfile_dir": root + "/etc/ollama/modelfiles",
                "models_state_dir": root + "/var/lib/ollama-models",
                "models_warmup_program": root + "/usr/local/libexec/ollama-warmup",
                "models_systemd_dir": root + "/etc/systemd/system",
            }
        common = {
            "ansible_connection": "local",
            "ansible_python_interpreter": PYTHON,
            "ansible_become_method": "ansible.builtin.su",
            "models_manage_service": False,
            "models_selection_file": self.selection,
            "models_preload_extra": self.extras,
            "models_progress_interval": 1,
        }
        write_json(self.inventory, {"ollama": {"hosts": hosts, "vars": common}})

    @staticmethod
    def _start(emulators):
        for emulator in emulators:
            emulator.spawn()
        for emulator in emulators:
            emulator.wait_ready()

    def __enter__(self):
        write_json(
            self.selection,
            {
                "timestamp": "2025-01-15T10:30:00Z",
                "slot1_coding": SLOT_MODELS[0],
                "slot2_general": SLOT_MODELS[1],
                "slot3_backup": SLOT_MODELS[2],
                "slot4_experimental": None,
            },
        )
        try:
            if self.seed:
                self._seed()
            else:
                self._start(self.emulators)
            self._write_inventory(self.count)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _seed(self):
        first = self.emulators[0]
        self._start([first])
        self._write_inventory(1)
        log("seeding %d hosts from one first run" % self.count)
        self.seed_run, _count = self.run("seed")
        kinds = {}
        for entry in first.loaded():
            show = first.call("POST", "/api/show", {"model": entry["name"]})
            caps = show.get("capabilities") or []
            kinds[entry["name"]] = "embedding" if "embedding" in caps and "completion" not in caps else "completion"
        for index, emulator in enumerate(self.emulators[1:], 1):
            shutil.copytree(os.path.join(first.workdir, "state"), os.path.join(emulator.workdir, "state"))
            shutil.copytree(self._root(0), self._root(index), symlinks=True)
        self._start(self.emulators[1:])
        for emulator in self.emulators[1:]:
            for name, kind in kinds.items():
                if kind == "embedding":
                    emulator.call("POST", "/api/embed", {"model": name, "input": [], "keep_alive": -1})
                else:
                    emulator.call("POST", "/api/generate", {"model": name, "keep_alive": -1, "stream": False})

    def __exit__(self, *exc):
        for emulator in self.emulators:
            emulator.stop()

    def wipe(self):
        """Back to a host that never saw the role: empty Ollama, no files of ours."""
        for index, emulator in enumerate(self.emulators):
            emulator.reset()
            shutil.rmtree(os.path.join(self.work, "host%03d" % index), ignore_errors=True)

    def started(self):
        return [emulator for emulator in self.emulators if emulator.url]

    def clear_logs(self):
        for emulator in self.started():
            emulator.clear_requests()

    def request_count(self):
        return sum(len(emulator.requests()) for emulator in self.started())

    def request_paths(self):
        """Requests of the last run by method and path, over all hosts."""
        counts = {}
        for emulator in self.started():
            for request in emulator.requests():
                key = "%s %s" % (request["method"], request["path"])
                counts[key] = counts.get(key, 0) + 1
        return dict(sorted(counts.items(), key=lambda item: -item[1]))

    def run(self, label, forks=5, env=None):
        self.clear_logs()
        run = run_playbook(
            self.work, label, PLAYBOOK, self.inventory, forks=forks, extra_vars={"slot4_model": self.slot4}, env=env
        )
        return run, self.request_count()


def ping_equivalent(run, floor):
    """The same play with every Ollama task replaced by ansible.builtin.ping of the same shape.

    Each Ollama task's measured interval is swapped for the cost of ping measured in this
    invocation: a single ping task, or a ping loop with as many items (from the loop fit)."""
    single = floor["ping_task"]["median"]
    loop = floor["loops"]["ping"]
    ollama_seconds = 0.0
    ping_seconds = 0.0
    calls = 0
    tasks = 0
    for task in run.tasks():
        if not is_ollama_task(task):
            continue
        count = invocations(task)
        if count == 0:
            continue
        tasks += 1
        calls += count
        ollama_seconds += task["seconds"]
        looped = any(r["items"] is not None for r in task["results"])
        ping_seconds += (loop["intercept"] + loop["per_item"] * count) if looped else single
    return {
        "ollama_tasks": tasks,
        "ollama_calls": calls,
        "ollama_seconds": ollama_seconds,
        "ping_seconds": ping_seconds,
        "equivalent_wall": run.wall - ollama_seconds + ping_seconds,
    }


def top_tasks(runs, limit=12):
    """Where a no-op run spends its time: median interval per task name over the runs."""
    table = {}
    for run in runs:
        for task in run.tasks():
            key = re.sub(r"\s+", " ", task["name"])
            entry = table.setdefault(key, {"name": key, "action": task["action"], "seconds": [], "calls": []})
            entry["seconds"].append(task["seconds"])
            entry["calls"].append(invocations(task))
    rows = []
    for entry in table.values():
        rows.append(
            {
                "name": entry["name"],
                "action": entry["action"],
                "seconds": round(median(entry["seconds"]) * len(entry["seconds"]) / len(runs), 3),
                "calls": int(median(entry["calls"])),
            }
        )
    rows.sort(key=lambda row: -row["seconds"])
    return rows[:limit]


def bench_role(cfg, work, results):
    """One host, 4 slots + 1 extra: first run, then no-op runs; vs. the ping-equivalent play."""
    log("role no-op: 1 host, 5 models, %d runs" % cfg["role_reps"])
    if "floor" not in results:
        raise BenchError("the role benchmark needs the floor results (ping cost) of the same invocation")
    work = fresh_dir(os.path.join(work, "role"))
    with RoleFleet(work, 1, 5) as fleet:
        first, first_requests = fleet.run("first")
        runs, requests, ratios, equivalents = [], [], [], []
        for rep in range(cfg["role_reps"]):
            run, count = fleet.run("noop%d" % rep)
            warn_changed(run, "role no-op run %d" % (rep + 1))
            paths = fleet.request_paths()
            equivalent = ping_equivalent(run, results["floor"])
            runs.append(run)
            requests.append(count)
            equivalents.append(equivalent)
            ratios.append(run.wall / equivalent["equivalent_wall"])
    models = 5
    results["role"] = {
        "models": models,
        "first_run": {"wall": round(first.wall, 3), "cpu": round(first.cpu, 3), "requests": first_requests},
        "noop_wall": spread([r.wall for r in runs]),
        "noop_cpu": spread([r.cpu for r in runs]),
        "noop_requests": median(requests),
        "noop_requests_per_model": median(requests) / float(models),
        "noop_request_paths": paths,
        "ping_equivalent_wall": spread([e["equivalent_wall"] for e in equivalents]),
        "ollama_tasks": equivalents[0]["ollama_tasks"],
        "ollama_calls": equivalents[0]["ollama_calls"],
        "ollama_seconds": spread([e["ollama_seconds"] for e in equivalents]),
        "ratio_vs_ping_play": spread(ratios),
        "tasks_run": len(runs[0].tasks()),
        "noop_changed_tasks": changed_tasks(runs[-1]),
        "top_tasks": top_tasks(runs),
    }
    results.setdefault("hosts", {"cores": os.cpu_count(), "rows": []})["rows"] += [
        host_row(1, forks=5, strategy="linear", kind="first", runs=[first], requests=[first_requests]),
        host_row(1, forks=5, strategy="linear", kind="noop", runs=runs, requests=requests),
    ]
    results.setdefault("models", {})["role_5"] = {
        "wall": results["role"]["noop_wall"],
        "requests": results["role"]["noop_requests"],
    }
    log(
        "role no-op: %.2fs (ping play %.2fs, x%.2f), %d requests"
        % (
            results["role"]["noop_wall"]["median"],
            results["role"]["ping_equivalent_wall"]["median"],
            results["role"]["ratio_vs_ping_play"]["median"],
            results["role"]["noop_requests"],
        )
    )


def bench_models(cfg, work, results):
    """No-op time of the role for several model counts (the loop fit from the floor covers the module)."""
    models = results.setdefault("models", {})
    for count in cfg["role_models"]:
        if "role_%d" % count in models:
            continue
        log("role no-op with %d models, %d runs" % (count, cfg["models_reps"]))
        sub = fresh_dir(os.path.join(work, "models%d" % count))
        with RoleFleet(sub, 1, count) as fleet:
            fleet.run("first")
            walls, requests = [], []
            for rep in range(cfg["models_reps"]):
                run, request_count = fleet.run("noop%d" % rep)
                warn_changed(run, "role no-op with %d models" % count)
                walls.append(run.wall)
                requests.append(request_count)
        models["role_%d" % count] = {"wall": spread(walls), "requests": median(requests)}
    points = sorted((int(key.split("_")[1]), value["wall"]["median"]) for key, value in models.items() if key != "fit")
    intercept, slope = linear_fit([p[0] for p in points], [p[1] for p in points])
    models["fit"] = {"intercept": round(intercept, 3), "per_model": round(slope, 3)}
    log("role no-op vs models: %s; fit %.2fs + %.2fs/model" % (points, intercept, slope))


def host_row(hosts, *, forks, strategy, kind, runs, requests):
    cores = os.cpu_count() or 1
    wall = median([r.wall for r in runs])
    cpu = median([r.cpu for r in runs])
    return {
        "hosts": hosts,
        "forks": forks,
        "strategy": strategy,
        "kind": kind,
        "runs": len(runs),
        "wall": round(wall, 2),
        "per_host": round(wall / hosts, 3),
        "cpu": round(cpu, 2),
        "cpu_per_host": round(cpu / hosts, 3),
        "cpu_share": round(median([r.cpu / (r.wall * cores) for r in runs]), 3),
        "machine_busy": round(median([r.machine_busy for r in runs]) or 0, 3),
        "requests_per_host": median(requests) / float(hosts),
        "changed_tasks": changed_tasks(runs[-1]),
    }


def save_hosts(results, rows):
    rows.sort(key=lambda r: (r["hosts"], r["kind"] != "first", r["strategy"], r["forks"]))
    results["hosts"] = {"cores": os.cpu_count(), "rows": rows}
    Checkpoint.save(results)


def bench_hosts(cfg, work, results):
    """The role on 1..N hosts, each with its own emulator: first run and no-op, by forks and strategy.

    Each plan entry: hosts, the forks of the first runs, the forks of the no-op runs (linear strategy),
    the forks of no-op runs with strategy: free, and whether the hosts are seeded from one first run."""
    rows = list(results.get("hosts", {}).get("rows") or [])
    for plan in cfg["host_plan"]:
        hosts = plan["hosts"]
        sub = fresh_dir(os.path.join(work, "hosts%d" % hosts))
        with RoleFleet(sub, hosts, 5, seed=plan.get("seed", False)) as fleet:
            for forks in plan.get("first", []):
                log("hosts: %d hosts, first run, forks %d" % (hosts, forks))
                fleet.wipe()
                run, count = fleet.run("first-f%d" % forks, forks=forks)
                rows.append(host_row(hosts, forks=forks, strategy="linear", kind="first", runs=[run], requests=[count]))
                save_hosts(results, rows)
            for strategy, key in (("linear", "noop"), ("free", "free")):
                for forks in plan.get(key, []):
                    log("hosts: %d hosts, no-op, forks %d, strategy %s" % (hosts, forks, strategy))
                    run, count = fleet.run(
                        "noop-%s-f%d" % (strategy, forks), forks=forks, env={"ANSIBLE_STRATEGY": strategy}
                    )
                    warn_changed(run, "no-op on %d hosts" % hosts)
                    rows.append(
                        host_row(hosts, forks=forks, strategy=strategy, kind="noop", runs=[run], requests=[count])
                    )
                    save_hosts(results, rows)
    save_hosts(results, rows)
    for row in results["hosts"]["rows"]:
        log(
            "hosts %(hosts)d forks %(forks)d %(strategy)s %(kind)s: %(wall).1fs, %(per_host).2fs/host, CPU %(busy)d%%"
            % dict(row, busy=100 * row["cpu_share"])
        )


# ---------------------------------------------------------------------------------------------
# Warm-up program
# ---------------------------------------------------------------------------------------------


def bench_warmup(cfg, work, results):
    """From starting the warm-up program to all models loaded, against the emulated load times."""
    seconds_per_gib = cfg["warmup_seconds_per_gib"]
    names = SLOT_MODELS + [SLOT4_MODEL, EXTRA_MODELS[0]]
    sub = fresh_dir(os.path.join(work, "warmup"))
    config = os.path.join(sub, "warmup.json")
    reps = []
    with EmulatorPool(sub, 1, load_seconds_per_gib=seconds_per_gib) as (emulator,):
        for name in names:
            emulator.put_local(name)
        models = [
            {"name": name, "slot": index + 1 if index < 4 else None, "kind": "auto"} for index, name in enumerate(names)
        ]
        write_json(config, {"url": emulator.url, "models": models, "keep_alive": -1})
        for rep in range(cfg["warmup_reps"]):
            emulator.call("POST", "/_emulator/restart")
            emulator.clear_requests()
            log("warm-up run %d: %d models at %.2f s/GiB" % (rep + 1, len(names), seconds_per_gib))
            reps.append(warmup_once(emulator, config, names[0]))
        sizes = {entry["name"]: entry["size"] for entry in emulator.loaded()}
    load_sum = sum(sizes.values()) / GIB * seconds_per_gib
    slot1_load = sizes[names[0] if ":" in names[0] else names[0] + ":latest"] / GIB * seconds_per_gib
    totals = [r["total"] for r in reps]
    overhead = [t - load_sum for t in totals]
    results["warmup"] = {
        "models": names,
        "seconds_per_gib": seconds_per_gib,
        "loaded_gib": round(sum(sizes.values()) / GIB, 2),
        "load_seconds_sum": round(load_sum, 3),
        "slot1_load_seconds": round(slot1_load, 3),
        "total": spread(totals),
        "overhead": spread(overhead),
        "overhead_allowed": round(1.0 + 0.05 * load_sum, 3),
        "slot1_answers": spread([r["slot1"] for r in reps]),
        "slot1_overhead": spread([r["slot1"] - slot1_load for r in reps]),
        "requests": median([r["requests"] for r in reps]),
        "request_paths": reps[-1]["paths"],
    }
    log(
        "warm-up: %.2fs for %.2fs of loads (overhead %.3fs); slot 1 answers after %.2fs (load %.2fs)"
        % (median(totals), load_sum, median(overhead), median([r["slot1"] for r in reps]), slot1_load)
    )


def warmup_once(emulator, config, slot1):
    """Start the program; watch /api/ps for slot 1, then time a prompt to it (it waits for the load)."""
    polls = []

    def slot1_listed():
        polls.append(1)
        return any(entry["name"] == slot1 for entry in emulator.loaded())

    started = time.monotonic()
    proc = subprocess.Popen(
        ["/usr/bin/python3" if os.path.exists("/usr/bin/python3") else PYTHON, WARMUP_PROGRAM, "--config", config],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    try:
        # Every 50 ms: often enough to be early for a load of a second or more, rare enough not to
        # take CPU from the program on 2 cores.
        wait_until(slot1_listed, 120, interval=0.05, what="slot 1 to appear in /api/ps")
        emulator.call("POST", "/api/generate", {"model": slot1, "prompt": "hi", "stream": False, "keep_alive": -1})
        slot1_seconds = time.monotonic() - started
        output = proc.communicate(timeout=600)[0]
        total = time.monotonic() - started
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise BenchError("warm-up program failed (%s):\n%s" % (proc.returncode, output.decode()[-2000:]))
    # Our /api/ps polls and our prompt are not the program's requests.
    paths = {}
    for request in emulator.requests():
        key = "%s %s" % (request["method"], request["path"])
        paths[key] = paths.get(key, 0) + 1
    paths["GET /api/ps"] -= len(polls)
    paths["POST /api/generate"] -= 1
    paths = {key: value for key, value in paths.items() if value}
    return {"total": total, "slot1": slot1_seconds, "requests": sum(paths.values()), "paths": paths}


# ---------------------------------------------------------------------------------------------
# Peak memory of a long pull
# ---------------------------------------------------------------------------------------------

# Benchmark interpreter for the managed host: maxrss.py runs the module and records its peak RSS.
MAXRSS_WRAPPER = """#!/bin/sh
exec {python} {script} "$@"
"""


def bench_memory(cfg, work, results):
    """Peak RSS of the module process: a pull streaming N progress lines vs. a no-op call."""
    sub = fresh_dir(os.path.join(work, "memory"))
    record = os.path.join(sub, "maxrss.txt")
    wrapper = os.path.join(sub, "python-maxrss")
    with open(wrapper, "w") as handle:
        handle.write(MAXRSS_WRAPPER.format(python=PYTHON, script=os.path.join(BENCH_DIR, "maxrss.py")))
    os.chmod(wrapper, 0o755)
    inventory = os.path.join(sub, "inventory.json")
    with open(inventory, "w") as handle:
        json.dump(
            {"all": {"hosts": {"bench-local": {"ansible_connection": "local", "ansible_python_interpreter": wrapper}}}},
            handle,
        )
    big = "bench/streaming:latest"
    entry = {"size": 2 * 10**9, "progress_lines": cfg["pull_lines"], "capabilities": ["completion"]}
    rows = {"noop": [], "pull": []}
    pull_seconds, line_counts = [], []
    with EmulatorPool(sub, 1) as (emulator,):
        for rep in range(cfg["memory_reps"]):
            for kind in ("noop", "pull"):
                emulator.reset()
                emulator.call("POST", "/_emulator/catalog", {"model": big, "entry": entry})
                if kind == "noop":
                    emulator.put_local(big)
                playbook = os.path.join(sub, "%s.json" % kind)
                task = {
                    "name": kind,
                    MODULE: {"name": big, "url": emulator.url, "stall_timeout": 60},
                    "environment": {"BENCH_MAXRSS_FILE": record},
                }
                with open(playbook, "w") as handle:
                    json.dump([{"hosts": "all", "gather_facts": False, "tasks": [task]}], handle)
                if os.path.exists(record):
                    os.unlink(record)
                log("memory: %s, run %d" % (kind, rep + 1))
                run = run_playbook(sub, "%s%d" % (kind, rep), playbook, inventory)
                with open(record) as handle:
                    values = [int(line) for line in handle if line.strip()]
                if len(values) != 1:
                    raise BenchError("expected one module process, saw %d" % len(values))
                rows[kind].append(values[0])
                if kind == "pull":
                    if not run.changed():
                        raise BenchError("the pull run did not pull")
                    pull_seconds.append(run.tasks()[0]["seconds"])
        emulator.reset()
        emulator.call("POST", "/_emulator/catalog", {"model": big, "entry": entry})
        line_counts.append(count_pull_lines(emulator.url, big))
    ratios = [p / float(n) for p, n in zip(rows["pull"], rows["noop"])]
    results["memory"] = {
        "progress_lines": cfg["pull_lines"],
        "lines_streamed": median(line_counts),
        "noop_max_rss_kib": spread(rows["noop"]),
        "pull_max_rss_kib": spread(rows["pull"]),
        "ratio": spread(ratios),
        "pull_task_seconds": spread(pull_seconds),
    }
    log(
        "memory: no-op %d KiB, pull of %d lines %d KiB (x%.3f)"
        % (median(rows["noop"]), cfg["pull_lines"], median(rows["pull"]), median(ratios))
    )


def count_pull_lines(url, name):
    """Stream the same pull once more and count its lines, to check what the module had to read."""
    request = urllib.request.Request(url + "/api/pull", data=json.dumps({"model": name}).encode(), method="POST")
    lines = 0
    with urllib.request.urlopen(request, timeout=600) as response:
        for _line in response:
            lines += 1
    return lines


# ---------------------------------------------------------------------------------------------


def machine():
    info = {
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    }
    try:
        with open("/proc/cpuinfo") as handle:
            names = [line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")]
        info["cpu"] = names[0] if names else "unknown"
        with open("/proc/meminfo") as handle:
            info["memory_gib"] = round(int(handle.readline().split()[1]) / 2.0**20, 1)
    except OSError:
        pass
    version = subprocess.run(
        [os.path.join(os.path.dirname(PYTHON), "ansible"), "--version"], capture_output=True, text=True, check=False
    ).stdout.splitlines()
    info["ansible"] = version[0] if version else "unknown"
    git = ["git", "-C", REPO]
    commit = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False)
    dirty = subprocess.run(git + ["status", "--porcelain"], capture_output=True, text=True, check=False)
    if commit.returncode == 0:
        info["commit"] = commit.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")
    return info


class Checkpoint:
    """Writes results.json and the report whenever a measurement is done, so that an interrupted
    run still leaves everything it measured (and --from-results can publish it)."""

    out = None

    @classmethod
    def save(cls, results):
        if cls.out:
            write_json(os.path.join(cls.out, "results.json"), results)
            write_report(results, cls.out)


def main(argv=None):
    parser = argparse.ArgumentParser(description="llmops.ollama benchmarks")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="full")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated: " + ",".join(SECTIONS))
    parser.add_argument("--out", default=os.path.join(BENCH_DIR, "results"))
    parser.add_argument("--work", help="scratch directory (default: a new temporary one, removed at the end)")
    parser.add_argument("--publish", action="store_true", help="also update docs/performance.{md,json,svg}")
    parser.add_argument("--from-results", metavar="FILE", help="measure nothing: report (and publish) FILE")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    if args.from_results:
        with open(args.from_results) as handle:
            results = json.load(handle)
        write_report(results, args.out)
        if args.publish:
            publish(results, args.out, os.path.join(REPO, "docs"))
        log("report written to %s" % args.out)
        return 0
    cfg = PROFILES[args.profile]
    only = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        parser.error("unknown sections: %s" % ", ".join(sorted(unknown)))
    if "role" in only and "floor" not in only:
        only.insert(0, "floor")
    work = args.work or tempfile.mkdtemp(prefix="llmops-bench-")
    results = {"profile": args.profile, "config": cfg, "machine": machine(), "sections": only}
    Checkpoint.out = args.out
    started = time.monotonic()
    log("profile %s, sections %s, scratch %s" % (args.profile, ",".join(only), work))
    try:
        for section in SECTIONS:
            if section in only:
                globals()["bench_" + section](cfg, work, results)
                results["seconds"] = round(time.monotonic() - started, 1)
                results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
                Checkpoint.save(results)
    finally:
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    if args.publish:
        publish(results, args.out, os.path.join(REPO, "docs"))
    log("done in %.0fs; results in %s" % (results["seconds"], args.out))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        log("FAILED: %s" % exc)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
