"""`python -m core` runs the `hearth` command (for checkouts where the script is not on PATH)."""

import sys

from core.cli import main

if __name__ == "__main__":  # scan workers import this module again; they must not run main()
    sys.exit(main())
