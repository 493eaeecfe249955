"""Loading the XML of an .nfo file safely, as Kodi reads it, or the links it holds instead.

Kodi accepts more than XML does: an nfo that is only a link (an IMDb or TMDB URL), XML followed
by such a link, and several `<episodedetails>` roots in one file for a multi-episode file. All
of these are turned into elements (and the ids from the links) here.

The files arrive with downloaded media, so they are parsed as hostile: defusedxml refuses every
entity declaration (billion laughs) and external reference (`file:///etc/passwd`), and a file
that cannot be used raises `NfoError` with a sentence a person can act on, never a parser's
exception. Pure: never touches the disk or the network, never interprets the elements.
"""

from __future__ import annotations

import re
from xml.etree.ElementTree import Element, ParseError

import defusedxml.ElementTree as DefusedTree
from defusedxml import DefusedXmlException

_LINKED_IDS = (
    ("imdb", re.compile(rb"(?<![A-Za-z0-9])(tt\d{7,10})(?!\d)")),
    ("tmdb", re.compile(rb"themoviedb\.org/(?:movie|tv)/(\d{1,12})")),
    ("tvdb", re.compile(rb"thetvdb\.com/\S*?(?:[?&]id=|/series/)(\d{1,12})(?!\d)")),
)
_DECLARED_ENCODING = re.compile(rb"^\s*<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._-]+)")
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")


class NfoError(Exception):
    """An nfo file exists but cannot be used; the message says why, after the file's name."""


def load_document(data: bytes, roots: tuple[str, ...]) -> tuple[list[Element], dict[str, str]]:
    """The root elements of the expected kinds and the ids of any links; raises NfoError.
    A link-only nfo gives no element."""
    if not data.strip(b" \t\r\n\x00" + b"".join(_BOMS)):
        raise NfoError("is empty")
    if not data.lstrip(b" \t\r\n").startswith((b"<", *_BOMS)):
        ids = linked_ids(data)
        if not ids:
            raise NfoError("holds neither XML nor an IMDb, TMDB or TVDB link")
        return [], ids
    elements, trailer = _elements(data, roots)
    return elements, linked_ids(trailer)


def linked_ids(data: bytes) -> dict[str, str]:
    """Ids in IMDb, TMDB and TVDB links found in free text (a URL-only nfo)."""
    ids: dict[str, str] = {}
    for kind, pattern in _LINKED_IDS:
        match = pattern.search(data)
        if match:
            ids[kind] = match.group(1).decode("ascii")
    return ids


def _elements(data: bytes, roots: tuple[str, ...]) -> tuple[list[Element], bytes]:
    """The root elements of the expected kind, and any text after them (a link)."""
    trailer = b""
    try:
        root = _parse(data)
    except ParseError as err:
        salvaged = _salvaged(data, roots)
        if salvaged is None:
            raise _syntax_error(data, err) from err
        body, trailer = salvaged
        try:
            root = _parse(body)
        except ParseError:
            raise _syntax_error(data, err) from err
    elements = list(root) if root.tag == "nfo" else [root]
    wanted = [element for element in elements if element.tag in roots]
    if not wanted:
        expected = " or ".join(f"<{name}>" for name in roots)
        raise NfoError(f"is a <{root.tag}> nfo where {expected} was expected")
    return wanted, trailer


def _salvaged(data: bytes, roots: tuple[str, ...]) -> tuple[bytes, bytes] | None:
    """What Kodi accepts but XML does not: several roots (a multi-episode file) and a link
    after the XML. Returns the roots wrapped in one `<nfo>` element, and the text after them."""
    end = max(data.rfind(f"</{name}>".encode()) for name in roots)
    if end < 0:
        return None
    end = data.index(b">", end) + 1
    body, trailer = data[:end], data[end:]
    several = sum(body.count(f"<{name}>".encode()) for name in roots) > 1
    if not trailer.strip() and not several:
        return None
    declaration = re.match(rb"\s*<\?xml[^>]*\?>", body)
    cut = declaration.end() if declaration else 0
    return body[:cut] + b"<nfo>" + body[cut:] + b"</nfo>", trailer


def _parse(data: bytes) -> Element:
    try:
        root: Element = DefusedTree.fromstring(data, forbid_dtd=False)
    except DefusedXmlException as err:
        raise NfoError(
            "declares XML entities or external references, which are refused "
            "(an entity-expansion bomb or a pointer to another file)"
        ) from err
    except LookupError as err:
        raise NfoError(f"declares a text encoding that is not known ({err})") from err
    return root


def _syntax_error(data: bytes, err: ParseError) -> NfoError:
    """Name the likely cause: most broken nfo files are Latin-1 saved without saying so."""
    declared = _DECLARED_ENCODING.match(data.removeprefix(_BOMS[0]))
    encoding = declared.group(1).decode().lower() if declared else "utf-8"
    if encoding in ("utf-8", "utf8") and not data.startswith(_BOMS[1:]):
        try:
            data.decode("utf-8")
        except UnicodeDecodeError:
            return NfoError(
                "is not valid UTF-8 (perhaps saved as Latin-1 or Windows-1252 without an "
                "encoding in its <?xml ...?> declaration)"
            )
    return NfoError(f"is not well-formed XML ({err})")
