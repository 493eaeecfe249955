"""Hashing of passwords, PINs and tokens, and making new random tokens.

Passwords and PINs use argon2id with parameters a Raspberry Pi can afford (OWASP's minimum:
19 MiB, 2 passes); random tokens (sessions, API keys, invites, recovery codes) carry their own
entropy, so a SHA-256 of them is enough and lets lookups use an index. Nothing here stores
anything; nothing here ever logs a secret.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from argon2 import PasswordHasher

TOKEN_BYTES = 32


@functools.cache
def _hasher() -> PasswordHasher:
    """argon2 (and its cffi library, ~0.5 MB resident) loaded by the first password or PIN:
    a server whose people sign in with tokens and sessions never needs it."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


def hash_password(password: str) -> str:
    """An argon2id hash with its own salt."""
    return _hasher().hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash never matches (and costs the same)."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if not stored:
        _hasher().hash(password)  # the same work either way: no timing hint that a user exists
        return False
    try:
        return _hasher().verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    """`hs_…` session token, `hk_…` device key, `hi_…` invite: the prefix says what it is."""
    return prefix + secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """What is stored instead of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def recovery_code() -> str:
    """Ten characters in two groups, easy to copy from paper: `k3f9q-x7m2p`."""
    alphabet = "abcdefghjkmnpqrstuvwxyz23456789"
    raw = "".join(secrets.choice(alphabet) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"
