"""The web app's shell: every static file read once into memory, served from a dictionary.

`load_shell_blocking` walks `static/`, keeps files with a known type, stamps the build id
(a hash of every file) into index.html and sw.js, and gzips what compresses. Requests are then
dictionary lookups, so no request path ever reaches the filesystem: `..`, encoded slashes and
symlinks cannot lead anywhere. Assets under `/app/v-<build>/` are immutable for a year;
anything else has a short max-age, index.html none at all (it names the current build).
It never serves media, API answers or anything about a person.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from core.plugin_api import ApiError, RouteSpec

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".webmanifest": "application/manifest+json",
    ".json": "application/json",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
COMPRESSIBLE = frozenset({".html", ".js", ".css", ".svg", ".webmanifest", ".json", ".txt"})
IMMUTABLE = "public, max-age=31536000, immutable"
SHORT = "public, max-age=300"
_VERSION = re.compile(r"^v-[0-9a-f]{12}$")
# One plain route per depth (/app/{a}, /app/{a}/{b}, …) rather than one `{path:.+}` route: the
# auth middleware names a route by its canonical path, and a regex parameter would hide that.
DEPTHS = ("a", "b", "c", "d")
# The page may load only its own scripts, styles, media and API: no third party, ever.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "media-src 'self' blob:; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}


@dataclass(frozen=True, slots=True)
class Asset:
    """One file of the shell, ready to send."""

    body: bytes
    gzipped: bytes | None
    content_type: str
    etag: str


def _asset(body: bytes, suffix: str) -> Asset:
    packed = gzip.compress(body, 9, mtime=0) if suffix in COMPRESSIBLE else None
    if packed is not None and len(packed) >= len(body):
        packed = None
    etag = '"' + hashlib.blake2b(body, digest_size=10).hexdigest() + '"'
    return Asset(body, packed, CONTENT_TYPES[suffix], etag)


class WebShell:
    """The loaded shell and its request handlers."""

    def __init__(self, assets: dict[str, Asset], build: str) -> None:
        self.assets = assets
        self.build = build

    def _send(self, request: web.Request, asset: Asset, cache: str) -> web.Response:
        headers = {**COMMON_HEADERS, "Cache-Control": cache, "ETag": asset.etag}
        if asset.gzipped is not None:
            headers["Vary"] = "Accept-Encoding"
        if asset.content_type.startswith("text/html"):
            headers["Content-Security-Policy"] = CSP
        if request.headers.get("If-None-Match") == asset.etag:
            return web.Response(status=304, headers=headers)
        body = asset.body
        if asset.gzipped is not None and "gzip" in request.headers.get("Accept-Encoding", ""):
            body, headers["Content-Encoding"] = asset.gzipped, "gzip"
        headers["Content-Type"] = asset.content_type
        return web.Response(body=body, headers=headers)

    async def index(self, request: web.Request) -> web.Response:
        """The app's only page; it names the current build, so it is never cached."""
        return self._send(request, self.assets["index.html"], "no-store")

    async def manifest(self, request: web.Request) -> web.Response:
        """The web app manifest that makes Hearth installable."""
        return self._send(request, self.assets["manifest.webmanifest"], SHORT)

    async def service_worker(self, request: web.Request) -> web.Response:
        """The service worker; browsers must revalidate it to notice a new build."""
        return self._send(request, self.assets["sw.js"], "no-cache")

    async def app_file(self, request: web.Request) -> web.Response:
        """An ES module, style sheet or icon; `/app/v-<build>/…` names are immutable."""
        parts = "/".join(request.match_info[k] for k in DEPTHS if k in request.match_info).split(
            "/"
        )
        if any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts):
            raise ApiError(404, "No such file.", "not_found")
        cache = SHORT
        if _VERSION.match(parts[0]):
            cache = IMMUTABLE if parts[0] == f"v-{self.build}" else "no-cache"
            parts = parts[1:]
        asset = self.assets.get("app/" + "/".join(parts)) if parts else None
        if asset is None:
            raise ApiError(404, "No such file.", "not_found")
        return self._send(request, asset, cache)

    def routes(self) -> list[RouteSpec]:
        tags = ("web",)
        files = [
            RouteSpec(
                "GET",
                "/app/" + "/".join(f"{{{k}}}" for k in DEPTHS[:n]),
                self.app_file,
                "Web app files",
                tags,
                access="anyone",
            )
            for n in range(1, len(DEPTHS) + 1)
        ]
        return [
            RouteSpec("GET", "/", self.index, "The web app", tags, access="anyone"),
            *files,
            RouteSpec(
                "GET",
                "/manifest.webmanifest",
                self.manifest,
                "Web app manifest",
                tags,
                access="anyone",
            ),
            RouteSpec(
                "GET", "/sw.js", self.service_worker, "Service worker", tags, access="anyone"
            ),
        ]


def load_shell_blocking(root: Path) -> WebShell:
    """Read every servable file under `root`; symlinks and dotfiles are left out."""
    files: dict[str, bytes] = {}
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if path.is_symlink() or not path.is_file() or path.suffix not in CONTENT_TYPES:
            continue
        if any(part.startswith(".") for part in relative.parts):
            continue
        files[relative.as_posix()] = path.read_bytes()
    digest = hashlib.blake2b(digest_size=6)
    for name, body in files.items():
        digest.update(name.encode() + b"\0" + body + b"\0")
    build = digest.hexdigest()
    shell_files = ["/", *(f"/app/v-{build}/{n[4:]}" for n in files if n.startswith("app/"))]
    stamps = {b"%BUILD%": build.encode(), b"%SHELL_FILES%": json.dumps(shell_files).encode()}
    for name in ("index.html", "sw.js"):
        for mark, value in stamps.items():
            files[name] = files[name].replace(mark, value)
    assets = {name: _asset(body, Path(name).suffix) for name, body in files.items()}
    return WebShell(assets, build)
