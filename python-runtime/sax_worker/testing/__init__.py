"""Deterministic fakes for tests: servables that answer instantly and fail on request."""
