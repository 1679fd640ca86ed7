"""Continuous batching: requests share cache slots, join and leave between steps, and answer as if alone."""

import pytest

from sax_worker.core import WorkerCore
from sax_worker.errors import WorkerError
from sax_worker.models import cb_programs, lm_programs
from sax_worker.models.lm_servable import build_lm_servable
from sax_worker.protocol import Call, Cancel, Chunk, End, ErrorReply, Load, Result
from sax_worker.servables.direct import CollectingReply
from tiny_models import SMALL_LLAMA

ARCH = SMALL_LLAMA
SERVING = {
    "inputSeqLen": 32,
    "bucketKeys": [8, 16],
    "maxDecodeSteps": 10,
    "numSamples": 1,
    "topK": 1,
    "extraInputs": {"per_example_max_decode_steps": 10},
    "enableGenerateStream": True,
    "streamIntervalSteps": 3,
}
SLOTS = 3


def config(serving):
    return {"kind": "lm", "architecture": ARCH, "serving": serving, "randomWeightsWhenNoCheckpoint": True}


@pytest.fixture(scope="module")
def alone():
    """The same weights without continuous batching: every request is its own device batch."""
    return build_lm_servable(config(SERVING), "None", 7)


@pytest.fixture
def batched():
    servable = build_lm_servable(config({**SERVING, "numCacheSlots": SLOTS, "maxLiveBatches": 2}), "None", 7)
    servable.warm_up()
    return servable


def steps(max_steps):
    return {"extra_inputs": {"items": {"per_example_max_decode_steps": max_steps}}}


def submit(servable, request_id, text, max_steps=10, method="lm.generate"):
    reply = CollectingReply()
    servable.submit(request_id, method, {"text": text, **steps(max_steps)}, reply)
    return reply


def run(servable, limit=100):
    count = 0
    while servable.busy:
        servable.step()
        count += 1
        assert count < limit, "the batcher did not finish"
    return count


def expect_same(answer, expected):
    [got], [want] = answer["texts"], expected["texts"]
    assert got["text"] == want["text"]
    assert got["score"] == pytest.approx(want["score"], abs=1e-4)


def test_concurrent_requests_answer_exactly_as_alone(alone, batched):
    prompts = ["a", "the second prompt", "xyz", "four", "a fifth, longer one"]
    replies = [submit(batched, i, p) for i, p in enumerate(prompts)]  # more than the slots

    run(batched)

    for reply, prompt in zip(replies, prompts, strict=True):
        expect_same(reply.answer, alone.call("lm.generate", {"text": prompt}))


def test_a_lone_request_decodes_several_tokens_per_call_and_answers_as_alone(alone, batched):
    reply = submit(batched, "lone", "several per call")

    calls = run(batched)

    expect_same(reply.answer, alone.call("lm.generate", {"text": "several per call"}))
    # 10 tokens: the prefill's and one step (the step time still unknown), then the last 8 in one call
    assert calls == 2


def test_requests_that_wait_together_are_prefilled_in_one_call(alone, monkeypatch):
    servable = build_lm_servable(config({**SERVING, "numCacheSlots": 5, "maxLiveBatches": 2}), "None", 7)
    servable.warm_up()
    prefills = []

    def prefill(cfg, settings, params, ids, *rest):
        prefills.append(ids.shape)
        return prefill_program(cfg, settings, params, ids, *rest)

    prefill_program = cb_programs.prefill
    monkeypatch.setattr(cb_programs, "prefill", prefill)
    texts = ["one", "a second prompt", "three"]  # 4, 16 and 6 tokens with SOS: buckets 8, 16 and 8
    replies = [submit(servable, 0, texts[0]), submit(servable, 1, texts[1]), submit(servable, 2, texts[2], 1)]

    run(servable)

    # Three prompts in one call of 4 rows (the fourth is padding), all at the longest one's bucket.
    assert prefills == [(4, 16)]
    for reply, text in zip(replies[:2], texts, strict=False):
        expect_same(reply.answer, alone.call("lm.generate", {"text": text}))
    # The third was done with its first token and never took a slot.
    alone_text = alone.call("lm.generate", {"text": texts[2]})["texts"][0]["text"]
    assert replies[2].answer["texts"][0]["text"] == alone_text[:1]


def test_attention_reads_a_window_that_grows_with_the_longest_live_sequence(monkeypatch):
    # Slots of 32 (the input length) + 80 = 112 positions: windows of 64 and 112.
    long_serving = {**SERVING, "maxDecodeSteps": 80, "extraInputs": {"per_example_max_decode_steps": 80}}
    servable = build_lm_servable(config({**long_serving, "numCacheSlots": 2}), "None", 7)
    servable.warm_up()
    alone_long = build_lm_servable(config(long_serving), "None", 7)
    calls = []

    def step(cfg, settings, rows, window, most_steps, state, params, count):
        calls.append((window, int(count)))
        return step_program(cfg, settings, rows, window, most_steps, state, params, count)

    step_program = cb_programs.step
    monkeypatch.setattr(cb_programs, "step", step)
    texts = ["grows past the window", "short"]
    replies = [submit(servable, 0, texts[0], 80), submit(servable, 1, texts[1], 5)]

    run(servable)

    # (Greedy decoding without slots ignores per-request step limits: compare the full-length one.)
    expect_same(replies[0].answer, alone_long.call("lm.generate", {"text": texts[0]}))
    assert replies[1].answer is not None
    assert [window for window, _ in calls] == sorted(window for window, _ in calls)  # only ever grows
    assert calls[0][0] == 64
    assert calls[-1][0] == servable.serving.slot_length == 112
    # A call crossing position 64 already runs in the wider window: its last position must be visible.
    prompt = len(servable.tokenizer.encode(texts[0], 32))  # SOS included
    position = prompt - 1  # where the first step writes: the prompt fills 0 .. prompt - 1
    for window, count in calls:
        assert position + count - 1 < window
        position += count


def test_after_a_request_leaves_the_next_call_is_one_step(batched, monkeypatch):
    counts = []

    def step(cfg, settings, rows, window, most_steps, state, params, count):
        counts.append(int(count))
        return step_program(cfg, settings, rows, window, most_steps, state, params, count)

    step_program = cb_programs.step
    monkeypatch.setattr(cb_programs, "step", step)
    short, long = submit(batched, "short", "leaves", 3), submit(batched, "long", "stays")

    run(batched)

    assert short.answer is not None
    assert long.answer is not None
    # After the prefills' tokens: one step (no step time yet), one (the short one's last), then one step
    # while its freed slot waits for a follow-up request, though the long one has 7 left; then the 6.
    assert counts == [1, 1, 1, 6]


def test_a_failed_prefill_answers_every_request_it_held(batched, monkeypatch):
    def prefill(*args):
        raise RuntimeError("the device is gone")

    replies = [submit(batched, i, "fails") for i in range(2)]
    with monkeypatch.context() as patched:
        patched.setattr(cb_programs, "prefill", prefill)
        batched.step()

    assert [str(reply.failure) for reply in replies] == ["the device is gone"] * 2
    assert not batched.busy
    after = submit(batched, "after", "still serves", 2)
    run(batched)
    assert after.answer is not None


def test_a_short_request_leaves_while_a_long_one_keeps_decoding(batched):
    long, short = submit(batched, "long", "long one", 10), submit(batched, "short", "short", 2)

    batched.step()  # admits both (the short one's first token comes from its prefill) and decodes one
    assert short.finished
    assert not long.finished
    late = submit(batched, "late", "joins later", 2)
    batched.step()  # the late request takes the short one's slot while the long one goes on
    batched.step()
    assert late.finished
    assert not long.finished
    run(batched)
    assert len(long.answer["texts"][0]["text"]) <= 10  # one byte per token; invalid bytes decode to U+FFFD


def test_per_request_max_steps_cap_the_answer_and_count_the_first_token(alone, batched):
    one = submit(batched, "one", "hello", 1)
    run(batched)
    # One token from the prefill, none from a slot: the reference would have produced two.
    assert len(one.answer["texts"][0]["text"]) <= 1
    assert (
        one.answer["texts"][0]["text"] == alone.call("lm.generate", {"text": "hello"})["texts"][0]["text"][:1]
    )


def test_cancel_frees_the_slot_for_the_next_request(batched):
    held = [submit(batched, i, f"prompt {i}") for i in range(SLOTS)]
    waiting = submit(batched, "waiting", "waits for a slot", 2)
    batched.step()
    assert not waiting.finished

    assert batched.cancel(1)
    assert not batched.cancel(1)  # already gone
    batched.step()
    batched.step()
    assert waiting.finished
    run(batched)
    assert not held[1].finished  # cancelled requests get no answer from the batcher


def test_a_full_batcher_answers_resource_exhausted(batched):
    for i in range(SLOTS + 2):  # slots + batch size 1 x 2 live batches
        submit(batched, i, "fill")
    with pytest.raises(WorkerError, match="Too many requests: 5 generate requests in flight") as raised:
        submit(batched, "one too many", "fill")
    assert raised.value.code == "RESOURCE_EXHAUSTED"
    run(batched)


def test_streams_are_incremental_and_add_up_to_the_generated_text(alone, batched):
    reply = submit(batched, "s", "stream me", method="lm.generate_stream")
    run(batched)

    texts = [chunk["items"][0]["text"] for chunk in reply.chunks]
    prefix_lens = [chunk["items"][0]["prefix_len"] for chunk in reply.chunks]
    assert "".join(texts) == alone.call("lm.generate", {"text": "stream me"})["texts"][0]["text"]
    assert prefix_lens == [sum(len(t) for t in texts[:i]) for i in range(len(texts))]
    assert reply.chunks[-1]["items"][0]["scores"] == [0.0]  # the final flush message
    assert len(reply.chunks) >= 3  # 10 tokens in intervals of 3, then the flush


def test_serving_after_warm_up_compiles_nothing(batched):
    counts = lm_programs.trace_counts
    before = {name: counts[name] for name in ("cb_prefill", "cb_insert", "cb_step", "cb_release")}
    for i, text in enumerate(["a", "bb" * 5, "c" * 12]):  # buckets 8 and 16
        submit(batched, i, text)
    batched.step()
    batched.cancel(0)
    run(batched)
    assert {name: counts[name] for name in before} == before


def test_the_worker_core_schedules_batched_requests_and_enforces_deadlines():
    emitted = []
    now = [0.0]
    core = WorkerCore(emitted.append, clock=lambda: now[0])
    serving = {**SERVING, "numCacheSlots": 2}
    core.handle(Load(1, {"kind": "lm", **config(serving)}, "None", 7))
    assert isinstance(emitted.pop(), Result)

    core.handle(Call(2, "lm.generate", {"text": "hi", **steps(3)}, None))
    core.handle(Call(3, "lm.generate_stream", {"text": "stream"}, None))
    core.handle(Call(4, "lm.generate", {"text": "slow"}, 1000))
    core.handle(Call(5, "lm.generate", {"text": "cancel me"}, None))
    core.step()
    core.handle(Cancel(5))
    now[0] = 2.0  # request 4's deadline passes
    while core.busy:
        core.step()

    by_id = {}
    for message in emitted:
        by_id.setdefault(message.id, []).append(message)
    assert isinstance(by_id[2][-1], Result)
    assert isinstance(by_id[3][-1], End)
    assert all(isinstance(m, Chunk) for m in by_id[3][:-1])
    assert by_id[4] == [ErrorReply(4, "DEADLINE_EXCEEDED", "lm.generate request 4 passed its deadline")]
    assert by_id[5] == [ErrorReply(5, "CANCELLED", "request 5 was cancelled")]
