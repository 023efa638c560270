#!/usr/bin/env bash
# Runs the ansible-test integration targets: tests/integration/run.sh [TARGET...] (default: all).
# They run against the Ollama API emulator, or against a real Ollama server when OLLAMA_TEST_URL
# is set (OLLAMA_TEST_TOKEN for one behind a token); only what needs the emulator's control plane
# is skipped then. ansible-test refuses symlinked trees, so the checkout is copied to
# $BUILD_DIR/ansible_collections/llmops/ollama first (default: <repo>/.build/it).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build_dir=${BUILD_DIR:-$repo/.build/it}
tree=$build_dir/ansible_collections/llmops/ollama

mkdir -p "$tree"
rsync -a --delete \
    --exclude /.git --exclude /.venv --exclude '/.venv-*' --exclude /.collections --exclude /.build \
    --exclude /.ansible --exclude /tests/output --exclude /tests/integration/integration_config.yml \
    --exclude __pycache__ --exclude .pytest_cache --exclude .hypothesis --exclude .ruff_cache \
    "$repo/" "$tree/"
# ansible-test lists content with git from the nearest .git upwards; inside the checkout that would
# be the checkout's own repository, which ignores .build/. A repository of its own in the copy makes
# the copy the content root (untracked files count; the copied .gitignore keeps tests/output out).
if [ ! -e "$tree/.git" ]; then
    git -C "$tree" init -q
fi

if [ -x "$repo/.venv/bin/ansible-test" ]; then
    export PATH="$repo/.venv/bin:$PATH"
fi
python=$(command -v python3)

# JSON strings are valid YAML, whatever characters the URL or token contain.
OLLAMA_TEST_URL=${OLLAMA_TEST_URL:-} OLLAMA_TEST_TOKEN=${OLLAMA_TEST_TOKEN:-} "$python" - \
    "$tree/tests/integration/integration_config.yml" <<'PY'
import json, os, sys
with open(sys.argv[1], "w") as config:
    config.write("---\n# Written by tests/integration/run.sh; do not edit.\n")
    for key in ("OLLAMA_TEST_URL", "OLLAMA_TEST_TOKEN"):
        config.write("%s: %s\n" % (key.lower(), json.dumps(os.environ[key])))
PY
chmod 600 "$tree/tests/integration/integration_config.yml"

export ANSIBLE_COLLECTIONS_PATH="$build_dir${ANSIBLE_COLLECTIONS_PATH:+:$ANSIBLE_COLLECTIONS_PATH}"
cd "$tree"
exec ansible-test integration --local --python 3.11 --color no --continue-on-error -v "$@"
