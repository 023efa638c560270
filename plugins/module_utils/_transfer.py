# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The long transfers of the Ollama API: streamed pulls and creates, and blob uploads.

PRIVATE to the collection: may change at any time. ``OllamaClient`` imports this only when a run
pulls, creates or uploads, so the code is not compiled by runs that only look.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import socket
import ssl
from http.client import HTTPException


def sha256_file(path, chunk=1 << 20):
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        block = stream.read(chunk)
        while block:
            digest.update(block)
            block = stream.read(chunk)
    return "sha256:" + digest.hexdigest()


def read_stream(client, response, path, *, action, model, stall, progress):
    """Read an NDJSON answer one line at a time; see ``OllamaClient.stream``."""
    last_status = None
    last_progress = client.clock()

    def stalled():
        # The socket read timed out, or lines kept coming without progress: the same failure.
        return client._error(
            action,
            "no progress for %s seconds (last status: %s)" % (stall, last_status or "none"),
            model=model,
            hint="The server or the registry stalled; retry, or raise stall_timeout",
        )

    try:
        while True:
            try:
                line = response.readline()
            except (socket.timeout, ssl.SSLError) as exc:
                if isinstance(exc, socket.timeout) or "timed out" in str(exc):
                    raise stalled()
                raise client._transport_error(action, model, exc, stall)
            except (OSError, HTTPException) as exc:
                raise client._error(
                    action,
                    "the connection broke after status %r: %s" % (last_status or "none", exc),
                    model=model,
                    hint="Retry; an interrupted pull resumes where it stopped",
                )
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line.decode("utf-8") if isinstance(line, bytes) else line)
            except ValueError:
                raise client._error(action, "unexpected line in the answer: %r" % line[:200], model=model)
            if not isinstance(item, dict):
                continue
            if item.get("error"):
                from ansible_collections.llmops.ollama.plugins.module_utils._diagnose import hint  # noqa: PLC0415

                message = str(item["error"])
                raise client._error(
                    action, message, model=model, hint=hint(action, None, message, path), server_message=message
                )
            moved = progress.update(item) if progress is not None else True
            if item.get("status") != last_status:
                moved = True
            last_status = item.get("status") or last_status
            now = client.clock()
            if moved:
                last_progress = now
            elif stall and now - last_progress > stall:
                raise stalled()
    finally:
        response.close()
        if progress is not None and progress.path:
            progress.write()
    if last_status != "success":
        raise client._error(
            action,
            "the answer ended without success (last status: %s)" % (last_status or "none"),
            model=model,
            hint="The connection was probably cut; retry",
        )


def upload_blob(client, path, digest, stall_timeout):
    """Upload a local file as ``sha256:<hex>`` unless the server already has it."""
    digest = digest or sha256_file(path)
    if client.blob_exists(digest):
        return digest, False
    size = os.path.getsize(path)
    with open(path, "rb") as stream:
        response = client.open(
            "POST",
            "/api/blobs/%s" % digest,
            data=stream,
            headers={"Content-Type": "application/octet-stream", "Content-Length": str(size)},
            action="upload %s as blob" % os.path.basename(path),
            timeout=stall_timeout or 0,
        )
        response.close()
    return digest, True
