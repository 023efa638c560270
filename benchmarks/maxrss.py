# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper, not part of the collection's content: the Python interpreter bench.py gives
the managed host while it measures memory. It runs the module (stdin, arguments and exit status
pass through) and appends the module process's peak resident set size in KiB to the file named
by BENCH_MAXRSS_FILE."""

import os
import resource
import subprocess
import sys


def main():
    status = subprocess.call([sys.executable] + sys.argv[1:])
    record = os.environ.get("BENCH_MAXRSS_FILE")
    if record:
        with open(record, "a") as handle:
            handle.write("%d\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
    return status


if __name__ == "__main__":
    sys.exit(main())
