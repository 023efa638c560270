# Copyright (c) llmops.ollama contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Model-name rules, checked against the server's grammar (reference section 1.5)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.llmops.ollama.plugins.module_utils._names import (
    InvalidModelName,
    display_name,
    name_problem,
    parse_name,
    qualified_name,
    same_model,
)


@pytest.mark.parametrize(
    "name, shown",
    [
        ("llama3.2", "llama3.2:latest"),
        ("me/mario", "me/mario:latest"),
        ("registry.ollama.ai/library/llama3.2:latest", "llama3.2:latest"),
        ("localhost:5000/ns/model:v1", "localhost:5000/ns/model:v1"),
        ("registry.local:5000/team/model:tag", "registry.local:5000/team/model:tag"),
        ("qwen2.5-coder:1.5b-base", "qwen2.5-coder:1.5b-base"),
        ("http://host/ns/m", "host/ns/m:latest"),
        ("_private:x", "_private:x"),
    ],
)
def test_valid_names_display_like_the_server(name, shown):
    assert name_problem(name) is None
    assert display_name(name) == shown


@pytest.mark.parametrize(
    "name, reason",
    [
        ("localhost:5000/model", "namespace 'localhost:5000' contains ':'"),
        ("registry.example.com/model", "namespace 'registry.example.com' contains '.'"),
        ("a/b/c/d", "host 'a/b' contains '/'"),
        ("foo:", "tag is empty"),
        ("/foo", "namespace is empty"),
        ("", "model is empty"),
        ("llama 3", "contains ' '"),
        ("x;rm -rf /", "contains ';'"),
        ("../etc/passwd", "must start with a letter"),
        ("-model", "must start with a letter"),
        ("m:" + "a" * 81, "tag is longer than 80"),
        ("x\nFROM evil://llama3", "scheme 'x\\nFROM evil' is not http or https"),
        ("$(id)://llama3", "is not http or https"),
        ("modèle", "contains 'è'"),
    ],
)
def test_invalid_names_say_why(name, reason):
    problem = name_problem(name)
    assert problem is not None and reason in problem
    with pytest.raises(InvalidModelName):
        parse_name(name)


def test_non_string_is_refused():
    assert "must be a string" in name_problem(5)


def test_defaults_apply_and_case_is_ignored():
    assert qualified_name("Llama3.1:8B") == "registry.ollama.ai/library/llama3.1:8b"
    assert same_model("llama3.1", "registry.ollama.ai/library/llama3.1:latest")
    assert same_model("ME/Mario", "me/mario:latest")
    assert not same_model("llama3.1:8b", "llama3.1:70b")
