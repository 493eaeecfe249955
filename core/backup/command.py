"""`hearth backup create|restore FILE`: the owner's encrypted backup from the box's shell.

The passphrase comes from a prompt (typed twice when making a backup) or, for scripts, as one
line on stdin with `--passphrase-stdin`. `create` works while the server runs (the catalog is
copied with `VACUUM INTO`); `restore` needs the configuration's data folder empty. Messages are
sentences for a person; it never prints or logs the passphrase.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path

from core.backup import BackupError
from core.backup.archive import write_backup_blocking
from core.backup.restore import restore_blocking
from core.configuration import Configuration, load_configuration
from core.errors import ConfigError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = actions.add_parser(
        "create", help="write an encrypted backup of the people, the configuration and the keys"
    )
    restore = actions.add_parser(
        "restore", help="bring a backup back into the configuration's empty data folder"
    )
    for action in (create, restore):
        action.add_argument("file", metavar="FILE", type=Path, help="the backup file")
        action.add_argument(
            "--passphrase-stdin",
            action="store_true",
            help="read the passphrase as one line from stdin instead of a prompt",
        )
        action.add_argument(  # `-c` may come after the action too: `hearth backup create x -c D`
            "-c", "--config", default=argparse.SUPPRESS, help="configuration folder"
        )


def _passphrase(from_stdin: bool, confirm: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("Backup passphrase: ")
    if confirm and getpass.getpass("Again: ") != first:
        raise BackupError("The two passphrases differ; nothing was written.")
    return first


def _size(count: int) -> str:
    if count < 1000:
        return f"{count} bytes"
    value, unit = count / 1000, "KB"
    for bigger in ("MB", "GB"):
        if value < 1000:
            break
        value, unit = value / 1000, bigger
    return f"{value:.1f} {unit}"


def _people(count: int) -> str:
    return "1 person" if count == 1 else f"{count} people"


def run_backup(config: Configuration, args: argparse.Namespace) -> int:
    try:
        if args.action == "create":
            return _create(config, args)
        return _restore(config, args)
    except BackupError as err:
        print(err, file=sys.stderr)
        return 1
    except OSError as err:  # a data folder only the server's user may read: say which file
        print(f"Cannot read or write {err.filename or 'a file'}: {err.strerror}.", file=sys.stderr)
        print("Run it as the server's user, or with sudo on a packaged box.", file=sys.stderr)
        return 1


def _create(config: Configuration, args: argparse.Namespace) -> int:
    passphrase = _passphrase(args.passphrase_stdin, confirm=True)
    summary = write_backup_blocking(
        config.config_dir, config.hearth.data_dir, args.file.absolute(), passphrase
    )
    manifest = summary.manifest
    print(
        f"Wrote {summary.path} ({_size(summary.size)}): {_people(manifest.people)}, "
        f"{summary.files} file(s) of configuration and keys, catalog schema {manifest.schema}."
    )
    print("Keep the passphrase somewhere safe: without it this backup cannot be opened.")
    return 0


def _restore(config: Configuration, args: argparse.Namespace) -> int:
    passphrase = _passphrase(args.passphrase_stdin, confirm=False)
    data_dir = config.hearth.data_dir
    summary = restore_blocking(config.config_dir, data_dir, args.file.absolute(), passphrase)
    moved = (
        f" (catalog schema {summary.schema_from} brought up to {summary.schema_to})"
        if summary.schema_from != summary.schema_to
        else ""
    )
    print(
        f"Restored {_people(summary.people)} from the backup of {summary.manifest.created_at} "
        f"into {data_dir}{moved}."
    )
    if summary.written:
        print(f"Configuration files restored in {config.config_dir}: {', '.join(summary.written)}.")
    if summary.kept_aside:
        print(f"Your earlier versions are kept as: {', '.join(summary.kept_aside)}.")
    _warn_if_moved(config, data_dir)
    print("Start the server: it rescans the media folders and everyone carries on.")
    return 0


def _warn_if_moved(config: Configuration, data_dir: Path) -> None:
    """The restored configuration may name another data folder than the one restored into."""
    try:
        restored = load_configuration(config.config_dir).hearth.data_dir
    except ConfigError:
        print(
            "The restored configuration has problems; run `hearth check-config` to see them.",
            file=sys.stderr,
        )
        return
    if restored != data_dir:
        print(
            f"Note: the restored configuration keeps its data in {restored}, not {data_dir}: "
            f"move {data_dir} there, or change `data_dir` in configuration.yaml.",
            file=sys.stderr,
        )
