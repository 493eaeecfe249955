"""`python -m core` runs the `hearth` command (for checkouts where the script is not on PATH)."""

import sys

from core.cli import main

sys.exit(main())
