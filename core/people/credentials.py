"""Hashing of passwords, PINs and tokens, and making new random tokens.

Passwords and PINs use argon2id with parameters a Raspberry Pi can afford (OWASP's minimum:
19 MiB, 2 passes); random tokens (sessions, API keys, invites, recovery codes) carry their own
entropy, so a SHA-256 of them is enough and lets lookups use an index. Nothing here stores
anything; nothing here ever logs a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
TOKEN_BYTES = 32


def hash_password(password: str) -> str:
    """An argon2id hash with its own salt."""
    return _HASHER.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash never matches (and costs the same)."""
    if not stored:
        _HASHER.hash(password)  # the same work either way: no timing hint that a user exists
        return False
    try:
        return _HASHER.verify(stored, password)
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
