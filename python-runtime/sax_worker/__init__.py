"""Python worker runtime for sax-ts.

The TypeScript model server starts one worker process per loaded model and talks to it over ZeroMQ
(``sax_worker.protocol``); the worker builds the model's servable from a static registry
(``sax_worker.servables.registry``) and answers its data calls. What servable authors need is
re-exported here.
"""

from sax_worker.errors import FatalError, WorkerError
from sax_worker.protocol import PROTOCOL_VERSION, Tensor
from sax_worker.servables.base import Payload, Servable

__all__ = ["PROTOCOL_VERSION", "FatalError", "Payload", "Servable", "Tensor", "WorkerError"]
