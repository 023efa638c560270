#!/usr/bin/env bash
# ansible-test bootstraps pip in each of its venvs with a script it downloads from a host we
# cannot reach. This writes an equivalent script into its cache that installs pip from a wheel
# fetched from PyPI. Usage: offline-get-pip.sh PIP_VERSION [PYTHON]
set -euo pipefail
version="$1"
python="${2:-python3}"
cache="$HOME/.ansible/test/cache"
script="$cache/get_pip_$(echo "$version" | tr . _).py"
[ -f "$script" ] && [ -f "$cache/pip-$version-py3-none-any.whl" ] && exit 0
mkdir -p "$cache"
"$python" -m pip download --quiet --no-deps "pip==$version" -d "$cache"
cat > "$script" <<PY
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "pip-$version-py3-none-any.whl"))
from pip._internal.cli.main import main

args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install"] + args))
PY
