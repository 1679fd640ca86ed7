"""Session-wide test setup."""

import jax

# Model tests run on the CPU even where an accelerator is present: small shapes, exact reproducibility,
# no device memory pre-allocation. This must happen before any test touches a JAX backend.
jax.config.update("jax_platforms", "cpu")
