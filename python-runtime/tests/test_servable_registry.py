"""The static servable table: configs select builders by kind and architecture family, never by name."""

import pytest

from sax_worker.servables.registry import build_servable, builder_key


def test_selects_by_kind_alone_without_an_architecture():
    assert builder_key({"kind": "echo"}) == "echo"


def test_selects_by_kind_and_the_family_inside_architecture():
    assert builder_key({"kind": "lm", "architecture": {"family": "llama"}}) == "lm/llama"


@pytest.mark.parametrize("config", [{}, {"kind": ""}, {"kind": "lm", "architecture": {"family": 3}}])
def test_rejects_configs_without_a_usable_kind_or_family(config):
    with pytest.raises(ValueError, match="non-empty string"):
        builder_key(config)


def test_rejects_an_unknown_kind_naming_what_it_can_build():
    expected = r"unknown servable kind 'os.system'; this worker builds: echo, lm/llama"
    with pytest.raises(ValueError, match=expected):
        build_servable({"kind": "os.system"}, "None", 1)


def test_builds_the_echo_servable():
    servable = build_servable({"kind": "echo"}, "None", 1)
    assert "lm.generate" in servable.methods
