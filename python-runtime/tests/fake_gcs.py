"""A fake-gcs-server process for gs:// tests (the binary scripts/install-fake-gcs-server builds)."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

BINARY = Path(__file__).resolve().parents[2] / ".tools" / "bin" / "fake-gcs-server"
BUCKET = "sax-test"


@contextmanager
def fake_gcs_server() -> Iterator[str]:
    """Runs an in-memory server on a free loopback port with bucket ``sax-test``; yields its origin."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    args = ["-scheme", "http", "-host", "127.0.0.1", "-port", str(port), "-backend", "memory"]
    proc = subprocess.Popen([BINARY, *args, "-log-level", "warn"], stdout=subprocess.DEVNULL)
    try:
        _wait_until_healthy(endpoint, proc)
        upload(
            f"{endpoint}/storage/v1/b?project=test", f'{{"name": "{BUCKET}"}}'.encode(), "application/json"
        )
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=5)


def upload(url: str, body: bytes, content_type: str = "application/octet-stream") -> None:
    """POSTs ``body`` to ``url`` (bucket creation, media uploads)."""
    request = urllib.request.Request(url, data=body, headers={"content-type": content_type}, method="POST")
    with urllib.request.urlopen(request, timeout=5):
        pass


def _wait_until_healthy(endpoint: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"fake-gcs-server exited with {proc.returncode}"
        try:
            with urllib.request.urlopen(f"{endpoint}/_internal/healthcheck", timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"fake-gcs-server did not answer on {endpoint}")
