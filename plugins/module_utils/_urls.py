# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place the collection loads ``ansible.module_utils.urls``, its HTTP transport.

PRIVATE to the collection: may change at any time. urls imports ``cryptography`` only to hash the
server's certificate for GSSAPI (Kerberos) channel binding, which the client never uses: it
authenticates with a bearer token. Where cryptography is installed that import alone costs about
30 ms, a tenth of a whole no-op task, so it is kept out of ``sys.modules`` while urls loads and
put back after.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import sys

__all__ = ("Request", "SSLValidationError", "UrlsConnectionError", "make_context")

HIDE_CRYPTOGRAPHY = "cryptography" not in sys.modules
if HIDE_CRYPTOGRAPHY:
    sys.modules["cryptography"] = None
try:
    from ansible.module_utils.urls import ConnectionError as UrlsConnectionError
    from ansible.module_utils.urls import Request, SSLValidationError, make_context
finally:
    if HIDE_CRYPTOGRAPHY and sys.modules.get("cryptography", False) is None:
        del sys.modules["cryptography"]
