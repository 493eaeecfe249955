"""What a restore refuses, and that a refusal changes nothing: a wrong passphrase, a file with
one byte changed, cut short or lengthened, a data folder that is not empty; and what it does
accept: a backup from an older catalog schema, brought forward."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from core.backup import BackupError, WrongPassphraseError
from core.backup.archive import write_backup_blocking
from core.backup.envelope import HEADER_SIZE
from core.backup.restore import restore_blocking
from core.catalog.migrations import available
from core.cli import main
from tests.core.backup.boxes import FAST, PASSPHRASE, SECRET, Box, make_box, schema_6


def backed_up(tmp_path: Path) -> tuple[Box, Path]:
    box = make_box(tmp_path / "old")
    file = tmp_path / "box.backup"
    write_backup_blocking(box.config, box.data, file, PASSPHRASE, FAST)
    return box, file


def a_new_box(tmp_path: Path) -> tuple[Path, Path]:
    """A fresh install: its own configuration, an empty data folder."""
    config, data = tmp_path / "new-config", tmp_path / "new-data"
    config.mkdir()
    (config / "configuration.yaml").write_text(f"hearth:\n  data_dir: {data}\n")
    data.mkdir()
    return config, data


def snapshot(*folders: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() if p.is_file() else b"<dir>"
        for folder in folders
        for p in sorted(folder.rglob("*"))
    }


def test_a_wrong_passphrase_is_a_clear_error_and_touches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _, file = backed_up(tmp_path)
    config, data = a_new_box(tmp_path)
    before = snapshot(config, data)
    monkeypatch.setattr("sys.stdin", io.StringIO("not the passphrase\n"))
    code = main(["backup", "restore", str(file), "-c", str(config), "--passphrase-stdin"])
    assert code == 1
    assert capsys.readouterr().err == (
        f"The passphrase does not open {file}: check it and try again.\n"
    )
    assert snapshot(config, data) == before and not any(data.iterdir())


def test_a_changed_byte_anywhere_is_refused_and_touches_nothing(tmp_path: Path) -> None:
    _, file = backed_up(tmp_path)
    config, data = a_new_box(tmp_path)
    before = snapshot(config, data)
    sealed = file.read_bytes()
    body = HEADER_SIZE
    for offset in (body + 2, body + 40, len(sealed) // 2, len(sealed) - 1):
        changed = bytearray(sealed)
        changed[offset] ^= 0x01
        file.write_bytes(bytes(changed))
        with pytest.raises(BackupError) as refused:
            restore_blocking(config, data, file, PASSPHRASE)
        assert not isinstance(refused.value, WrongPassphraseError)
        assert str(refused.value).startswith(f"{file} was changed or damaged after it was written")
        assert snapshot(config, data) == before
    for offset in (9, 30, body - 1):  # the header: its costs, salt, nonce prefix, check
        changed = bytearray(sealed)
        changed[offset] ^= 0x01
        file.write_bytes(bytes(changed))
        with pytest.raises(BackupError):
            restore_blocking(config, data, file, PASSPHRASE)
        assert snapshot(config, data) == before


def test_a_file_cut_short_or_lengthened_is_refused(tmp_path: Path) -> None:
    _, file = backed_up(tmp_path)
    config, data = a_new_box(tmp_path)
    sealed = file.read_bytes()
    for damaged, why in (
        (sealed[:-1], "it ends inside part 1"),
        (sealed + b"\0", "something was added after its last part"),
    ):
        file.write_bytes(damaged)
        with pytest.raises(BackupError, match=why):
            restore_blocking(config, data, file, PASSPHRASE)
    assert not any(data.iterdir())


def test_a_data_folder_in_use_is_refused_with_a_sentence(tmp_path: Path) -> None:
    _, file = backed_up(tmp_path)
    config, data = a_new_box(tmp_path)
    (data / "catalog.db").write_bytes(b"someone's catalog")
    with pytest.raises(BackupError) as refused:
        restore_blocking(config, data, file, PASSPHRASE)
    assert str(refused.value) == (
        f"The data folder {data} is not empty (catalog.db): a backup is only restored into an "
        "empty one, so nothing there is overwritten. Stop the server, move the folder aside, "
        "and run the restore again."
    )
    assert (data / "catalog.db").read_bytes() == b"someone's catalog"


def test_nothing_readable_is_in_the_file(tmp_path: Path) -> None:
    box, file = backed_up(tmp_path)
    sealed = file.read_bytes()
    for plain in ("bartholomew", box.token, SECRET, "relay_token", "hearth:", "SQLite format"):
        assert plain.encode() not in sealed, plain
    assert (box.data / "secret.key").read_bytes() not in sealed


def test_a_backup_from_an_older_catalog_is_brought_forward(tmp_path: Path) -> None:
    box = make_box(tmp_path / "old", schema_6())
    file = tmp_path / "old.backup"
    assert write_backup_blocking(box.config, box.data, file, PASSPHRASE, FAST).manifest.schema == 6
    config, data = a_new_box(tmp_path)
    (data / "lost+found").mkdir()  # a freshly formatted disk is still empty
    summary = restore_blocking(config, data, file, PASSPHRASE)
    assert (summary.schema_from, summary.schema_to) == (6, available()[-1].version)
    conn = sqlite3.connect(data / "catalog.db")
    try:
        assert conn.execute("SELECT username FROM users").fetchall() == [("bartholomew",)]
        assert conn.execute("SELECT count(*) FROM stars").fetchone() == (0,)  # made by 0007
    finally:
        conn.close()
    assert summary.kept_aside == ("configuration.yaml.before-restore",)
    assert (config / "secrets.yaml").read_text() == (box.config / "secrets.yaml").read_text()


def test_a_short_passphrase_writes_nothing(tmp_path: Path) -> None:
    box = make_box(tmp_path / "old")
    with pytest.raises(BackupError, match="at least 12 characters"):
        write_backup_blocking(box.config, box.data, tmp_path / "b.backup", "short", FAST)
    assert not (tmp_path / "b.backup").exists()
