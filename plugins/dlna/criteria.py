"""SearchCriteria and SortCriteria of ContentDirectory, turned into parameterised SQL.

The UPnP grammar: `*`, `( )`, `and` (binding tighter than `or`), properties compared with
`= != < <= > >=`, `contains`, `doesNotContain`, `startsWith`, `derivedfrom` and
`exists true|false`, values in double quotes with `\\"` escapes. Comparisons ignore case.
Anything else, an unknown property, or criteria too long or too deep raise `CriteriaError`
(fault 708 or 709). Criteria are parsed once into a small tree, then made into SQL over a map
of property expressions: the catalog's items have one (ITEM_PROPERTIES), the containers the
server makes up another (search.py), so both are matched by the same rules. Values only ever
reach SQL as parameters. It never runs a query.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from plugins.dlna.objects import ALBUM_SQL, ARTIST_SQL, CLASS_SQL, DATE_SQL, PARENT_SQL

MAX_CRITERIA = 2048
MAX_DEPTH = 16
MAX_CONDITIONS = 64
Expression = tuple[str, list[Any]]  # SQL and its arguments
Properties = Mapping[str, Expression]
GENRE = "upnp:genre"  # matched through item_genres when the map has no expression for it
ITEM_PROPERTIES: Properties = {
    "dc:title": ("items.title", []),
    "dc:creator": (ARTIST_SQL, []),
    "upnp:artist": (ARTIST_SQL, []),
    "upnp:album": (ALBUM_SQL, []),
    "upnp:class": (CLASS_SQL, []),
    "dc:date": (DATE_SQL, []),
    "upnp:originalTrackNumber": ("items.index_number", []),
    "@id": ("('item:' || items.id)", []),
    "@parentID": (PARENT_SQL, []),
    "@refID": ("NULL", []),
}
SEARCH_PROPERTIES = (*ITEM_PROPERTIES, GENRE)
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
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


class CriteriaError(ValueError):
    """Criteria this server cannot understand."""


@dataclass(frozen=True, slots=True)
class Condition:
    """`prop op "value"`; `op` in lower case; for `exists`, value is "true" or "false"."""

    prop: str
    op: str
    value: str


@dataclass(frozen=True, slots=True)
class Junction:
    """Parts joined by "and" or "or"."""

    op: str
    parts: tuple[Criteria, ...]


Criteria = Condition | Junction


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

    def joined(self, word: str, part: Any) -> Criteria:
        parts = [part()]
        while self.peek()[0] == "word" and self.peek()[1].lower() == word:
            self.position += 1
            parts.append(part())
        return parts[0] if len(parts) == 1 else Junction(word, tuple(parts))

    def expression(self, depth: int) -> Criteria:
        if depth > MAX_DEPTH:
            raise CriteriaError("criteria nested too deeply")
        return self.joined("or", lambda: self.joined("and", lambda: self.primary(depth)))

    def primary(self, depth: int) -> Criteria:
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
            return Condition(prop, "exists", flag)
        if kind != "op" and op.lower() not in _STRING_OPS:
            raise CriteriaError(f"unknown operator {op}")
        raw = self.take("str")
        value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        if op.lower() == "derivedfrom" and prop != "upnp:class":
            raise CriteriaError("derivedfrom applies to upnp:class only")
        if prop == "upnp:originalTrackNumber" and kind == "op" and not value.isdigit():
            raise CriteriaError("a track number is a whole number")
        return Condition(prop, op.lower(), value)


def parse_criteria(text: str) -> Criteria | None:
    """The criteria as a tree; None for `*` (everything). Raises CriteriaError."""
    text = text.strip()
    if text in ("", "*"):
        return None
    parser = _Parser(_tokens(text))
    criteria = parser.expression(0)
    if parser.peek()[0] != "end":
        raise CriteriaError(f"unexpected {parser.peek()[1]}")
    return criteria


def criteria_sql(criteria: Criteria | None, properties: Properties = ITEM_PROPERTIES) -> Expression:
    """A WHERE condition for the criteria, over the columns `properties` names."""
    if criteria is None:
        return "1", []
    if isinstance(criteria, Junction):
        parts = [criteria_sql(part, properties) for part in criteria.parts]
        joined = f" {criteria.op.upper()} ".join(sql for sql, _ in parts)
        return f"({joined})", [arg for _, args in parts for arg in args]
    return _condition(criteria, properties)


def _condition(condition: Condition, properties: Properties) -> Expression:
    prop, op, value = condition.prop, condition.op, condition.value
    if prop == GENRE and GENRE not in properties:
        genres = "SELECT 1 FROM item_genres AS g WHERE g.item_pk = items.pk"
        if op == "exists":
            return f"{'' if value == 'true' else 'NOT '}EXISTS ({genres})", []
        test, arg = _test(op, value)
        sql = f"EXISTS ({genres} AND g.genre {test})"
        return (f"NOT COALESCE({sql}, 0)" if op in ("!=", "doesnotcontain") else sql), [arg]
    expression, expression_args = properties[prop]
    if op == "exists":
        return f"({expression}) IS {'NOT ' if value == 'true' else ''}NULL", expression_args
    if op == "derivedfrom":
        sql = f"(({expression}) = ? OR ({expression}) LIKE ? ESCAPE '\\')"
        return sql, [*expression_args, value, *expression_args, _like(value) + ".%"]
    test, arg = _test(op, value)
    if prop == "upnp:originalTrackNumber" and op in ("=", "!=", "<", "<=", ">", ">="):
        test, arg = f"{op.replace('!=', '=')} ?", int(value)
    sql = f"({expression}) {test}"
    return (f"NOT COALESCE({sql}, 0)" if op in ("!=", "doesnotcontain") else sql), [
        *expression_args,
        arg,
    ]


def _test(op: str, value: str) -> tuple[str, Any]:
    """The comparison after the property (negations compare positively), and its argument."""
    if op in ("contains", "doesnotcontain"):
        return "LIKE ? ESCAPE '\\'", f"%{_like(value)}%"
    if op == "startswith":
        return "LIKE ? ESCAPE '\\'", f"{_like(value)}%"
    if op in ("=", "!="):
        return "= ? COLLATE NOCASE", value
    return f"{op} ? COLLATE NOCASE", value


def search_sql(criteria: str) -> Expression:
    """A WHERE condition over objects.FROM_SQL for the criteria; raises CriteriaError."""
    return criteria_sql(parse_criteria(criteria))


def pinned_parent(criteria: Criteria | None) -> str | None:
    """X when the criteria say `@parentID = "X" and ...` at the top: the search is then about
    X's children as Browse lists them (how Home Assistant finds a path, title by title)."""
    if isinstance(criteria, Condition):
        found = criteria.prop == "@parentID" and criteria.op == "="
        return criteria.value if found else None
    if isinstance(criteria, Junction) and criteria.op == "and":
        return next((p for p in map(pinned_parent, criteria.parts) if p is not None), None)
    return None


def may_match_class(criteria: Criteria | None, upnp_class: str) -> bool:
    """False only when no object of this class can match, whatever its other properties:
    containers of a class are then not even listed (a TV's `derivedfrom "object.item"`)."""
    return _class_test(criteria, upnp_class) is not False


def _class_test(criteria: Criteria | None, upnp_class: str) -> bool | None:
    """The criteria for an object of this class: True, False or None (depends on more)."""
    if criteria is None:
        return True
    if isinstance(criteria, Junction):
        found = [_class_test(part, upnp_class) for part in criteria.parts]
        decisive = criteria.op == "or"  # True decides an "or", False an "and"
        if decisive in found:
            return decisive
        return None if None in found else not decisive
    if criteria.prop != "upnp:class" or criteria.op in ("<", "<=", ">", ">="):
        return None
    if criteria.op == "exists":
        return criteria.value == "true"
    # ASCII-only folding, as SQLite's NOCASE and LIKE do.
    have, want = upnp_class.translate(_ASCII_LOWER), criteria.value.translate(_ASCII_LOWER)
    if criteria.op == "derivedfrom":
        return upnp_class == criteria.value or have.startswith(want + ".")
    if criteria.op in ("=", "!="):
        return (have == want) == (criteria.op == "=")
    if criteria.op == "startswith":
        return have.startswith(want)
    return (want in have) == (criteria.op == "contains")


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
