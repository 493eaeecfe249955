"""The `hearth` command: run the server, check the configuration, print the version.

Each sub-command is a small function; later features add theirs to `COMMANDS`. Only the chosen
sub-command's arguments are built and only its modules imported (`hearth version` on a Pi should not
load the server), so this module imports nothing heavy at the top. Output for people
goes to stdout, logs to stderr. It never writes to the configuration folder (only
`hearth backup restore` does, through core.backup).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.logs import LEVELS, setup_logging

if TYPE_CHECKING:
    from core.configuration import Configuration

_LOGGER = logging.getLogger("hearth")
Command = Callable[[argparse.Namespace], int]
Configure = Callable[[argparse.ArgumentParser], None]


@dataclass(frozen=True)
class CommandSpec:
    """A sub-command: what runs, its one-line help, and its own arguments."""

    run: Command
    help: str
    configure: Configure | None = None


def config_dir(args: argparse.Namespace) -> Path:
    """`-c DIR`, else $HEARTH_CONFIG, else ./config."""
    chosen = args.config or os.environ.get("HEARTH_CONFIG") or "config"
    return Path(chosen).expanduser()


def load_or_report(args: argparse.Namespace) -> Configuration | None:
    """The configuration, or None after printing every problem to stderr."""
    from core.configuration import CONFIG_FILE, load_configuration
    from core.errors import ConfigError

    folder = config_dir(args)
    if not (folder / CONFIG_FILE).is_file():
        print(f"No {CONFIG_FILE} in {folder.resolve()}.", file=sys.stderr)
        print("Copy config/configuration.yaml from Hearth's source to start.", file=sys.stderr)
        return None
    try:
        return load_configuration(folder)
    except ConfigError as err:
        for problem in err.problems:
            print(problem, file=sys.stderr)
        return None


ROOT_REFUSAL = (
    "Hearth does not run as root: a server that answers the whole home network should not be "
    "able to change the whole box. Start it as an ordinary user (scripts/run does that for you, "
    "as the `hearth` user), or pass --allow-root if you really mean it."
)


def cmd_run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT."""
    # HEARTH_ALLOW_ROOT=1: the same consent where no argument can be added (a test rig)
    allowed = args.allow_root or os.environ.get("HEARTH_ALLOW_ROOT") == "1"
    if os.geteuid() == 0 and not allowed:
        print(ROOT_REFUSAL, file=sys.stderr)
        return 1
    if chosen_command(sys.argv[1:]) == "run":  # the process is `hearth run`, not a test's call
        from core.heap import use_system_allocator

        use_system_allocator()  # may start again, before the server's imports cost anything
    import asyncio

    from core.errors import CatalogError
    from core.hub import Hub  # the server's imports are not needed by check-config

    config = load_or_report(args)
    if config is None:
        return 1
    if args.log_level is None:
        logging.getLogger().setLevel(config.hearth.log_level.upper())
    from core.heap import limit_arenas

    limit_arenas()  # before any thread: each would get an arena of its own
    try:
        asyncio.run(Hub(config).run())
    except CatalogError as err:
        _LOGGER.error("%s", err)
        return 1
    except OSError as err:  # the port is taken, the data folder is not writable
        _LOGGER.error("Cannot start: %s", err)
        return 1
    return 0


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--allow-root", action="store_true", help="run even as root (not recommended)"
    )


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate without starting; exit 0 when valid (1 with --strict when there are warnings)."""
    from core.configuration import CONFIG_FILE
    from core.configuration.advice import advise

    config = load_or_report(args)
    if config is None:
        return 1
    warnings = advise(config)
    count = f"{len(warnings)} warning{'s' * (len(warnings) != 1)}"
    state = f"valid with {count}" if warnings else "valid"
    print(f"{config_dir(args) / CONFIG_FILE}: {state}; plugins in set-up order:")
    for domain in config.order:
        manifest = config.plugins[domain].spec.manifest
        print(f"  {domain} ({manifest.kind}, network: {manifest.network.scope})")
    for line in warnings:
        print(f"warning: {line}", file=sys.stderr)
    return 1 if warnings and args.strict else 0


def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--strict", action="store_true", help="exit 1 when there are warnings, not only problems"
    )


def cmd_version(args: argparse.Namespace) -> int:
    """Print the version."""
    from core import __version__

    print(f"hearth {__version__}")
    return 0


def cmd_hw(args: argparse.Namespace) -> int:
    """Detect (or read the cached) hardware report and print it."""
    import json

    from core.http.tls import describe_blocking
    from core.machine import detect_for_blocking
    from hardware.report import render_text, report_to_dict

    config = load_or_report(args)
    if config is None:
        return 1
    report = detect_for_blocking(config.hearth.data_dir, config.hearth.ffmpeg, args.refresh)
    tls = describe_blocking(config.hearth)
    if args.json:
        print(json.dumps({**report_to_dict(report), "tls": tls}, indent=2))
    else:
        print(render_text(report))
        print(f"HTTPS:    {_tls_line(tls)}")
    return 0


def _tls_line(tls: dict[str, object]) -> str:
    if not tls["enabled"]:
        return "off"
    if "error" in tls:
        return str(tls["error"])
    made = f"{tls['source']}, valid until {tls['not_after']}"
    return f"certificate SHA-256 {tls['fingerprint_sha256']} ({made})"


def _hw_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--refresh", action="store_true", help="forget the cache and run the test encodes again"
    )


def cmd_scan(args: argparse.Namespace) -> int:
    """`hearth scan` (core.scan.command); with no server running, a one-shot hub scans."""
    config = load_or_report(args)
    if config is None:
        return 1
    from core.scan.command import run_scan

    return run_scan(config, args, _scan_here)


async def _scan_here(config: Configuration, library: str | None) -> int:
    """Open the catalog and set the source and metadata plugins up (no HTTP, no discovery),
    scan, close everything."""
    from core.hub import Hub
    from core.scan.command import scan_here

    hub = Hub(config, live=False)
    await hub.start()
    try:
        return await scan_here(hub.catalog, hub.scans, hub.sources, library)
    finally:
        await hub.stop()


def cmd_user(args: argparse.Namespace) -> int:
    """Manage accounts."""
    from core.people.command import run_user

    config = load_or_report(args)
    if config is None:
        return 1
    if args.action == "export":  # people and privacy: core/people/export.py
        from core.people.export import run_export

        return run_export(config, args)
    return run_user(config, args)


def _user_arguments(parser: argparse.ArgumentParser) -> None:
    from core.people.command import add_arguments
    from core.people.export import add_export_action

    add_arguments(parser)
    add_export_action(parser)


def configured(module: str, function: str) -> Command:
    """A sub-command that loads the configuration, then runs `module.function(config, args)`;
    the module is imported only when the sub-command runs."""

    def run(args: argparse.Namespace) -> int:
        config = load_or_report(args)
        if config is None:
            return 1
        result: int = getattr(importlib.import_module(module), function)(config, args)
        return result

    return run


def arguments_of(module: str) -> Configure:
    """`module.add_arguments`, imported only when that sub-command's arguments are built."""

    def configure(parser: argparse.ArgumentParser) -> None:
        importlib.import_module(module).add_arguments(parser)

    return configure


COMMANDS: dict[str, CommandSpec] = {
    "run": CommandSpec(cmd_run, "start the server and serve until stopped", _run_arguments),
    "check-config": CommandSpec(
        cmd_check_config, "validate configuration.yaml without starting", _check_arguments
    ),
    "version": CommandSpec(cmd_version, "print the version"),
    "scan": CommandSpec(
        cmd_scan,
        "scan libraries now, with a progress bar and a summary",
        arguments_of("core.scan.command"),
    ),
    "user": CommandSpec(cmd_user, "add, list, change or remove accounts", _user_arguments),
    "privacy": CommandSpec(
        configured("core.privacy", "run_privacy"),
        "what may leave the box, what did, what is stored",
        arguments_of("core.privacy"),
    ),
    "relay": CommandSpec(
        configured("core.relay_command", "run_relay"),
        "remote access: the box's SSH key, the relay's state",
        arguments_of("core.relay_command"),
    ),
    "hw": CommandSpec(
        cmd_hw, "show the box: board, temperature, ffmpeg, verified encoders", _hw_arguments
    ),
    "backup": CommandSpec(
        configured("core.backup.command", "run_backup"),
        "write or restore an encrypted backup of people, settings and keys",
        arguments_of("core.backup.command"),
    ),
}


def chosen_command(argv: list[str]) -> str | None:
    """The sub-command named in `argv`: the first word not starting with '-' (the top level has
    no option taking a value), or None for `hearth --help`."""
    return next((word for word in argv if not word.startswith("-")), None)


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The parser; only `chosen`'s own arguments are built when it is given (each sub-command's
    arguments import its module, and `hearth version` should load none of them)."""
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth: a privacy-first home media server."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c", "--config", help="configuration folder (default: $HEARTH_CONFIG or ./config)"
    )
    common.add_argument("--log-level", choices=LEVELS, help="override hearth: log_level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, spec in COMMANDS.items():
        command = sub.add_parser(name, parents=[common], help=spec.help, description=spec.help)
        if spec.configure is not None and chosen in (None, name):
            spec.configure(command)
        command.set_defaults(func=spec.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else argv
    args = build_parser(chosen_command(words) or "").parse_args(words)
    setup_logging(args.log_level or "info")
    try:
        result: int = args.func(args)
    except BrokenPipeError:  # `hearth hw | head`: the reader left; that is not an error
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    return result


if __name__ == "__main__":
    sys.exit(main())
