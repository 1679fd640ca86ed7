"""Vision servables (config kind ``vision``): the ``vm.*`` methods of spec data-plane §7.

``config`` parses the model server's vision config, ``images`` decodes and pre-processes image bytes,
``servable`` is the shell every vision model runs in (method checks, dynamic batching, per-request
errors), and one module per model family brings the framework code.
"""
