# -*- coding: utf-8 -*-
# Copyright: (c) 2026, llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test helper, not part of the collection's content: start or stop an Ollama API emulator for
the integration targets.

``start`` runs the emulator detached from the task that started it, with its state and log in a
new temporary directory (or where ``--state-dir``, ``--log`` and ``--remove-dir`` say), waits for
its ``listening on http://HOST:PORT`` line and until ``GET /`` answers, and prints
``{"url": ..., "pid": ..., "dir": ...}``. With ``--early`` it picks a free port itself and reports
at once (an emulator started with ``--boot-delay`` only prints that line, and only answers, once
its boot delay is over).

A watchdog stays behind and stops the emulator when the ``ansible-playbook`` run that started it
ends (each ansible-test target is its own playbook run, so an emulator never outlives its target
even if the play is interrupted before its cleanup), or after ``--max-lifetime`` seconds at the
latest.

``stop --pid PID --remove-dir DIR`` ends an emulator, waits until it is gone and removes its
directory (the watchdog removes it too when it stops the emulator).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import argparse
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

LISTENING = "listening on "


def _parent_pid(pid):
    with open("/proc/%d/status" % pid) as status:
        for line in status:
            if line.startswith("PPid:"):
                return int(line.split()[1])
    return 0


def _cmdline(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            return f.read().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


def outermost_playbook_pid():
    """The main ansible-playbook process: task workers are forks of it and share its command line,
    so the outermost matching ancestor is the one that lives as long as the run."""
    found = None
    pid = os.getppid()
    while pid > 1:
        if "ansible-playbook" in _cmdline(pid):
            found = pid
        try:
            pid = _parent_pid(pid)
        except OSError:
            break
    return found


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie has exited; /proc still lists it until it is reaped
    try:
        with open("/proc/%d/stat" % pid) as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _terminate(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _drain(stream, log):
    for line in iter(stream.readline, b""):
        log.write(line)
        log.flush()


def _remove(directory):
    if directory:
        shutil.rmtree(directory, ignore_errors=True)


def _report(fd, record):
    os.write(fd, (json.dumps(record) + "\n").encode())
    os.close(fd)


def run_watchdog(args, report_fd):
    """Runs in the detached child: start the emulator, report its URL, then guard its lifetime."""
    os.setsid()
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    with open(args.log, "ab") as log:
        code = _serve(args, report_fd, log)
    _remove(args.remove_dir)
    return code


def _free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _serve(args, report_fd, log):
    port = _free_port() if args.early else 0
    command = [args.python, args.emulator, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--state-dir", args.state_dir] + args.emulator_args
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL)
    url = "http://127.0.0.1:%d" % port if args.early else None
    # readline blocks; the timer ends an emulator that never announces itself, which ends the loop
    timer = threading.Timer(args.start_timeout, _terminate, (proc,))
    timer.start()
    for line in iter(proc.stdout.readline, b"") if url is None else ():
        log.write(line)
        log.flush()
        text = line.decode("utf-8", "replace").strip()
        if text.startswith(LISTENING):
            url = text[len(LISTENING) :].strip()
            break
    timer.cancel()
    if url is None:
        _terminate(proc)
        log.flush()
        with open(args.log, "rb") as written:
            tail = written.read()[-4000:].decode("utf-8", "replace")
        _report(report_fd, {"error": "the emulator did not print '%s...'" % LISTENING, "command": command, "log": tail})
        return 1
    _report(report_fd, {"url": url, "pid": proc.pid, "watch_pid": args.watch_pid, "dir": args.remove_dir})
    threading.Thread(target=_drain, args=(proc.stdout, log), daemon=True).start()
    end_of_life = time.monotonic() + args.max_lifetime
    while proc.poll() is None:
        if (args.watch_pid and not _alive(args.watch_pid)) or time.monotonic() > end_of_life:
            _terminate(proc)
            break
        time.sleep(0.2)
    return 0


def start(args):
    if args.watch_pid is None:
        args.watch_pid = outermost_playbook_pid()
    if args.remove_dir is None:
        args.remove_dir = tempfile.mkdtemp(prefix="ollama-emulator-")
    if args.state_dir is None:
        args.state_dir = os.path.join(args.remove_dir, "state")
    if args.log is None:
        args.log = os.path.join(args.remove_dir, "emulator.log")
    read_fd, write_fd = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(read_fd)
        code = 1
        try:
            code = run_watchdog(args, write_fd)
        finally:
            os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as reader:
        answer = reader.read().strip()
    if not answer:
        print(json.dumps({"error": "the emulator launcher died"}))
        return 1
    record = json.loads(answer)
    if "url" in record and not args.early and not _answers(record["url"], args.start_timeout):
        record = {"error": "the emulator at %s does not answer GET /" % record["url"], "pid": record["pid"]}
    print(json.dumps(record))
    return 0 if "url" in record else 1


def _answers(url, timeout):
    """Poll GET / until the server answers or the deadline passes. Any answer counts: 401 from a
    server that wants a token, or a TLS handshake refused for want of a client certificate."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    context = None
    if url.startswith("https:"):
        # a readiness probe only: nothing read here is trusted, and the test's own CA is unknown
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    while True:
        try:
            urllib.request.urlopen(url + "/", timeout=5, context=context).close()
            return True
        except urllib.error.HTTPError:
            return True
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, ssl.SSLError):
                return True
        except ssl.SSLError:
            return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def stop(args):
    try:
        os.kill(args.pid, signal.SIGTERM)
    except ProcessLookupError:
        _remove(args.remove_dir)
        print(json.dumps({"stopped": False}))
        return 0
    deadline = time.monotonic() + args.timeout
    while _alive(args.pid):
        if time.monotonic() > deadline:
            os.kill(args.pid, signal.SIGKILL)
            deadline = time.monotonic() + args.timeout
        time.sleep(0.05)
    _remove(args.remove_dir)
    print(json.dumps({"stopped": True}))
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p_start = sub.add_parser("start")
    p_start.add_argument("--emulator", required=True)
    p_start.add_argument("--python", default=sys.executable)
    p_start.add_argument("--state-dir", help="default: DIR/state")
    p_start.add_argument("--log", help="default: DIR/emulator.log")
    p_start.add_argument(
        "--remove-dir", metavar="DIR", help="removed once the emulator has stopped (default: a new temporary directory)"
    )
    p_start.add_argument("--watch-pid", type=int, default=None)
    p_start.add_argument("--start-timeout", type=float, default=30)
    p_start.add_argument("--max-lifetime", type=float, default=1800)
    p_start.add_argument(
        "--early",
        action="store_true",
        help="pick the port here and report at once, without waiting for the emulator (for --boot-delay)",
    )
    p_start.add_argument("emulator_args", nargs="*")
    p_stop = sub.add_parser("stop")
    p_stop.add_argument("--pid", type=int, required=True)
    p_stop.add_argument("--timeout", type=float, default=10)
    p_stop.add_argument("--remove-dir", help="directory to delete once the emulator has stopped")
    args = parser.parse_args()
    return start(args) if args.command == "start" else stop(args)


if __name__ == "__main__":
    sys.exit(main())
