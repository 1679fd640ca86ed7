"""Entry point: ``python -m sax_worker --endpoint ipc:///… --worker-id w1``.

Started by the model server (src/worker/worker-process.ts), one process per loaded model. Logs go to
stderr, which the model server copies into its own log and quotes when the worker dies.
"""

from __future__ import annotations

import argparse
import logging
import sys

from sax_worker.proc import WorkerProc


def main(argv: list[str] | None = None) -> int:
    """Parses the flags, sets up logging, serves; returns the exit status."""
    parser = argparse.ArgumentParser(prog="python -m sax_worker", description=__doc__)
    parser.add_argument("--endpoint", required=True, help="ZeroMQ endpoint the model server bound")
    parser.add_argument("--worker-id", required=True, help="the id the model server gave this worker")
    parser.add_argument(
        "--supervisor-pid",
        type=int,
        default=None,
        help="exit when this process is no longer our parent (default: the parent at start-up)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=args.log_level,
        format=f"%(levelname).1s %(asctime)s sax_worker[{args.worker_id}] %(message)s",
    )
    return WorkerProc(args.endpoint, args.worker_id, args.supervisor_pid).run()


if __name__ == "__main__":
    sys.exit(main())
