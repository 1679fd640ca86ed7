"""The static servable table: configs select builders by kind and architecture family, never by name."""

import sys

import pytest

from sax_worker.errors import WorkerError
from sax_worker.servables.registry import build_servable, builder_key
from tiny_models import GREEDY_SERVING, TINY_LLAMA


def test_selects_by_kind_alone_without_an_architecture():
    assert builder_key({"kind": "echo"}) == "echo"


def test_selects_by_kind_and_the_family_inside_architecture():
    assert builder_key({"kind": "lm", "architecture": {"family": "llama"}}) == "lm/llama"


def test_selects_another_framework_than_jax_by_appending_it():
    llama = {"kind": "lm", "architecture": {"family": "llama"}}
    assert builder_key({**llama, "framework": "jax"}) == "lm/llama"
    assert builder_key({**llama, "framework": "torch"}) == "lm/llama@torch"


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


def test_a_torch_class_without_torch_fails_its_load_saying_what_is_missing(monkeypatch):
    # A venv with only the serving pins (the Docker images): importing torch fails.
    monkeypatch.setitem(sys.modules, "torch", None)
    for name in [m for m in sys.modules if m.startswith("sax_worker.torch_models")]:
        monkeypatch.delitem(sys.modules, name)
    config = {"kind": "lm", "framework": "torch", "architecture": TINY_LLAMA, "serving": GREEDY_SERVING}
    with pytest.raises(
        WorkerError, match=r"runs on PyTorch \(torch\), which this worker.s venv does not have"
    ) as err:
        build_servable(config, "None", 1)
    assert err.value.code == "FAILED_PRECONDITION"
