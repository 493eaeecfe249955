"""The `hearth` command: run the server, check the configuration, print the version.

Each sub-command is a small function; later features add theirs to `COMMANDS`. Output for people
goes to stdout, logs to stderr. It never writes to the configuration folder.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path

from core import __version__
from core.configuration import CONFIG_FILE, Configuration, load_configuration
from core.errors import CatalogError, ConfigError
from core.logs import LEVELS, setup_logging

_LOGGER = logging.getLogger("hearth")
Command = Callable[[argparse.Namespace], int]


def config_dir(args: argparse.Namespace) -> Path:
    """`-c DIR`, else $HEARTH_CONFIG, else ./config."""
    chosen = args.config or os.environ.get("HEARTH_CONFIG") or "config"
    return Path(chosen).expanduser()


def load_or_report(args: argparse.Namespace) -> Configuration | None:
    """The configuration, or None after printing every problem to stderr."""
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


def cmd_run(args: argparse.Namespace) -> int:
    """Serve until SIGTERM/SIGINT."""
    from core.hub import Hub  # the server's imports are not needed by check-config

    config = load_or_report(args)
    if config is None:
        return 1
    if args.log_level is None:
        logging.getLogger().setLevel(config.hearth.log_level.upper())
    try:
        asyncio.run(Hub(config).run())
    except CatalogError as err:
        _LOGGER.error("%s", err)
        return 1
    except OSError as err:  # the port is taken, the data folder is not writable
        _LOGGER.error("Cannot start: %s", err)
        return 1
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Validate without starting; exit 0 when valid."""
    config = load_or_report(args)
    if config is None:
        return 1
    print(f"{config_dir(args) / CONFIG_FILE}: valid; plugins in set-up order:")
    for domain in config.order:
        manifest = config.plugins[domain].spec.manifest
        print(f"  {domain} ({manifest.kind}, network: {manifest.network.scope})")
    return 0


def cmd_version(args: argparse.Namespace) -> int:
    """Print the version."""
    print(f"hearth {__version__}")
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "run": (cmd_run, "start the server and serve until stopped"),
    "check-config": (cmd_check_config, "validate configuration.yaml without starting"),
    "version": (cmd_version, "print the version"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hearth", description="Hearth: a privacy-first home media server."
    )
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "-c", "--config", help="configuration folder (default: $HEARTH_CONFIG or ./config)"
    )
    common.add_argument("--log-level", choices=LEVELS, help="override hearth: log_level")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (func, text) in COMMANDS.items():
        command = sub.add_parser(name, parents=[common], help=text, description=text)
        command.set_defaults(func=func)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    setup_logging(args.log_level or "info")
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
