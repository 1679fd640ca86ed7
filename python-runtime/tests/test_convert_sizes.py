"""``sax_worker.convert.sizes``: Saxml's size keys, custom sizes, and checks against the checkpoint."""

import pytest

from sax_worker.convert.errors import ConvertError
from sax_worker.convert.sizes import MODEL_SIZES, ModelSize, SourceDims, resolve_size

NO_FLAGS = dict.fromkeys(("num_layers", "num_heads", "num_kv_heads", "dims_per_head", "vocab_size"))
SILENT = SourceDims(file="params.json")


def test_every_size_key_of_the_spec_with_its_dimensions():
    # Spec data-plane §5.5: key -> L, N, K, H, V, combined_qkv.
    spec = {
        "7b": (32, 32, 32, 128, 32000, True),
        "13b": (40, 40, 40, 128, 32000, True),
        "70b": (80, 64, 8, 128, 32000, False),
        "llama3_1b": (16, 32, 8, 64, 128256, False),
        "llama3_8b": (32, 32, 8, 128, 128256, False),
        "llama3_70b": (80, 64, 8, 128, 128256, False),
        "llama3_405b_mp8": (126, 128, 8, 128, 128256, False),
        "llama3_405b_mp16": (126, 128, 16, 128, 128256, False),
    }

    assert {key: ModelSize(*dims) for key, dims in spec.items()} == MODEL_SIZES


def test_a_named_size_that_matches_the_params_file_is_used_as_is():
    source = SourceDims("params.json", num_layers=80, num_heads=64, num_kv_heads=8, dims_per_head=128)

    assert resolve_size("70b", NO_FLAGS, None, source) == MODEL_SIZES["70b"]


def test_a_named_size_that_contradicts_the_params_file_names_the_sizes_that_fit():
    llama3_8b = SourceDims("params.json", num_layers=32, num_heads=32, num_kv_heads=8, dims_per_head=128)

    with pytest.raises(ConvertError) as err:
        resolve_size("7b", NO_FLAGS, None, llama3_8b)

    assert str(err.value) == (
        "--model-size 7b does not match the checkpoint: params.json says num_kv_heads 8 (the size has 32); "
        "try --model-size llama3_8b"
    )


def test_a_named_size_takes_no_dimension_flags():
    with pytest.raises(ConvertError, match="--num-layers, --combined-qkv/--no-combined-qkv apply only to"):
        resolve_size("13b", {**NO_FLAGS, "num_layers": 4}, False, SILENT)


def test_a_custom_size_takes_flags_first_then_the_params_file_and_combines_qkv_when_k_equals_n():
    source = SourceDims("params.json", num_layers=4, num_heads=8, num_kv_heads=8, dims_per_head=32)

    size = resolve_size("custom", {**NO_FLAGS, "vocab_size": 259}, None, source)

    assert size == ModelSize(4, 8, 8, 32, 259, combined_qkv=True)
    assert not resolve_size("custom", {**NO_FLAGS, "vocab_size": 259}, False, source).combined_qkv


def test_a_custom_size_lists_the_flags_the_params_file_cannot_supply():
    with pytest.raises(ConvertError) as err:
        resolve_size("custom", {**NO_FLAGS, "num_layers": 2, "num_heads": 4}, None, SILENT)

    assert str(err.value) == (
        "--model-size custom needs --num-kv-heads, --dims-per-head, --vocab-size: "
        "params.json does not state them"
    )


def test_a_custom_flag_that_contradicts_the_params_file_is_refused():
    source = SourceDims(
        "config.json", num_layers=4, num_heads=8, num_kv_heads=8, dims_per_head=32, vocab_size=259
    )

    with pytest.raises(ConvertError, match=r"config.json says num_heads 8 \(the size has 16\)"):
        resolve_size("custom", {**NO_FLAGS, "num_heads": 16}, None, source)
