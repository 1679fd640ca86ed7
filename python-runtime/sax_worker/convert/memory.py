"""Keeping the converter's resident set near one variable, and measuring it (Linux; elsewhere no-ops).

Two kinds of memory outlive their use unless handed back explicitly:

- pages of a memory-mapped checkpoint file: once touched they stay resident, and counted in RSS, until
  the mapping goes or they are released (``release_pages``, as soon as their rows are copied);
- heap memory freed by tensorstore's encoder threads: glibc keeps it in per-thread arenas, so the
  resident set ratchets up by tens of MiB per large array written (``trim_heap``).
"""

from __future__ import annotations

import ctypes
import mmap
import resource
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

_MADV_DONTNEED = 4
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform == "linux" else None


def release_pages(view: torch.Tensor) -> None:
    """Drops the whole pages under a contiguous ``view`` from the resident set (others: no-op).

    For rows of a source part that have been copied (see ``source.Part``): a read-only view of a file
    mapping, whose pages are read back from the file if touched again, or memory nothing reads again.
    Pages only partly under ``view`` are left alone, so memory around it is never affected.
    """
    if _LIBC is None or not view.is_contiguous():
        return
    first = view.data_ptr()
    start = -(-first // mmap.PAGESIZE) * mmap.PAGESIZE
    end = (first + view.numel() * view.element_size()) // mmap.PAGESIZE * mmap.PAGESIZE
    if end > start:
        _LIBC.madvise(ctypes.c_void_p(start), ctypes.c_size_t(end - start), _MADV_DONTNEED)


def trim_heap() -> None:
    """Returns the heap memory glibc holds free in its arenas to the kernel (``malloc_trim``)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(ctypes.c_size_t(0))


def peak_rss_bytes() -> int:
    """This process's peak resident set size so far.

    Linux: ``VmHWM`` from /proc/self/status. ``getrusage``'s ``ru_maxrss`` survives ``exec``, so a
    converter started by a large parent (a test holding a model in memory, say) would report the
    parent's size from the moment of the fork. Elsewhere ``getrusage`` (bytes on macOS).
    """
    if sys.platform == "linux":
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024
