"""Logging set-up: one line per record on stderr, shaped for journald.

journald adds its own timestamp, so under systemd (JOURNAL_STREAM set) we leave it out and prefix
the syslog priority instead; in a terminal we print a timestamp. Secrets are never logged by
callers; this module does not try to find them after the fact.
"""

from __future__ import annotations

import logging
import os
import sys

LEVELS = ("debug", "info", "warning", "error", "critical")

_PRIORITY = {
    logging.DEBUG: 7,
    logging.INFO: 6,
    logging.WARNING: 4,
    logging.ERROR: 3,
    logging.CRITICAL: 2,
}


class OneLineFormatter(logging.Formatter):
    """Folds tracebacks into the same record so one event is one journal entry."""

    def __init__(self, journald: bool) -> None:
        fmt = "%(levelname)s %(name)s: %(message)s"
        if not journald:
            fmt = "%(asctime)s " + fmt
        super().__init__(fmt, datefmt="%Y-%m-%d %H:%M:%S")
        self._journald = journald

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record).replace("\n", " | ")
        if self._journald:
            return f"<{_PRIORITY.get(record.levelno, 6)}>{text}"
        return text


def setup_logging(level: str = "info") -> None:
    """Route every logger to stderr at `level`; noisy libraries are held at WARNING."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter(journald="JOURNAL_STREAM" in os.environ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("asyncio", "zeroconf", "PIL", "guessit", "rebulk", "libav"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
