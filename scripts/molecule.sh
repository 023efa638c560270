#!/usr/bin/env bash
# What `make molecule` runs. The `default` scenario (a booted Debian 12 container with the
# emulator as ollama.service) needs working rootful podman and the image of scripts/build-image.sh;
# where podman does not work, the `local` scenario still covers the role on this machine.
# SCENARIO=default|local|all overrides the choice (all = both).
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"

podman_works() {
    command -v podman >/dev/null 2>&1 || return 1
    podman image exists "$image" || return 1
    podman run --rm "$image" /bin/true >/dev/null 2>&1
}

scenario="${SCENARIO:-}"
if [ -z "$scenario" ]; then
    if podman_works; then
        scenario=all
    else
        echo "molecule: podman or the image $image is not usable here; running the light 'local' scenario only"
        scenario=local
    fi
fi

case "$scenario" in
    all) scenarios=(default local) ;;
    default | local) scenarios=("$scenario") ;;
    *) echo "molecule: unknown SCENARIO=$scenario (default, local or all)" >&2; exit 2 ;;
esac

for s in "${scenarios[@]}"; do
    echo "molecule: scenario $s"
    molecule test -s "$s"
done
