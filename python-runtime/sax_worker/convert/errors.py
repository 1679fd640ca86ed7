"""The converter's one user-facing error."""

from __future__ import annotations


class ConvertError(Exception):
    """Bad input, a checkpoint that does not match the model size, or a failed write.

    The message says what failed, with which file or flag, and what to try next; the command line prints
    it as one ``convert_llama_ckpt: …`` line, without a traceback, and exits 1.
    """
