"""System endpoints: ping, getLicense, getOpenSubsonicExtensions (without sign-in, as
OpenSubsonic asks), tokenInfo, getUser, getScanStatus and startScan (admins). They never read
media and never change a person's data.
"""

from __future__ import annotations

from typing import Any

from core.plugin_api import principal_blocking
from plugins.subsonic.browse import music_folders_blocking
from plugins.subsonic.responses import AUTH_NOT_SUPPORTED, NOT_AUTHORIZED, Payload, SubsonicError
from plugins.subsonic.routes import Call, Endpoints

# OpenSubsonic extensions this server speaks (name, versions), for getOpenSubsonicExtensions
EXTENSIONS = (
    ("apiKeyAuthentication", (1,)),
    ("formPost", (1,)),
    ("songLyrics", (1,)),
    ("transcodeOffset", (1,)),
)


async def ping(call: Call) -> Payload | None:
    """Reachable and signed in."""
    return None


async def get_license(call: Call) -> Payload:
    """Hearth needs no licence; apps that check get a valid one."""
    return {"license": {"valid": True}}


async def get_extensions(call: Call) -> Payload:
    return {
        "openSubsonicExtensions": [
            {"name": name, "versions": list(versions)} for name, versions in EXTENSIONS
        ]
    }


async def token_info(call: Call) -> Payload:
    """Whose API key this is (apiKeyAuthentication)."""
    if call.get("apiKey") is None:
        raise SubsonicError(AUTH_NOT_SUPPORTED, "tokenInfo answers only for an apiKey.")
    return {"tokenInfo": {"username": call.principal.username}}


async def get_user(call: Call) -> Payload:
    """The signed-in person (admins may ask about anyone)."""
    principal = call.principal
    name = call.require("username")
    if name.casefold() != principal.username.casefold() and not principal.is_admin:
        raise SubsonicError(NOT_AUTHORIZED, "You may only ask about yourself.")

    def read(db: Any) -> tuple[Any, list[int]]:
        row = db.execute(
            "SELECT id, username, role FROM users WHERE username = ?", [name]
        ).fetchone()
        person = principal_blocking(db, row[0]) if row is not None else None
        if person is None:
            return row, []
        folders = music_folders_blocking(db, person, {})["musicFolders"]["musicFolder"]
        return row, [f["id"] for f in folders]

    row, folders = await call.ctx.catalog.read(read)
    if row is None:
        raise SubsonicError(70, f"No user called {name!r}.")
    admin = row[2] in ("owner", "admin")
    writer = call.principal.scope != "read"
    return {
        "user": {
            "username": row[1],
            "email": "",
            "scrobblingEnabled": True,
            "adminRole": admin,
            "settingsRole": writer,
            "downloadRole": True,
            "uploadRole": False,
            "playlistRole": writer,
            "coverArtRole": False,
            "commentRole": False,
            "podcastRole": False,
            "streamRole": True,
            "jukeboxRole": False,
            "shareRole": False,
            "videoConversionRole": False,
            "folder": folders,  # the music folders this person may open
        }
    }


async def _scan_status(call: Call) -> Payload:
    status = call.ctx.scan_status()
    current = status.get("current") or {}
    scanning = status["state"] != "idle" or bool(status["queued"])
    if scanning:
        count = int(current.get("seen", 0))
    else:
        count = await call.ctx.catalog.read(
            lambda db: db.execute("SELECT count(*) FROM items WHERE kind = 'track'").fetchone()[0]
        )
    return {"scanStatus": {"scanning": scanning, "count": count}}


async def get_scan_status(call: Call) -> Payload:
    """Whether a scan runs, and how many files it has seen (else how many tracks there are)."""
    return await _scan_status(call)


async def start_scan(call: Call) -> Payload:
    """Scan every library (owners and admins)."""
    call.ctx.scan_all()
    return await _scan_status(call)


def register(endpoints: Endpoints) -> None:
    endpoints.add("ping", ping)
    endpoints.add("getLicense", get_license)
    endpoints.add("getOpenSubsonicExtensions", get_extensions, public=True)
    endpoints.add("tokenInfo", token_info)
    endpoints.add("getUser", get_user)
    endpoints.add("getScanStatus", get_scan_status, admin=True)
    endpoints.add("startScan", start_scan, admin=True, writes=True)
