"""SearchCriteria and SortCriteria of ContentDirectory, turned into parameterised SQL.

The UPnP grammar: `*`, `( )`, `and` (binding tighter than `or`), properties compared with
`= != < <= > >=`, `contains`, `doesNotContain`, `startsWith`, `derivedfrom` and
`exists true|false`, values in double quotes with `\\"` escapes. Comparisons ignore case.
Anything else, an unknown property, or criteria too long or too deep raise `CriteriaError`
(fault 708 or 709). Values only ever reach SQL as parameters. It never runs a query.
"""

from __future__ import annotations

import re
from typing import Any

from plugins.dlna.objects import ALBUM_SQL, ARTIST_SQL, CLASS_SQL, DATE_SQL, PARENT_SQL

MAX_CRITERIA = 2048
MAX_DEPTH = 16
MAX_CONDITIONS = 64
SEARCH_PROPERTIES = {
    "dc:title": "items.title",
    "dc:creator": ARTIST_SQL,
    "upnp:artist": ARTIST_SQL,
    "upnp:album": ALBUM_SQL,
    "upnp:class": CLASS_SQL,
    "dc:date": DATE_SQL,
    "upnp:originalTrackNumber": "items.index_number",
    "@id": "('item:' || items.id)",
    "@parentID": PARENT_SQL,
    "@refID": "NULL",
    "upnp:genre": "",  # through item_genres
}
SORT_PROPERTIES = {
    "dc:title": ("items.sort_title",),
    "dc:date": (DATE_SQL,),
    "upnp:class": (CLASS_SQL,),
    "upnp:originalTrackNumber": ("items.disc_number", "items.index_number"),
    "upnp:album": (ALBUM_SQL,),
    "upnp:artist": (ARTIST_SQL,),
    "dc:creator": (ARTIST_SQL,),
}
SEARCH_CAPS = ",".join(SEARCH_PROPERTIES)
SORT_CAPS = ",".join(SORT_PROPERTIES)
_TOKEN = re.compile(
    r'\s*(?:(?P<str>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|=|<|>)|(?P<paren>[()])|(?P<word>[^\s()"=<>!]+))'
)
_STRING_OPS = {"contains", "doesnotcontain", "startswith", "derivedfrom"}


class CriteriaError(ValueError):
    """Criteria this server cannot understand."""


def _tokens(text: str) -> list[tuple[str, str]]:
    if len(text) > MAX_CRITERIA:
        raise CriteriaError("criteria too long")
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise CriteriaError(f"cannot read criteria at {position}")
        kind = match.lastgroup or ""
        tokens.append((kind, match[kind]))
        position = match.end()
    return tokens


def _like(value: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", value)


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.tokens, self.position, self.conditions = tokens, 0, 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.position] if self.position < len(self.tokens) else ("end", "")

    def take(self, kind: str) -> str:
        got_kind, value = self.peek()
        if got_kind != kind:
            raise CriteriaError(f"expected {kind}, found {value or 'the end'}")
        self.position += 1
        return value

    def expression(self, depth: int) -> tuple[str, list[Any]]:
        if depth > MAX_DEPTH:
            raise CriteriaError("criteria nested too deeply")
        parts, args = [self.conjunction(depth)], []
        while self.peek()[0] == "word" and self.peek()[1].lower() == "or":
            self.position += 1
            parts.append(self.conjunction(depth))
        sql = " OR ".join(p[0] for p in parts)
        for part in parts:
            args += part[1]
        return (f"({sql})" if len(parts) > 1 else sql), args

    def conjunction(self, depth: int) -> tuple[str, list[Any]]:
        parts = [self.primary(depth)]
        while self.peek()[0] == "word" and self.peek()[1].lower() == "and":
            self.position += 1
            parts.append(self.primary(depth))
        args = [a for part in parts for a in part[1]]
        return "(" + " AND ".join(p[0] for p in parts) + ")", args

    def primary(self, depth: int) -> tuple[str, list[Any]]:
        if self.peek() == ("paren", "("):
            self.position += 1
            inner = self.expression(depth + 1)
            if self.take("paren") != ")":
                raise CriteriaError("expected )")
            return inner
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise CriteriaError("too many conditions")
        prop = self.take("word")
        if prop not in SEARCH_PROPERTIES:
            raise CriteriaError(f"cannot search by {prop}")
        kind, op = self.peek()
        self.position += 1
        if kind == "word" and op.lower() == "exists":
            flag = self.take("word").lower()
            if flag not in ("true", "false"):
                raise CriteriaError("exists takes true or false")
            return _exists(prop, flag == "true"), []
        if kind != "op" and op.lower() not in _STRING_OPS:
            raise CriteriaError(f"unknown operator {op}")
        raw = self.take("str")
        value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        return _condition(prop, op.lower(), value)


def _exists(prop: str, present: bool) -> str:
    if prop == "upnp:genre":
        test = "EXISTS (SELECT 1 FROM item_genres AS g WHERE g.item_pk = items.pk)"
        return test if present else f"NOT {test}"
    return f"({SEARCH_PROPERTIES[prop]}) IS {'NOT ' if present else ''}NULL"


def _condition(prop: str, op: str, value: str) -> tuple[str, list[Any]]:
    if op == "derivedfrom":
        if prop != "upnp:class":
            raise CriteriaError("derivedfrom applies to upnp:class only")
        return f"(({CLASS_SQL}) = ? OR ({CLASS_SQL}) LIKE ? ESCAPE '\\')", [
            value,
            _like(value) + ".%",
        ]
    negate = op in ("!=", "doesnotcontain")
    if op in ("contains", "doesnotcontain"):
        test, arg = "LIKE ? ESCAPE '\\'", f"%{_like(value)}%"
    elif op == "startswith":
        test, arg = "LIKE ? ESCAPE '\\'", f"{_like(value)}%"
    elif op in ("=", "!="):
        test, arg = "= ? COLLATE NOCASE", value
    else:
        test, arg = f"{op} ? COLLATE NOCASE", value
    arg_value: Any = arg
    if prop == "upnp:originalTrackNumber" and op in ("=", "!=", "<", "<=", ">", ">="):
        if not value.isdigit():
            raise CriteriaError("a track number is a whole number")
        test, arg_value = f"{op.replace('!=', '=')} ?", int(value)
    if prop == "upnp:genre":
        sql = (
            f"EXISTS (SELECT 1 FROM item_genres AS g WHERE g.item_pk = items.pk AND g.genre {test})"
        )
    else:
        sql = f"({SEARCH_PROPERTIES[prop]}) {test}"
    return (f"NOT COALESCE({sql}, 0)" if negate else sql), [arg_value]


def search_sql(criteria: str) -> tuple[str, list[Any]]:
    """A WHERE condition over objects.FROM_SQL for the criteria; raises CriteriaError."""
    text = criteria.strip()
    if text in ("", "*"):
        return "1", []
    parser = _Parser(_tokens(text))
    sql, args = parser.expression(0)
    if parser.peek()[0] != "end":
        raise CriteriaError(f"unexpected {parser.peek()[1]}")
    return sql, args


def sort_sql(criteria: str) -> list[tuple[str, str, bool]]:
    """(property, SQL expression, descending) per sort key; raises CriteriaError."""
    keys: list[tuple[str, str, bool]] = []
    for raw in criteria.split(","):
        token = raw.strip()
        if not token:
            continue
        descending = token.startswith("-")
        prop = token.lstrip("+-").strip()
        if prop not in SORT_PROPERTIES or len(keys) > 8:
            raise CriteriaError(f"cannot sort by {prop}")
        keys += [(prop, column, descending) for column in SORT_PROPERTIES[prop]]
    return keys
