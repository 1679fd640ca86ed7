"""Entry point: ``python -m sax_worker.convert --base … --pax … --model-size …`` (see ``cli``)."""

import sys

from sax_worker.convert.cli import main

if __name__ == "__main__":
    sys.exit(main())
