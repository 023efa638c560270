# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Mirrors CONNECTION_ARGUMENT_SPEC in plugins/module_utils/_api.py.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - Address of the Ollama API, V([scheme://]host[:port][/path]).
      - Parsed like the Ollama server parses E(OLLAMA_HOST) - without a scheme the port defaults
        to V(11434), but V(http://host) means port V(80) and V(https://host) port V(443).
      - If not set in the task, the value of the environment variable E(OLLAMA_HOST) on the
        managed node is used, else V(http://127.0.0.1:11434).
    type: str
  api_token:
    description:
      - Token sent as a bearer token in the C(Authorization) header, for an Ollama server behind
        an authenticating proxy.
      - Never shown in results or error messages.
      - Leading and trailing whitespace is dropped (a token read from a file or a YAML block
        scalar ends with a line break); a token with a space or a control character inside is
        refused before any request.
    type: str
  validate_certs:
    description:
      - Verify the server's TLS certificate when O(url) uses V(https).
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the certificate authorities that signed the server's certificate.
    type: path
  client_cert:
    description:
      - PEM client certificate for servers that require mutual TLS.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert), when not included in that file.
    type: path
  timeout:
    description:
      - Seconds to wait for an answer to an ordinary API call.
      - Loading a model into memory may take longer; load calls wait at least 300 seconds.
    type: int
    default: 30
  wait_timeout:
    description:
      - Seconds to wait for the API to start answering, retrying with a growing pause, for
        hosts that have just booted or restarted Ollama.
      - V(0) fails at once when the server cannot be reached.
      - TLS failures (a certificate refused by either side) are not retried, since waiting
        cannot fix them.
    type: int
    default: 0
"""

    ACTIONGROUP = r"""
attributes:
  action_group:
    description: Use C(group/llmops.ollama.ollama) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - llmops.ollama.ollama
"""
