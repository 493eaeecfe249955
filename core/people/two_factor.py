"""TOTP second factors: secrets sealed at rest, codes accepted once, across restarts too.

A TOTP secret is stored sealed by `core.secret_box` (bound to its person's id), so a copied
catalog yields no second factors; secrets stored in plain text by an older version are sealed
at start. A code is accepted from the current 30-second step or one either side, and only for a
step newer than the last one accepted for that person (RFC 6238 section 5.2): the step is kept
in the catalog (`users.totp_last_step`), so neither a replay nor a restart reopens a used code,
and one number per person needs no pruning. Blocking functions run in the catalog's threads.
It never logs a secret or a code.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any

from core.secret_box import PREFIX, SecretBox, SecretBoxError

_LOGGER = logging.getLogger("hearth.auth")


def purpose(user_id: int) -> str:
    """What a sealed TOTP secret is bound to: moved to another row, it does not open."""
    return f"totp:{user_id}"


def matching_step(secret: str, otp: str, now: float, after: int | None) -> int | None:
    """The time step `otp` belongs to (now, or one step either side), if newer than `after`."""
    import pyotp  # loaded by the first code, not by every server

    totp = pyotp.TOTP(secret)
    step = totp.timecode(now)
    otp = otp.replace(" ", "")
    for candidate in (step - 1, step, step + 1):
        if (after is None or candidate > after) and secrets.compare_digest(
            otp, totp.generate_otp(candidate)
        ):
            return int(candidate)
    return None


def accept_code_blocking(
    db: Any, box: SecretBox, user_id: int, otp: str, now: float, pending: bool = False
) -> bool:
    """Whether `otp` is right and unused for this person; if so it is used up, in the same
    transaction (two requests with one code: one wins). `pending` checks the secret being set
    up (not yet enabled) instead of the active one; the same column holds both."""
    row = db.execute(
        "SELECT totp_secret, totp_last_step, totp_enabled FROM users WHERE id = ?", [user_id]
    ).fetchone()
    if row is None or not row[0] or bool(row[2]) == pending:
        return False
    try:
        secret = box.open_blocking(row[0], purpose(user_id))
    except SecretBoxError as err:
        _LOGGER.error(
            "The two-factor secret of user %d cannot be read: %s. They can sign in with a "
            "recovery code, or the owner can run: hearth user 2fa NAME --disable",
            user_id,
            err,
        )
        return False
    step = matching_step(secret, otp, now, row[1])
    if step is None:
        return False
    used = db.execute(
        "UPDATE users SET totp_last_step = ? WHERE id = ? "
        "AND (totp_last_step IS NULL OR totp_last_step < ?)",
        [step, user_id, step],
    )
    return bool(used.rowcount)


def store_new_secret_blocking(db: Any, box: SecretBox, user_id: int, secret: str) -> None:
    """A secret being set up: sealed, and not active until confirmed with a code."""
    db.execute(
        "UPDATE users SET totp_secret = ?, totp_enabled = 0 WHERE id = ?",
        [box.seal_blocking(secret, purpose(user_id)), user_id],
    )


def plain_secrets_blocking(db: Any) -> list[tuple[int, str]]:
    """(user id, secret) of secrets an older version stored unsealed."""
    rows = db.execute(
        "SELECT id, totp_secret FROM users WHERE totp_secret IS NOT NULL "
        "AND substr(totp_secret, 1, ?) != ?",
        [len(PREFIX), PREFIX],
    ).fetchall()
    return [(int(r[0]), str(r[1])) for r in rows]


def seal_plain_secrets_blocking(db: Any, box: SecretBox) -> int:
    """Seal what an older version stored in plain text; nobody loses their second factor."""
    found = plain_secrets_blocking(db)
    for user_id, secret in found:
        db.execute(
            "UPDATE users SET totp_secret = ? WHERE id = ? AND totp_secret = ?",
            [box.seal_blocking(secret, purpose(user_id)), user_id, secret],
        )
    return len(found)
