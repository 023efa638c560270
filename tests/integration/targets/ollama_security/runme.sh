#!/usr/bin/env bash
# Security tests of llmops.ollama (not an example of how to use the collection):
#  - the API token never shows in any output, result, diff, error or log line of ansible-playbook
#    run at -vvv with --diff, also when requests fail (401, 404, TLS errors, a server whose error
#    text echoes the token, a refused connection, a token with a line break) and through a whole
#    run of the models role: the whole output, the Ansible log, the progress record and the
#    files the role wrote are searched for the tokens afterwards;
#  - TLS: certificates are verified by default, ca_path, client_cert and client_key work against
#    emulators served over HTTPS with a CA made here with openssl.
# ansible-test runs this as `./runme.sh -v`; the verbosity is ours.
# With ollama_test_url set (a real Ollama) the emulator parts are skipped and only the token checks
# run, against that server with ollama_test_token.
set -euo pipefail

python=${ANSIBLE_TEST_PYTHON_INTERPRETER:-python3}
playbook_args=()
config=""
while [ $# -gt 0 ]; do
    case $1 in
        -v*) shift ;;
        -e)
            playbook_args+=("$1" "$2")
            case $2 in @*) config=${2#@} ;; esac
            shift 2
            ;;
        *)
            playbook_args+=("$1")
            shift
            ;;
    esac
done

# ansible-test copies integration_config.yml next to the targets but hands it only to role targets.
if [ -z "$config" ] && [ -f ../../integration_config.yml ]; then
    config=../../integration_config.yml
    playbook_args+=(-e "@$config")
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/llmops-it-security-XXXXXX")
# Processes with the token on their command line: emulators (and their watchdogs) of this run.
leftovers() {
    [ -n "${token:-}" ] || return 0
    LLMOPS_IT_NEEDLE=$token "$python" -c '
import os
needle = os.environ["LLMOPS_IT_NEEDLE"].encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        with open("/proc/%s/cmdline" % pid, "rb") as cmdline:
            if needle in cmdline.read():
                print(pid)
    except OSError:
        pass
'
}
cleanup() {
    # The playbook stops its emulators; their watchdogs stop them too when it dies. Any process
    # that still has the token on its command line is a leftover: that is a failure, after cleanup.
    local left tries=50
    left=$(leftovers)
    while [ -n "$left" ] && [ "$tries" -gt 0 ]; do # a stopped emulator's watchdog needs a moment
        sleep 0.1
        tries=$((tries - 1))
        left=$(leftovers)
    done
    rm -rf "$work"
    if [ -n "$left" ]; then
        echo "FAIL: emulators still running after the playbook: $left" >&2
        # shellcheck disable=SC2086 # one pid per word
        kill $left 2> /dev/null || true
        exit 1
    fi
}
trap cleanup EXIT

# --- secrets: fresh and random, so that finding one in the output can only mean a leak ----------
token=llmops-it-$("$python" -c 'import secrets; print(secrets.token_hex(16))')
wrong_token=llmops-it-$("$python" -c 'import secrets; print(secrets.token_hex(16))')
real_token=""
if [ -n "$config" ]; then
    real_token=$("$python" -c 'import sys, yaml; print((yaml.safe_load(open(sys.argv[1])) or {}).get("ollama_test_token") or "")' "$config")
fi

# --- certificates: a CA, a server certificate for 127.0.0.1 and localhost, a client certificate,
# and a client certificate from another CA that the server must refuse ---------------------------
certs=$work/certs
mkdir -p "$certs"
make_ca() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$certs/$1.key" -out "$certs/$1.pem" -subj "/CN=llmops-it $1" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
}
make_cert() { # name ca subject extensions
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$certs/$1.key" -out "$certs/$1.csr" -subj "/CN=$3" 2>/dev/null
    printf '%s\n' "basicConstraints=CA:FALSE" "subjectKeyIdentifier=hash" \
        "authorityKeyIdentifier=keyid,issuer" "$4" > "$certs/$1.ext"
    openssl x509 -req -in "$certs/$1.csr" -CA "$certs/$2.pem" -CAkey "$certs/$2.key" -CAcreateserial \
        -days 2 -out "$certs/$1.pem" -extfile "$certs/$1.ext" 2>/dev/null
}
make_ca ca
make_ca rogue-ca
make_cert server ca localhost $'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth'
make_cert client ca "llmops-it client" "extendedKeyUsage=clientAuth"
make_cert rogue-client rogue-ca "llmops-it rogue client" "extendedKeyUsage=clientAuth"
cat "$certs/client.pem" "$certs/client.key" > "$certs/client-combined.pem"
chmod 600 "$certs"/*.key "$certs/client-combined.pem"

# --- the play, at -vvv with --diff, everything it prints and logs kept ------------------------
# ANSIBLE_DEBUG prints the raw module arguments by design; it is not part of the promise.
unset ANSIBLE_DEBUG
status=0
LLMOPS_IT_TOKEN=$token LLMOPS_IT_WRONG_TOKEN=$wrong_token LLMOPS_IT_WORK=$work \
    ANSIBLE_ROLES_PATH=.. ANSIBLE_LOG_PATH=$work/ansible.log \
    ansible-playbook -i "${INVENTORY_PATH:-inventory}" security.yml -vvv --diff "${playbook_args[@]}" \
    > "$work/output.txt" 2>&1 || status=$?
cat "$work/output.txt"

# --- the search ---------------------------------------------------------------------------------
# The checker reads the secrets from its environment (not its command line) and never prints one.
check_no_secret() {
    LLMOPS_IT_SECRETS="$token $wrong_token $real_token" "$python" - "$@" <<'PY'
import os, sys

secrets = [s for s in os.environ["LLMOPS_IT_SECRETS"].split() if s]
needles = set()
for secret in secrets:
    needles.add(secret)
    # also a truncated or partly masked copy: either half of a long token
    if len(secret) >= 24:
        needles.update((secret[: len(secret) // 2], secret[len(secret) // 2 :]))
found = 0
for path in sys.argv[1:]:
    with open(path, encoding="utf-8", errors="replace") as stream:
        for number, line in enumerate(stream, 1):
            hits = [n for n in needles if n in line]
            if hits:
                found += 1
                for secret in secrets:
                    line = line.replace(secret, "<SECRET>")
                for needle in hits:
                    line = line.replace(needle, "<PART OF A SECRET>")
                print("LEAK %s:%d: %s" % (path, number, line.rstrip()[:300]))
sys.exit(1 if found else 0)
PY
}

# The search must be able to fail: a file that holds the token is reported.
printf 'Authorization: Bearer %s\n' "$token" > "$work/control.txt"
if check_no_secret "$work/control.txt" > /dev/null; then
    echo "FAIL: the leak search does not find a token that is there" >&2
    exit 1
fi

test -s "$work/ansible.log" || {
    echo "FAIL: ANSIBLE_LOG_PATH was not written" >&2
    exit 1
}

# Searched even when the play failed: a failing run is where a leak is most likely.
searched=("$work/output.txt" "$work/ansible.log")
# the progress record a pull keeps (emulator runs only)
if [ -e "$work/progress.json" ]; then searched+=("$work/progress.json"); fi
leaks=0
check_no_secret "${searched[@]}" || leaks=1
# Files the role wrote (tasks/role.yml) may hold the token only where root alone can read them.
while IFS= read -r -d '' file; do
    check_no_secret "$file" > /dev/null && continue
    if [ "$(stat -c '%a %U' "$file")" != "600 root" ]; then
        echo "FAIL: $file holds a token and is $(stat -c '%a %U' "$file")" >&2
        leaks=1
    fi
done < <(find "$work/role" -type f -print0 2> /dev/null)
if [ "$status" -ne 0 ]; then
    echo "FAIL: the security playbook failed (exit $status)" >&2
    exit "$status"
fi
# The output must be the -vvv output of a play that really used the token (masked by no_log).
grep -q 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER' "$work/output.txt" || {
    echo "FAIL: no masked api_token in the output; did the play run at -vvv with a token?" >&2
    exit 1
}
grep -q 'SECURITY CHECKS DONE' "$work/output.txt" || {
    echo "FAIL: the play did not reach its end" >&2
    exit 1
}
if [ "$leaks" -ne 0 ]; then
    echo "FAIL: a token appears in the output (lines above, the token masked)" >&2
    exit 1
fi
echo "OK: no token in $(wc -l < "$work/output.txt") lines of -vvv output, $(wc -l < "$work/ansible.log") lines of the Ansible log, ${#searched[@]} files in all"
