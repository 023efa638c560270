"""Fail when the built collection misses its content or carries toolchain or test output."""

import sys
import tarfile

FORBIDDEN = (".venv", ".build", ".collections", ".ansible", ".git", "tests/output", "__pycache__", ".pytest_cache")
REQUIRED = ("MANIFEST.json", "FILES.json", "meta/runtime.yml", "plugins/modules/ollama_model.py", "roles/models")


def main(path):
    with tarfile.open(path) as archive:
        names = [name.lstrip("./") for name in archive.getnames()]
    bad = [n for n in names if any(("/" + f + "/") in ("/" + n + "/") for f in FORBIDDEN)]
    missing = [r for r in REQUIRED if not any(n == r or n.startswith(r + "/") for n in names)]
    for name in bad:
        print("does not belong in the tarball: %s" % name)
    for name in missing:
        print("missing from the tarball: %s" % name)
    if bad or missing:
        return 1
    print("%s: %d entries, no test output or caches" % (path, len(names)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
