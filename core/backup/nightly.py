"""The server's nightly backup: `hearth: backup: {path, keep, passphrase, at}`.

Once a night (03:30 local time unless `at:` says otherwise) it compares the digest of the
people data, configuration and keys with the one of the last backup it wrote (kept in
`data/backup-state.json`) and writes `hearth-YYYYMMDD-HHMMSS.backup` into `path` only when
they differ or that file is gone, then removes the oldest of its own files beyond `keep`
(never anything else in the folder). Writes are atomic (temporary name, sync, link). A failure
is logged and shown in /api/health (for admins) until the next backup succeeds; it never stops
the server. An unchanged night writes nothing at all (SD cards wear out). A folder under a
place where drives are mounted (/media, /mnt, /run/media) is used only while its drive is
mounted there: with the drive unplugged the empty mount folder is still there, and a backup
written into it would land on the SD card (and fill it) instead of on the drive.

A box that is off or asleep at that hour still gets its backup: when the last one written here
is more than a day old (or there is none), one runs ten minutes after start (after start's busy
minutes); a failed run (drive unplugged, folder gone) is tried again every hour until the next
night, so plugging the drive back in is enough.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from core.backup.archive import current_digest_blocking, write_backup_blocking
from core.backup.envelope import DEFAULT_KDF, KdfParams
from core.catalog import Catalog
from core.configuration.core_schema import BackupConfig
from core.http.tls import write_atomically_blocking

_LOGGER = logging.getLogger("hearth.backup")
STATE_FILE = "backup-state.json"
_OURS = re.compile(r"^hearth-(\d{8}-\d{6})(?:-(\d+))?\.backup$")
# Where drives get mounted; a backup folder below one must be on a mounted drive.
MOUNT_AREAS: tuple[Path, ...] = (Path("/media"), Path("/mnt"), Path("/run/media"))
_LEFTOVER = re.compile(r"^\.hearth-\d{8}-\d{6}(?:-\d+)?\.backup\.\d+\.tmp$")
CATCH_UP_AFTER = 600.0  # seconds after start, when the last backup is overdue
RETRY_AFTER = 3600.0  # seconds after a failed run
OVERDUE = timedelta(hours=25)


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one run did: "written", "unchanged" or "failed", and the file or the error."""

    result: str
    detail: str = ""


def seconds_until(at: tuple[int, int], now: datetime) -> float:
    """Seconds from `now` (aware, local) to the next `at` (hour, minute) local time."""
    due = now.replace(hour=at[0], minute=at[1], second=0, microsecond=0)
    if due <= now:
        due += timedelta(days=1)
    return (due - now).total_seconds()


class NightlyBackup:
    """The hub's backup task and what /api/health says about it."""

    def __init__(
        self,
        config_dir: Path,
        data_dir: Path,
        catalog: Catalog,
        settings: BackupConfig,
        params: KdfParams = DEFAULT_KDF,
    ) -> None:
        self._config_dir = config_dir
        self._data_dir = data_dir
        self._catalog = catalog
        self._settings = settings
        self._params = params
        self.error: str | None = None
        self.last_file: str | None = None
        self.last_run: str | None = None
        self.next_at: str | None = None  # the next nightly run
        self.catch_up_at: str | None = None  # a sooner run: overdue at start, or a retry

    @property
    def failed(self) -> bool:
        return self.error is not None

    def health(self) -> dict[str, Any]:
        return {
            "path": str(self._settings.path),
            "keep": self._settings.keep,
            "last_run": self.last_run,
            "last_file": self.last_file,
            "next_at": self.next_at,
            "catch_up_at": self.catch_up_at,
            "error": self.error,
        }

    async def run(self) -> None:
        """Until cancelled: sleep to the next `at` (or sooner to catch up or retry), then back
        up if anything changed."""
        sooner = CATCH_UP_AFTER if await asyncio.to_thread(self._overdue_blocking) else None
        while True:
            now = datetime.now().astimezone()
            delay = seconds_until(self._settings.at, now)
            self.next_at = (now + timedelta(seconds=delay)).isoformat(timespec="minutes")
            self.catch_up_at = None
            if sooner is not None and sooner < delay:
                delay = sooner
                self.catch_up_at = (now + timedelta(seconds=delay)).isoformat(timespec="minutes")
            await asyncio.sleep(delay)
            try:
                outcome = await self.run_once()
            except Exception:  # a bug here must cost a night's backup, never the server
                _LOGGER.exception("The nightly backup failed")
                outcome = Outcome("failed")
            sooner = RETRY_AFTER if outcome.result == "failed" else None

    def _overdue_blocking(self) -> bool:
        """Whether the last backup written here is over a day old, or there is none."""
        written = self._state_blocking().get("at")
        try:
            at = datetime.strptime(str(written), "%Y-%m-%dT%H:%M:%S%z")
        except ValueError:
            return True
        return datetime.now().astimezone() - at > OVERDUE

    async def run_once(self) -> Outcome:
        """Back up now if anything changed since the last backup written here."""
        self.last_run = datetime.now().astimezone().isoformat(timespec="seconds")
        try:
            digest = await self._catalog.read(
                lambda db: current_digest_blocking(self._config_dir, self._data_dir, db.conn)
            )
            state = await asyncio.to_thread(self._state_blocking)
            last = state.get("file")
            if state.get("digest") == digest and last and (self._settings.path / last).is_file():
                self.error = None
                return Outcome("unchanged", str(last))
            written = await asyncio.to_thread(self._write_blocking)
        except Exception as err:  # shown in health, logged, tried again the next night
            self.error = str(err)
            _LOGGER.error("The nightly backup into %s failed: %s", self._settings.path, err)
            return Outcome("failed", self.error)
        self.error, self.last_file = None, written
        _LOGGER.info("Wrote the nightly backup %s", self._settings.path / written)
        return Outcome("written", written)

    def _state_blocking(self) -> dict[str, Any]:
        try:
            loaded = json.loads((self._data_dir / STATE_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def _write_blocking(self) -> str:
        folder = self._settings.path
        unmounted = unmounted_drive_blocking(folder)
        if unmounted is not None:
            raise OSError(
                f"{folder} is on the drive meant for {unmounted}, which is not mounted; "
                "plug it in (nothing was written to the SD card)"
            )
        stamp = time.strftime("%Y%m%d-%H%M%S")
        name, number = f"hearth-{stamp}.backup", 1
        while (folder / name).exists():  # two backups within a second (a test, a clock jump)
            number += 1
            name = f"hearth-{stamp}-{number}.backup"
        summary = write_backup_blocking(
            self._config_dir,
            self._data_dir,
            folder / name,
            self._settings.passphrase,
            self._params,
        )
        state = {"digest": summary.manifest.digest, "file": name, "at": summary.manifest.created_at}
        write_atomically_blocking(self._data_dir / STATE_FILE, json.dumps(state).encode(), 0o600)
        self._prune_blocking()
        return name

    def _prune_blocking(self) -> None:
        """Keep the newest `keep` of our own files; a leftover temporary file goes too."""
        ours: list[tuple[str, int, Path]] = []
        for entry in self._settings.path.iterdir():
            match = _OURS.match(entry.name)
            if match and entry.is_file():
                ours.append((match[1], int(match[2] or 1), entry))
            elif _LEFTOVER.match(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)
        ours.sort()
        for _, _, old in ours[: max(0, len(ours) - self._settings.keep)]:
            old.unlink(missing_ok=True)
            _LOGGER.info("Removed the old backup %s (keeping %d)", old, self._settings.keep)


def unmounted_drive_blocking(folder: Path) -> Path | None:
    """The mount folder `folder` expects a drive at (under /media, /mnt or /run/media) when no
    drive is mounted anywhere between that area and `folder`; None when it is mounted, or when
    `folder` is not in such an area."""
    resolved = folder.resolve()
    for area in MOUNT_AREAS:
        if not resolved.is_relative_to(area) or resolved == area:
            continue
        below = resolved.relative_to(area).parts
        candidates = [area.joinpath(*below[: n + 1]) for n in range(len(below))]
        if any(candidate.is_mount() for candidate in candidates):
            return None
        return candidates[0]
    return None
