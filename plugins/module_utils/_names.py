# -*- coding: utf-8 -*-
# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Ollama model names: parsing, validation and normalisation.

Private to the collection. Pure functions, no Ansible imports, so modules, filters and
tests share one implementation of the server's naming rules
(``[scheme://][host/][namespace/]model[:tag]``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import collections

DEFAULT_HOST = "registry.ollama.ai"
DEFAULT_NAMESPACE = "library"
DEFAULT_TAG = "latest"

_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_MAX_LEN = {"host": 350, "namespace": 80, "model": 80, "tag": 80}

ModelName = collections.namedtuple("ModelName", ["host", "namespace", "model", "tag"])


class InvalidModelName(ValueError):
    """A name the Ollama server would refuse; the message says why."""


def _part_problem(kind, value):
    if not value:
        return "its %s is empty" % kind
    if len(value) > _MAX_LEN[kind]:
        return "its %s is longer than %d characters" % (kind, _MAX_LEN[kind])
    if value[0] not in _ASCII_ALNUM and value[0] != "_":
        return "its %s %r must start with a letter, a digit or '_'" % (kind, value)
    for char in value[1:]:
        if char in _ASCII_ALNUM or char in "_-":
            continue
        if char == "." and kind != "namespace":
            continue
        if char == ":" and kind == "host":
            continue
        return "its %s %r contains %r, which is not allowed there" % (kind, value, char)
    return None


def parse_name(name):
    """Split ``name`` into a fully qualified ModelName, or raise InvalidModelName."""
    if not isinstance(name, str):
        raise InvalidModelName("a model name must be a string, got %s" % type(name).__name__)
    scheme, sep, rest = name.partition("://")
    if not sep:
        rest = name
    elif scheme.lower() not in ("http", "https"):
        # The server would drop any scheme, but a name is also written into Modelfiles and
        # unit files, so nothing but the two real schemes may ride in front of it.
        raise InvalidModelName(
            "%r is not a valid Ollama model name: its scheme %r is not http or https" % (name, scheme)
        )
    host = namespace = tag = None
    if rest.rfind(":") > rest.rfind("/"):
        rest, _sep, tag = rest.rpartition(":")
    if "/" in rest:
        rest, model = rest.rsplit("/", 1)
        if "/" in rest:
            host, namespace = rest.rsplit("/", 1)
        else:
            namespace = rest
    else:
        model = rest
    parts = (("host", host), ("namespace", namespace), ("model", model), ("tag", tag))
    for kind, value in parts:
        # A separator that promises a part which is then empty makes the name invalid.
        if value is None and kind != "model":
            continue
        problem = _part_problem(kind, value)
        if problem:
            raise InvalidModelName("%r is not a valid Ollama model name: %s" % (name, problem))
    return ModelName(
        host or DEFAULT_HOST,
        namespace or DEFAULT_NAMESPACE,
        model,
        tag or DEFAULT_TAG,
    )


def name_problem(name):
    """Return why ``name`` is invalid, or None when the server would accept it."""
    try:
        parse_name(name)
    except InvalidModelName as exc:
        return str(exc)
    return None


def is_valid_name(name):
    return name_problem(name) is None


def qualified_name(name):
    """``host/namespace/model:tag``, lower-cased: the key two spellings of one model share."""
    parsed = parse_name(name)
    return ("%s/%s/%s:%s" % parsed).lower()


def display_name(name):
    """The shortest form the server shows in /api/tags and /api/ps (always with ``:tag``)."""
    parsed = parse_name(name)
    if parsed.host.lower() == DEFAULT_HOST:
        if parsed.namespace.lower() == DEFAULT_NAMESPACE:
            return "%s:%s" % (parsed.model, parsed.tag)
        return "%s/%s:%s" % (parsed.namespace, parsed.model, parsed.tag)
    return "%s/%s/%s:%s" % parsed


def same_model(left, right):
    """True when two names denote the same model (defaults applied, case-insensitive)."""
    return qualified_name(left) == qualified_name(right)
