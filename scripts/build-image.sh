#!/usr/bin/env bash
# Builds the Debian 12 image that boots systemd, for molecule and `make demo`.
# No container registry is reachable, so the root filesystem comes from debootstrap and
# is imported into rootful podman. Reused when it already exists (FORCE=1 rebuilds).
set -euo pipefail

image="${IMAGE:-localhost/llmops-ollama-debian12:latest}"
build_dir="${BUILD_DIR:-$(cd "$(dirname "$0")/.." && pwd)/.build}"
rootfs="$build_dir/rootfs"
stamp="$build_dir/rootfs.done"

if [ "${FORCE:-0}" != 1 ] && podman image exists "$image"; then
    echo "image $image exists; FORCE=1 rebuilds it"
    exit 0
fi

mkdir -p "$build_dir"
if [ "${FORCE:-0}" = 1 ] || [ ! -f "$stamp" ]; then
    rm -rf "$rootfs" "$stamp"
    mirror=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    mirror="${mirror:-http://deb.debian.org/debian}"
    debootstrap --variant=minbase \
        --include=systemd,systemd-sysv,dbus,python3,ca-certificates,procps,iproute2 \
        bookworm "$rootfs" "$mirror"
    chroot "$rootfs" apt-get clean
    # No getty or network stack to wait for inside a container.
    chroot "$rootfs" systemctl mask getty.target systemd-networkd-wait-online.service >/dev/null 2>&1 || true
    touch "$stamp"
fi
tar -C "$rootfs" -c . | podman import --change 'CMD ["/sbin/init"]' - "$image" >/dev/null
echo "built $image"
