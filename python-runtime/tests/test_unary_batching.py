"""Dynamic batching of lm.score / lm.embed: requests that arrive together run as one device batch."""

import pytest

from sax_worker.errors import WorkerError
from sax_worker.models import lm_programs
from sax_worker.models.lm_servable import build_lm_servable
from sax_worker.servables.direct import CollectingReply
from sax_worker.servables.unary_batcher import UnaryBatcher

ARCH = {
    "family": "llama",
    "numLayers": 1,
    "modelDims": 32,
    "hiddenDims": 64,
    "numHeads": 4,
    "numKvHeads": 4,
    "dimsPerHead": 8,
    "vocabSize": 259,
    "dtype": "float32",
}
SERVING = {
    "inputSeqLen": 16,
    "numSamples": 1,
    "topK": 1,
    "extraInputs": {},
    "embed": {"modelMethodName": "embed", "outputEmbeddingName": "embedding"},
}


def build(serving):
    config = {"kind": "lm", "architecture": ARCH, "serving": serving, "randomWeightsWhenNoCheckpoint": True}
    return build_lm_servable(config, "None", 3)


def test_score_and_embed_requests_run_as_one_padded_batch():
    alone, batched = build(SERVING), build({**SERVING, "batchSize": [1, 4]})
    requests = [{"prefix": "ab", "suffix": ["cd"]}, {"prefix": "a much longer prefix", "suffix": ["x"]}]
    bad = {"prefix": "a", "suffix": ["b", "c"]}
    replies = [CollectingReply() for _ in range(4)]
    for i, request in enumerate([*requests, bad]):
        batched.submit(i, "lm.score", request, replies[i])
    batched.submit(3, "lm.embed", {"text": "embed me"}, replies[3])
    traces = lm_programs.trace_counts["score"]

    batched.step()

    assert all(reply.finished for reply in replies)
    assert lm_programs.trace_counts["score"] == traces + 1  # one program, for 4 rows of bucket 32
    for reply, request in zip(replies, requests, strict=False):
        assert reply.answer["logp"][0] == pytest.approx(alone.call("lm.score", request)["logp"][0], abs=1e-5)
    assert isinstance(replies[2].failure, ValueError)
    expected = alone.call("lm.embed", {"text": "embed me"})["embedding"]
    assert replies[3].answer["embedding"] == pytest.approx(expected, abs=1e-5)


def test_a_batch_waits_for_its_window_then_runs_what_came():
    now = [0.0]
    runs = []

    def run(method, requests):
        runs.append((method, len(requests)))
        return [{"n": r["n"]} for r in requests]

    batcher = UnaryBatcher(
        frozenset({"lm.score"}), run, batch_size=3, wait_secs=0.5, max_waiting=4, clock=lambda: now[0]
    )
    replies = [CollectingReply() for _ in range(5)]
    for i in range(2):
        batcher.submit(i, "lm.score", {"n": i}, replies[i])
    batcher.step()
    assert runs == []  # two of three, window open
    now[0] = 0.6
    batcher.step()
    assert runs == [("lm.score", 2)]
    for i in range(2, 5):
        batcher.submit(i, "lm.score", {"n": i}, replies[i])
    assert batcher.cancel(3)
    for i in (5, 6):  # 2, 4, 5 and 6 wait: the limit
        batcher.submit(i, "lm.score", {"n": i}, CollectingReply())
    with pytest.raises(WorkerError, match="Too many requests") as raised:
        batcher.submit(7, "lm.score", {"n": 7}, CollectingReply())
    assert raised.value.code == "RESOURCE_EXHAUSTED"
    batcher.step()  # a full batch runs at once
    assert runs[-1] == ("lm.score", 3)  # 2, 4 and 5
    assert replies[2].answer == {"n": 2}
    assert not replies[3].finished  # cancelled: never answered by the batcher
