"""Servables over third-party serving libraries (detectron2, vLLM) that this worker's venv does not
install: each checks its request data and its platform first, then imports its library, and reports a
missing one as FAILED_PRECONDITION naming how to install it, rather than as a crash.
"""
