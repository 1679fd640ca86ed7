import pytest

from sax_worker.bench_bandwidth import bytes_per_step, run
from sax_worker.models.decoder_config import DecoderConfig
from tiny_models import TINY_LLAMA


def test_a_step_reads_every_weight_but_all_except_one_row_of_the_embedding_table():
    cfg = DecoderConfig.from_dict(TINY_LLAMA)
    d, f, n, k, h, v, layers = (
        cfg.model_dims,
        cfg.hidden_dims,
        cfg.num_heads,
        cfg.num_kv_heads,
        cfg.dims_per_head,
        cfg.vocab_size,
        cfg.num_layers,
    )
    per_layer = 2 * d * n * h + 2 * d * k * h + 3 * d * f + 2 * d  # attention, SwiGLU, two RMSNorm scales
    expected = layers * per_layer + d + d * v + d  # final norm, softmax, one embedding row
    assert bytes_per_step(cfg) == 4 * expected


def test_the_limit_is_the_measured_bandwidth_over_the_step_s_bytes():
    result = run({"architecture": TINY_LLAMA}, large_buffer_mib=64, repeats=1)
    assert result["read_gb_per_s"] > 0
    assert result["read_gb_per_s_large"] > 0
    expected = result["read_gb_per_s"] * 1e9 / result["bytes_per_step"]
    assert result["limit_tokens_per_s"] == pytest.approx(expected, rel=0.01)
