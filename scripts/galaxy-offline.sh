#!/usr/bin/env bash
# Galaxy is not reachable here, so the collections the tests need (containers.podman for
# molecule's podman driver, community.general for the chroot connection) are taken from the
# `ansible` package on PyPI, which bundles them. Idempotent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/.build/collections"
version="${ANSIBLE_BUNDLE_VERSION:-12.3.0}"
stamp="$dest/.ansible-$version"
[ -f "$stamp" ] && exit 0
wheels="$root/.build/wheels"
mkdir -p "$wheels" "$dest"
"$root/.venv/bin/pip" download --quiet --no-deps "ansible==$version" -d "$wheels"
"$root/.venv/bin/python" - "$wheels/ansible-$version-py3-none-any.whl" "$dest" <<'PY'
import sys
import zipfile

wheel, dest = sys.argv[1], sys.argv[2]
wanted = ("ansible_collections/containers/podman/", "ansible_collections/community/general/")
with zipfile.ZipFile(wheel) as archive:
    archive.extractall(dest, [n for n in archive.namelist() if n.startswith(wanted)])
PY
touch "$stamp"
