#!/usr/bin/env bash
# What `make demo` runs: builds or reuses a container that boots systemd with the Ollama emulator
# as ollama.service, runs the README's main command against it, and shows what is loaded as
# `ollama ps` would. The container stays up (DEMO_KEEP=0 removes it at the end) so that it can be
# explored: podman exec -it llmops-ollama-demo bash
set -euo pipefail

# shellcheck source=scripts/env.sh
. "$(dirname "$0")/env.sh"
name=llmops-ollama-demo
slot4="${SLOT4_MODEL:-mistral:7b}"

podman image exists "$image" || scripts/build-image.sh

if [ "$(podman container inspect -f '{{.State.Running}}' "$name" 2>/dev/null || true)" != true ]; then
    podman rm -f "$name" >/dev/null 2>&1 || true
    echo "demo: starting container $name from $image"
    podman run -d --name "$name" --hostname "$name" --systemd=always "$image" /sbin/init >/dev/null
fi
for _ in $(seq 60); do
    state="$(podman exec "$name" systemctl is-system-running 2>/dev/null || true)"
    case "$state" in running | degraded) break ;; esac
    sleep 1
done

# The emulator stands in for Ollama: same API, same unit name, same environment variables.
podman exec "$name" mkdir -p /opt/ollama-emulator
podman cp tests/emulator/ollama_emulator.py "$name:/opt/ollama-emulator/ollama_emulator.py"
podman exec -i "$name" sh -c 'cat > /etc/systemd/system/ollama.service' <<'UNIT'
[Unit]
Description=Ollama Service (emulator)
After=network-online.target

[Service]
ExecStart=/usr/bin/python3 /opt/ollama-emulator/ollama_emulator.py --state-dir /var/lib/ollama-emulator --gpus 2 --vram-gib 24 --pull-bytes-per-second 1500000000 --load-seconds-per-gib 0.05
Environment="OLLAMA_HOST=127.0.0.1:11434"
Restart=always
RestartSec=1

[Install]
WantedBy=multi-user.target
UNIT
podman exec "$name" systemctl daemon-reload
podman exec "$name" systemctl enable --now ollama.service >/dev/null 2>&1

echo "demo: ansible-playbook playbooks/03_ollama.yml -e slot4_model=$slot4"
ansible-playbook -i inventory/demo.yml playbooks/03_ollama.yml -e "slot4_model=$slot4"

echo
echo "demo: what is loaded (ollama ps):"
podman exec "$name" python3 /opt/ollama-emulator/ollama_emulator.py ps
echo
echo "demo: the warm-up service's log (journalctl -u ollama-warmup):"
podman exec "$name" journalctl -u ollama-warmup.service --no-pager -o cat | grep 'ollama-warmup:' | tail -8

if [ "${DEMO_KEEP:-1}" = 0 ]; then
    podman rm -f "$name" >/dev/null
fi
