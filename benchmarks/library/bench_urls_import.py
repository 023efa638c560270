# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark helper, not part of the collection's content: a module that loads
ansible.module_utils.urls through plugins/module_utils/_urls.py, as the client does (without
cryptography), and does nothing else. Its cost over a ping task is the floor of any module that
speaks HTTP through urls."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.llmops.ollama.plugins.module_utils import _urls  # noqa: F401  pylint: disable=unused-import

DOCUMENTATION = r"""
module: bench_urls_import
short_description: benchmark helper, imports ansible.module_utils.urls and does nothing
description: See the module's docstring.
options: {}
author: llmops.ollama contributors
"""


def main():
    module = AnsibleModule(argument_spec={}, supports_check_mode=True)
    module.exit_json(changed=False)


if __name__ == "__main__":
    main()
