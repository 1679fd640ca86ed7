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
