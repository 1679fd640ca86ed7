"""Python worker runtime for sax-ts.

The TypeScript model server starts one worker process per model family and talks to it over a local
channel; the worker loads and steps JAX or PyTorch models. The public surface is re-exported here.
"""
