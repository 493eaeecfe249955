"""`hearth user add|list|passwd|remove|2fa`: managing accounts from the box's own shell.

Works on the catalog directly, with or without the server running (SQLite's WAL lets both
write safely); passwords come from a prompt or, for scripts, `--password-stdin`. Whoever can
run this can read the data folder, so it needs no sign-in. It never prints a stored secret.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pyotp

from core.catalog import Catalog
from core.configuration import Configuration
from core.people import accounts
from core.people.access import ROLES
from core.people.two_factor import matching_step, purpose
from core.secret_box import SecretBox

T = TypeVar("T")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = sub.add_parser("add", help="create an account")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, default="member")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--libraries", help="comma-separated library names (default: all)")
    add.add_argument("--max-rating", help="for managed profiles, e.g. PG or TV-PG")
    sub.add_parser("list", help="list accounts")
    passwd = sub.add_parser(
        "passwd", help="set a new password (ends their sessions and device keys)"
    )
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = sub.add_parser("remove", help="delete an account and everything about it")
    remove.add_argument("name")
    twofa = sub.add_parser("2fa", help="show, set up or turn off two-factor sign-in")
    twofa.add_argument("name")
    for action in (add, passwd, remove, twofa, sub.choices["list"]):
        action.add_argument(  # `-c` may come after the action too: `hearth user add x -c DIR`
            "-c", "--config", default=argparse.SUPPRESS, help="configuration folder"
        )
    group = twofa.add_mutually_exclusive_group()
    group.add_argument("--setup", action="store_true", help="new secret; confirm with a code")
    group.add_argument("--disable", action="store_true", help="turn two-factor off")


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Password: ")
    if getpass.getpass("Again: ") != first:
        raise accounts.AccountError("the two passwords differ")
    return first


async def _with_catalog(config: Configuration, work: Callable[[Catalog], Any]) -> Any:
    catalog = await Catalog.open(config.hearth.data_dir)
    try:
        return await work(catalog)
    finally:
        await catalog.close()


def _user_id(db: Any, name: str) -> int:
    row = db.execute("SELECT id FROM users WHERE username = ?", [name]).fetchone()
    if row is None:
        raise accounts.AccountError(f"no user called {name!r}")
    return int(row[0])


def run_user(config: Configuration, args: argparse.Namespace) -> int:
    """The command's body; every problem is one line on stderr and exit status 1."""
    try:
        code: int = asyncio.run(_with_catalog(config, lambda c: _ACTIONS[args.action](c, args)))
        return code
    except accounts.AccountError as err:
        print(f"hearth user {args.action}: {err}", file=sys.stderr)
        return 1


async def _add(catalog: Catalog, args: argparse.Namespace) -> int:
    password = (
        None
        if args.role == "managed" and not args.password_stdin
        else _password(args.password_stdin)
    )
    names = [n.strip() for n in args.libraries.split(",")] if args.libraries else None

    def create(db: Any) -> int:
        libraries = None
        if names is not None:
            found = {r[1]: r[0] for r in db.execute("SELECT id, name FROM libraries")}
            missing = [n for n in names if n not in found]
            if missing:
                raise accounts.AccountError(f"no library called {', '.join(missing)}")
            libraries = [found[n] for n in names]
        return accounts.create_user_blocking(
            db, args.name, args.role, password, libraries, args.max_rating
        )

    user_id = await catalog.write(create)
    print(f"created {args.role} {args.name} (id {user_id})")
    return 0


async def _list(catalog: Catalog, args: argparse.Namespace) -> int:
    rows = await catalog.read(
        lambda db: db.execute(
            "SELECT username, role, totp_enabled, max_rating, (SELECT count(*) FROM sessions "
            "WHERE sessions.user_id = users.id) FROM users ORDER BY username"
        ).fetchall()
    )
    for name, role, totp, rating, sessions in rows:
        extra = (
            [f"{sessions} session(s)"]
            + (["2FA"] if totp else [])
            + ([f"max {rating}"] if rating else [])
        )
        print(f"{name:<24} {role:<8} {', '.join(extra)}")
    return 0


async def _passwd(catalog: Catalog, args: argparse.Namespace) -> int:
    hashed = accounts.new_password_hash(_password(args.password_stdin))
    ended = await catalog.write(
        lambda db: accounts.set_password_blocking(db, _user_id(db, args.name), hashed)
    )
    # a running server sees the catalog's credential epoch move and refuses the old tokens
    # on their very next request
    print(f"password of {args.name} changed; {ended} session(s) and device key(s) ended")
    return 0


async def _remove(catalog: Catalog, args: argparse.Namespace) -> int:
    await catalog.write(lambda db: accounts.delete_user_blocking(db, _user_id(db, args.name)))
    print(f"removed {args.name} and everything stored about them")
    return 0


async def _twofa(catalog: Catalog, args: argparse.Namespace) -> int:
    if args.disable:
        await catalog.write(
            lambda db: db.execute(
                "UPDATE users SET totp_enabled = 0, totp_secret = NULL WHERE id = ?",
                [_user_id(db, args.name)],
            )
        )
        print(f"two-factor sign-in is off for {args.name}")
        return 0
    if not args.setup:
        row = await catalog.read(
            lambda db: db.execute(
                "SELECT totp_enabled FROM users WHERE id = ?", [_user_id(db, args.name)]
            ).fetchone()
        )
        print(f"two-factor sign-in is {'on' if row[0] else 'off'} for {args.name}")
        return 0
    box = SecretBox(catalog.path.parent)
    secret = pyotp.random_base32()
    uri = pyotp.TOTP(secret).provisioning_uri(name=args.name, issuer_name="Hearth")
    print(f"Secret: {secret}\nURI:    {uri}")
    print("Enter the 6-digit code your app shows: ", end="", flush=True)
    code = sys.stdin.readline().strip()
    step = matching_step(secret, code, time.time(), None)
    if step is None:
        raise accounts.AccountError("that code is not right; two-factor stays as it was")

    def enable(db: Any) -> list[str]:
        user_id = _user_id(db, args.name)
        sealed = box.seal_blocking(secret, purpose(user_id))  # a copied catalog yields nothing
        codes = accounts.enable_totp_blocking(db, user_id, sealed)
        db.execute("UPDATE users SET totp_last_step = ? WHERE id = ?", [step, user_id])
        return codes

    codes: list[str] = await catalog.write(enable)
    print("Two-factor is on. One-time recovery codes (keep them on paper):")
    print("\n".join(f"  {item}" for item in codes))
    return 0


_ACTIONS: dict[str, Callable[[Catalog, argparse.Namespace], Any]] = {
    "add": _add,
    "list": _list,
    "passwd": _passwd,
    "remove": _remove,
    "2fa": _twofa,
}
