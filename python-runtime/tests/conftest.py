"""Session-wide test setup and shared fixtures."""

import jax
import pytest

from fake_gcs import BINARY, fake_gcs_server

# Model tests run on the CPU even where an accelerator is present: small shapes, exact reproducibility,
# no device memory pre-allocation. This must happen before any test touches a JAX backend.
jax.config.update("jax_platforms", "cpu")


@pytest.fixture
def fake_gcs(monkeypatch):
    """A fake-gcs-server with bucket ``sax-test``, and tensorstore's GCS driver pointed at it."""
    if not BINARY.exists():
        pytest.skip(f"{BINARY} is absent; run scripts/install-fake-gcs-server (needs Go) to enable")
    with fake_gcs_server() as endpoint:
        monkeypatch.setenv("TENSORSTORE_GCS_HTTP_URL", endpoint)
        yield endpoint
