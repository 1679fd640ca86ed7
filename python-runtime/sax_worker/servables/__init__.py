"""Servables: loaded models that answer data methods (lm.generate, lm.score, ...).

A worker process holds one servable. It is built from a validated servable config sent by the model
server; the config selects an implementation from a static table (never by importing a name).
"""
