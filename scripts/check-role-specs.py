"""Fail when a role's defaults and its meta/argument_specs.yml disagree.

Every public variable must be defaulted in defaults/main.yml, documented in the `main` entry
point of meta/argument_specs.yml, and named after the role (`<role>_...`).
"""

import pathlib
import sys

import yaml


def check(role_dir):
    role = role_dir.name
    defaults = yaml.safe_load((role_dir / "defaults" / "main.yml").read_text()) or {}
    specs = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text()) or {}
    options = specs.get("argument_specs", {}).get("main", {}).get("options", {}) or {}
    problems = []
    for name in sorted(set(defaults) - set(options)):
        problems.append("%s: %s is defaulted but not documented in meta/argument_specs.yml" % (role, name))
    for name in sorted(set(options) - set(defaults)):
        if not options[name].get("required"):
            problems.append("%s: %s is documented but has no default in defaults/main.yml" % (role, name))
    for name in sorted(set(defaults) | set(options)):
        if not name.startswith(role + "_"):
            problems.append("%s: public variable %s does not start with %s_" % (role, name, role))
    for name, spec in sorted(options.items()):
        if not spec.get("description"):
            problems.append("%s: %s has no description in meta/argument_specs.yml" % (role, name))
    return problems


def main(argv):
    problems = []
    roles = [pathlib.Path(arg) for arg in argv[1:]]
    for role_dir in roles:
        problems.extend(check(role_dir))
    for problem in problems:
        print(problem)
    if not problems:
        print("role specs agree with defaults: %s" % ", ".join(r.name for r in roles))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
