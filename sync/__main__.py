"""Entry point for `python -m sync`."""

import sys

from sync.cli import main

sys.exit(main())
