#!/usr/bin/env bash
# `make bench`: runs benchmarks/bench.py with the repository's venv; results go to
# benchmarks/results/ (summary.md, results.json, performance.svg). Arguments pass through, e.g.
#   benchmarks/run.sh --profile quick            a fast smoke run of the harness
#   benchmarks/run.sh --only floor,memory        some sections only
#   benchmarks/run.sh --publish                  also refresh docs/performance.{md,json,svg}
# BENCH_ARGS in the environment is added too (make bench BENCH_ARGS=--publish does not work
# through make, so use: BENCH_ARGS=--publish make bench).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=$repo/.venv
if [ ! -x "$venv/bin/python" ] || [ ! -x "$venv/bin/ansible-playbook" ]; then
    echo "benchmarks/run.sh: $venv is missing or has no ansible-core; run 'make setup' first" >&2
    exit 2
fi
if [ ! -e "$repo/.collections/ansible_collections/llmops/ollama" ]; then
    echo "benchmarks/run.sh: the collection is not linked into $repo/.collections; run 'make setup' first" >&2
    exit 2
fi

export PATH="$venv/bin:$PATH"
export PYTHONDONTWRITEBYTECODE=1
cd "$repo"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of words on purpose
exec "$venv/bin/python" "$repo/benchmarks/bench.py" ${BENCH_ARGS:-} "$@"
