"""Accounts in the catalog: create, find, change, list, delete; grants; sessions and keys.

Blocking functions for the catalog's threads (`Catalog.read`/`write`). Secrets go in hashed
and never come out. Deleting a user relies on ON DELETE CASCADE: every table about a person
references users(id), and a test checks each one.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from core.catalog.database import Database
from core.people.access import ROLES, Principal, principal_from_row
from core.people.credentials import hash_password, new_token, token_hash

USER_COLUMNS = "id, username, role, max_rating, unrated, excluded_genres, all_libraries"
SESSION_DAYS = 90


class AccountError(Exception):
    """A request about accounts that cannot be done; the message is for the person."""


def now_text(offset: float = 0.0) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + offset))


@dataclass(frozen=True, slots=True)
class NewSession:
    """A freshly made token: shown once to the client, stored only as its hash."""

    id: int
    token: str


def validate_username(name: str) -> str:
    name = name.strip()
    if not 1 <= len(name) <= 64 or any(c in name for c in "/\\\n\r\t"):
        raise AccountError("a user name is 1 to 64 characters, without slashes or line breaks")
    return name


def validate_password(password: str) -> str:
    if len(password) < 8:
        raise AccountError("a password needs at least 8 characters")
    if len(password) > 1024:
        raise AccountError("that password is too long")
    return password


def create_user_blocking(
    db: Database,
    username: str,
    role: str,
    password: str | None,
    libraries: list[int] | None = None,
    max_rating: str | None = None,
) -> int:
    """A new account; managed profiles may have no password (they use a PIN or a parent).
    `libraries=None` grants every library, present and future; a list grants only those."""
    if role not in ROLES:
        raise AccountError(f"role must be one of {', '.join(ROLES)}")
    username = validate_username(username)
    if db.execute("SELECT 1 FROM users WHERE username = ?", [username]).fetchone():
        raise AccountError(f"there is already a user called {username!r}")
    if role != "managed" and password is None:
        raise AccountError("this role needs a password")
    check_libraries_blocking(db, libraries)
    hashed = hash_password(validate_password(password)) if password is not None else None
    cursor = db.execute(
        "INSERT INTO users (username, role, password_hash, max_rating, all_libraries, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            username,
            role,
            hashed,
            max_rating,
            int(libraries is None),
            now_text(),
        ],
    )
    user_id = int(cursor.lastrowid or 0)
    for library_id in libraries or []:
        db.execute(
            "INSERT OR IGNORE INTO grants (user_id, library_id) VALUES (?, ?)",
            [user_id, library_id],
        )
    return user_id


def check_libraries_blocking(db: Database, libraries: list[int] | None) -> None:
    """Grants name libraries that exist (a foreign key would fail later, as a 500)."""
    known = {r[0] for r in db.execute("SELECT id FROM libraries")}
    unknown = sorted(set(libraries or []) - known)
    if unknown:
        raise AccountError("no library with id " + ", ".join(map(str, unknown)))


def user_row_blocking(
    db: Database, *, user_id: int | None = None, username: str | None = None
) -> Any:
    if user_id is not None:
        return db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", [user_id]).fetchone()
    return db.execute(f"SELECT {USER_COLUMNS} FROM users WHERE username = ?", [username]).fetchone()


def grants_blocking(db: Database, user_id: int) -> list[int]:
    return [r[0] for r in db.execute("SELECT library_id FROM grants WHERE user_id = ?", [user_id])]


def principal_blocking(
    db: Database,
    user_id: int,
    session_id: int | None = None,
    scope: str = "full",
    via_cookie: bool = False,
) -> Principal | None:
    row = user_row_blocking(db, user_id=user_id)
    if row is None:
        return None
    return principal_from_row(row, session_id, scope, via_cookie, grants_blocking(db, user_id))


def public_user(db: Database, user_id: int) -> dict[str, Any]:
    """What the API shows about an account (never hashes or secrets)."""
    row = db.execute(
        "SELECT id, username, role, max_rating, unrated, excluded_genres, all_libraries, "
        "totp_enabled, pin_hash IS NOT NULL, history_paused, created_at FROM users WHERE id = ?",
        [user_id],
    ).fetchone()
    if row is None:
        raise AccountError("no such user")
    return {
        "id": row[0],
        "username": row[1],
        "role": row[2],
        "max_rating": row[3],
        "unrated": row[4],
        "excluded_genres": json.loads(row[5]),
        "all_libraries": bool(row[6]),
        "totp_enabled": bool(row[7]),
        "has_pin": bool(row[8]),
        "history_paused": bool(row[9]),
        "created_at": row[10],
        "libraries": grants_blocking(db, row[0]),
    }


def create_session_blocking(
    db: Database,
    user_id: int,
    kind: str,
    name: str,
    client: str | None,
    address: str | None,
    scope: str = "full",
    days: float | None = SESSION_DAYS,
) -> NewSession:
    """A sign-in session (`hs_`) or a device API key (`hk_`)."""
    token = new_token("hs_" if kind == "session" else "hk_")
    expires = now_text(days * 86400) if days else None
    cursor = db.execute(
        "INSERT INTO sessions (user_id, token_hash, kind, name, scope, client, address, "
        "created_at, last_seen_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            user_id,
            token_hash(token),
            kind,
            name[:120],
            scope,
            (client or "")[:300],
            address,
            now_text(),
            now_text(),
            expires,
        ],
    )
    return NewSession(int(cursor.lastrowid or 0), token)


def session_for_token_blocking(db: Database, token: str) -> Any:
    """(session id, user id, kind, scope, last_seen_at) for a live token, else None."""
    return db.execute(
        "SELECT id, user_id, kind, scope, last_seen_at FROM sessions WHERE token_hash = ? "
        "AND (expires_at IS NULL OR expires_at > ?)",
        [token_hash(token), now_text()],
    ).fetchone()


def list_sessions_blocking(db: Database, user_id: int) -> list[dict[str, Any]]:
    rows = db.execute(
        "SELECT id, kind, name, scope, client, address, created_at, last_seen_at, expires_at "
        "FROM sessions WHERE user_id = ? ORDER BY last_seen_at DESC",
        [user_id],
    ).fetchall()
    keys = (
        "id",
        "kind",
        "name",
        "scope",
        "client",
        "address",
        "created_at",
        "last_seen_at",
        "expires_at",
    )
    return [dict(zip(keys, row, strict=True)) for row in rows]


def new_password_hash(password: str) -> str:
    """The stored form of a new password (argon2 takes tens of milliseconds: not on the loop)."""
    return hash_password(validate_password(password))


def set_password_blocking(db: Database, user_id: int, hashed: str) -> int:
    """A new password (from `new_password_hash`) ends every sign-in of that person: sessions,
    device keys and app passwords alike, since any may be what the old password's thief made.
    Answers how many ended. The catalog's credential epoch moves with it (a trigger), so a
    server running beside `hearth user passwd` refuses the old tokens on the very next request."""
    db.execute("UPDATE users SET password_hash = ? WHERE id = ?", [hashed, user_id])
    apps = db.execute("DELETE FROM app_passwords WHERE user_id = ?", [user_id]).rowcount
    return int(db.execute("DELETE FROM sessions WHERE user_id = ?", [user_id]).rowcount + apps)


def delete_user_blocking(db: Database, user_id: int) -> None:
    """Everything about a person goes (cascades); the last owner cannot be deleted."""
    row = db.execute("SELECT role FROM users WHERE id = ?", [user_id]).fetchone()
    if row is None:
        raise AccountError("no such user")
    if row[0] == "owner":
        owners = db.execute("SELECT count(*) FROM users WHERE role = 'owner'").fetchone()[0]
        if owners <= 1:
            raise AccountError("the last owner cannot be removed; make someone else owner first")
    db.execute("DELETE FROM users WHERE id = ?", [user_id])


def owner_exists_blocking(db: Database) -> bool:
    return db.execute("SELECT 1 FROM users WHERE role = 'owner' LIMIT 1").fetchone() is not None


def enable_totp_blocking(db: Database, user_id: int, sealed_secret: str | None = None) -> list[str]:
    """Turn two-factor on (with `sealed_secret`, else the one being set up) and make ten fresh
    one-time recovery codes; the codes are returned once (to show) and stored only as hashes."""
    from core.people.credentials import recovery_code

    codes = [recovery_code() for _ in range(10)]
    if sealed_secret is not None:
        db.execute("UPDATE users SET totp_secret = ? WHERE id = ?", [sealed_secret, user_id])
    db.execute("UPDATE users SET totp_enabled = 1 WHERE id = ?", [user_id])
    db.execute("DELETE FROM recovery_codes WHERE user_id = ?", [user_id])
    for code in codes:
        db.execute(
            "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
            [user_id, token_hash(code)],
        )
    return codes
