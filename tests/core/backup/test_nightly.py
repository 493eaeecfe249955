"""The server's nightly backup, driven by calling the job (not by waiting for 03:30): a file
only when the people, the configuration or the keys changed, the newest `keep` kept, nothing
else in the folder touched, and a failure shown in /api/health instead of stopping anything."""

from __future__ import annotations

import asyncio
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.backup import nightly
from core.backup.archive import read_backup_blocking
from core.backup.nightly import STATE_FILE, NightlyBackup, Outcome, seconds_until
from core.catalog import Catalog
from core.configuration import load_configuration
from core.configuration.core_schema import BackupConfig
from core.errors import ConfigError
from tests.conftest import StartServer, write_config
from tests.core.backup.boxes import FAST, PASSPHRASE, add_person, make_box


def ours(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("hearth-"))


async def test_nightly_writes_only_when_something_changed_and_keeps_the_newest(
    tmp_path: Path,
) -> None:
    box = await asyncio.to_thread(make_box, tmp_path)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("the owner's own file")
    ended = subprocess.Popen(["true"])
    ended.wait()  # its pid is free now: a backup by it died half-way
    abandoned = box.data / f".backup-{ended.pid}-catalog.db"
    abandoned.write_bytes(b"half a copy")
    catalog = await Catalog.open(box.data)
    job = NightlyBackup(box.config, box.data, catalog, BackupConfig(folder, PASSPHRASE, 2), FAST)
    try:
        first = await job.run_once()
        assert first.result == "written" and ours(folder) == [first.detail]
        assert not abandoned.exists()
        state = (box.data / STATE_FILE).stat().st_mtime_ns

        again = await job.run_once()
        assert (again.result, again.detail) == ("unchanged", first.detail)
        assert ours(folder) == [first.detail]
        assert (box.data / STATE_FILE).stat().st_mtime_ns == state  # an idle night writes nothing

        await catalog.close()
        await add_person(box.data, "cornelia")  # the CLI, another process's write
        catalog = await Catalog.open(box.data)
        job = NightlyBackup(
            box.config, box.data, catalog, BackupConfig(folder, PASSPHRASE, 2), FAST
        )
        person = await job.run_once()
        assert person.result == "written"

        config = box.config / "configuration.yaml"
        config.write_text(config.read_text() + "  name: Den\n")
        changed = await job.run_once()
        assert changed.result == "written"
        assert ours(folder) == sorted([person.detail, changed.detail])  # keep: 2
        assert (folder / "notes.txt").read_text() == "the owner's own file"
        latest = await asyncio.to_thread(
            read_backup_blocking, folder / changed.detail, PASSPHRASE, None
        )
        assert latest.people == 2

        (folder / changed.detail).unlink()  # the newest copy lost: written again
        assert (await job.run_once()).result == "written"
        assert job.health()["error"] is None
    finally:
        await catalog.close()


@pytest.mark.allow_errors
async def test_a_failed_backup_shows_in_health_and_the_server_keeps_serving(
    start_server: StartServer, tmp_path: Path
) -> None:
    folder = tmp_path / "not-yet"
    server = await start_server(
        "# dedent must keep this under hearth:\n"
        f"  backup: {{path: {folder}, keep: 3, passphrase: '{PASSPHRASE}', at: '04:15'}}\n"
    )
    job = server.hub.backups
    assert job is not None
    failed = await job.run_once()
    assert failed.result == "failed"
    health = await server.get_json("/api/health")
    assert health["status"] == "degraded"
    shown = health["backup"]
    assert isinstance(shown, dict)
    assert shown["error"] == f"The folder {folder} does not exist."
    assert str(shown["next_at"]).split("T")[1].startswith("04:15")

    folder.mkdir()
    assert (await job.run_once()).result == "written"
    health = await server.get_json("/api/health")
    assert health["status"] == "ok" and health["backup"]["error"] is None  # type: ignore[index]


def test_the_next_run_is_at_the_configured_local_time() -> None:
    zone = ZoneInfo("Europe/Berlin")
    assert seconds_until((3, 30), datetime(2026, 12, 3, 2, 0, tzinfo=zone)) == 5400
    assert seconds_until((3, 30), datetime(2026, 12, 3, 3, 30, tzinfo=zone)) == 86400
    assert seconds_until((3, 30), datetime(2026, 12, 3, 4, 0, tzinfo=zone)) == 84600


def test_the_backup_settings_are_checked(tmp_path: Path) -> None:
    def load(backup: str) -> BackupConfig | None:
        folder = write_config(tmp_path / "c", f"hearth:\n  data_dir: {tmp_path}\n{backup}")
        return load_configuration(folder).hearth.backup

    assert load("") is None
    made = load(f"  backup: {{path: /srv/backups, passphrase: {PASSPHRASE}, at: 3:05}}\n")
    assert made == BackupConfig(Path("/srv/backups"), PASSPHRASE, 7, (3, 5))
    with pytest.raises(ConfigError) as refused:
        load("  backup: {path: backups, passphrase: short, keep: 0, at: '25:00'}\n")
    assert {p.split(": ", 1)[1] for p in refused.value.problems} == {
        "hearth -> backup -> at: expected a time of day such as 03:30, got '25:00'",
        "hearth -> backup -> keep: expected an integer from 1 to 365, got 0",
        "hearth -> backup -> passphrase: expected a passphrase of at least 12 characters, "
        "got 'short'",
        "hearth -> backup -> path: expected an absolute path, got 'backups'",
    }


@pytest.mark.allow_errors
async def test_a_backup_folder_on_an_unplugged_drive_is_refused_not_filled_on_the_sd_card(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = await asyncio.to_thread(make_box, tmp_path)
    media = tmp_path / "media"  # stands for /media: the drive's mount folder is left empty
    folder = media / "usb-backup" / "hearth"
    folder.mkdir(parents=True)
    monkeypatch.setattr(nightly, "MOUNT_AREAS", (media,))
    catalog = await Catalog.open(box.data)
    job = NightlyBackup(box.config, box.data, catalog, BackupConfig(folder, PASSPHRASE, 2), FAST)
    try:
        outcome = await job.run_once()
        assert outcome == Outcome(
            "failed",
            f"{folder} is on the drive meant for {media / 'usb-backup'}, which is not mounted; "
            "plug it in (nothing was written to the SD card)",
        )
        assert ours(folder) == [] and job.failed
        # a folder that is itself a mount point (here /proc stands for a mounted drive) is fine
        monkeypatch.setattr(nightly, "MOUNT_AREAS", (Path("/"),))
        assert nightly.unmounted_drive_blocking(Path("/proc/self")) is None
        monkeypatch.setattr(nightly, "MOUNT_AREAS", (media,))
        assert nightly.unmounted_drive_blocking(tmp_path / "elsewhere") is None
    finally:
        await catalog.close()


@pytest.mark.allow_errors
async def test_a_box_off_at_night_catches_up_and_a_failed_run_is_tried_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off at 03:30 every night (or never backed up): a backup runs soon after start; with the
    drive's folder missing it fails, and is tried again without waiting for the next night."""
    box = await asyncio.to_thread(make_box, tmp_path)
    folder = tmp_path / "drive"
    monkeypatch.setattr(nightly, "CATCH_UP_AFTER", 0.01)
    monkeypatch.setattr(nightly, "RETRY_AFTER", 0.01)
    catalog = await Catalog.open(box.data)
    now = datetime.now()
    never = ((now.hour + 12) % 24, now.minute)  # the nightly hour is half a day away
    job = NightlyBackup(
        box.config, box.data, catalog, BackupConfig(folder, PASSPHRASE, 2, never), FAST
    )
    task = asyncio.create_task(job.run())
    try:
        for _ in range(500):
            if job.error is not None:
                break
            await asyncio.sleep(0.01)
        assert job.error == f"The folder {folder} does not exist."  # the catch-up ran, failed
        folder.mkdir()  # the drive is plugged back in
        for _ in range(500):
            if job.error is None:
                break
            await asyncio.sleep(0.01)
        assert len(ours(folder)) == 1 and job.error is None
        assert not await asyncio.to_thread(job._overdue_blocking)  # written: not overdue
        assert job.health()["catch_up_at"] is None  # back to the nightly hour
    finally:
        task.cancel()
        await catalog.close()
