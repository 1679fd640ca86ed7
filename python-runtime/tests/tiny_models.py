"""Architectures small enough that a test builds, compiles and runs them in a second or two on a CPU."""

#: A one-layer GQA LLaMA over the byte tokenizer's vocabulary (259 ids), float32.
TINY_LLAMA = {
    "family": "llama",
    "numLayers": 1,
    "modelDims": 16,
    "hiddenDims": 32,
    "numHeads": 2,
    "numKvHeads": 1,
    "dimsPerHead": 8,
    "vocabSize": 259,
    "useMqa": True,
    "dtype": "float32",
}

#: Two-layer LLaMAs of the fidelity tests (HF, JAX and torch decoders), float32: MHA with one combined
#: QKV weight, GQA, and GQA with LLaMA-3.1 RoPE scaling.
_PARITY_BASE = {
    "family": "llama",
    "numLayers": 2,
    "modelDims": 64,
    "hiddenDims": 160,
    "numHeads": 4,
    "dimsPerHead": 16,
    "vocabSize": 300,
    "dtype": "float32",
}
_LLAMA_3_1_ROPE = {
    "ropeTheta": 500_000,
    "ropeScaling": {"factor": 8, "lowFreqFactor": 1, "highFreqFactor": 4, "originalMaxPositions": 8192},
}
PARITY_ARCHITECTURES = {
    "mha_combined_qkv": {**_PARITY_BASE, "numKvHeads": 4, "useMqa": False},
    "gqa": {**_PARITY_BASE, "numKvHeads": 2, "useMqa": True},
    "gqa_llama3_1_rope": {**_PARITY_BASE, "numKvHeads": 2, "useMqa": True, **_LLAMA_3_1_ROPE},
}

#: A two-layer GQA LLaMA over the byte tokenizer's vocabulary, float32 (the servable tests' model).
SMALL_LLAMA = {
    "family": "llama",
    "numLayers": 2,
    "modelDims": 32,
    "hiddenDims": 64,
    "numHeads": 4,
    "numKvHeads": 2,
    "dimsPerHead": 8,
    "vocabSize": 259,
    "useMqa": True,
    "dtype": "float32",
}

#: Greedy serving knobs of the servable tests: prompts up to 16 ids (buckets 8 and 16), 8 decode steps,
#: stream chunks of 3 tokens, no extra inputs; generate, stream, score and embed.
GREEDY_SERVING = {
    "inputSeqLen": 16,
    "bucketKeys": [8],
    "maxDecodeSteps": 8,
    "numSamples": 1,
    "topK": 1,
    "streamIntervalSteps": 3,
    "extraInputs": {},
    "enableGenerateStream": True,
    "embed": {"modelMethodName": "embed", "outputEmbeddingName": "embedding"},
}
