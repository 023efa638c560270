# shellcheck shell=bash
# Sourced by scripts/demo.sh and scripts/molecule.sh: the repository root as working directory,
# podman settings for this kernel, this checkout's collections and the project venv.
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root" || exit 1
export CONTAINERS_CONF="${CONTAINERS_CONF:-$root/scripts/containers.conf}"
export ANSIBLE_COLLECTIONS_PATH="${ANSIBLE_COLLECTIONS_PATH:-$root/.collections:$root/.build/collections}"
export PATH="$root/.venv/bin:$PATH"
image="${IMAGE:-localhost/llmops-ollama-debian12:latest}"
export image
