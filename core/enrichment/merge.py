"""Who wins, field by field, between what is on disk and what an online provider said.

Local metadata (nfo files, tags, file names, artwork beside the media) wins by default; an
owner lists field groups in a provider's `override_local` option for the ones where the
provider should win instead. What an online provider put into an item is remembered
(`applied`), so a later merge can tell the owner's own values from earlier online ones and
remove them again (a "lock to local metadata"). Placeholders the scan made up (`Episode 2`) and
the server's own video stills count as missing. Pure functions: no catalog, no network.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from core.library.fields import ARTWORK_KINDS, STILL_PREFIX, clean_fields

FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "titles": ("title", "original_title", "sort_title"),
    "text": ("plot", "tagline"),
    "dates": ("year", "premiered"),
    "ratings": ("rating", "content_rating"),
    "genres": ("genres", "studios", "tags"),
    "people": ("people",),
    "ids": ("external_ids",),
    "artwork": ("artwork",),
    "music": ("artist", "album_artist", "album"),
}
_GROUP_OF = {name: group for group, names in FIELD_GROUPS.items() for name in names}
_PLACEHOLDER = re.compile(r"^(Episode|Season) \d+$")
SHADOWED = "__local__"
"""In `applied`: the local values an online one replaced (with `override_local`, or a
placeholder title), put back when the online value goes."""


def group_of(field: str) -> str:
    return _GROUP_OF.get(field, "text")


def _missing(item_kind: str, key: str, value: Any) -> bool:
    """A value the scan invented rather than found: an episode called `Episode 2`."""
    if value is None or value in ("", [], {}):
        return True
    return item_kind == "episode" and key == "title" and bool(_PLACEHOLDER.match(str(value)))


def local_part(current: Mapping[str, Any], applied: Mapping[str, Any]) -> dict[str, Any]:
    """`current` without what an online provider put there (values still equal to `applied`)."""
    local: dict[str, Any] = {}
    shadowed = applied.get(SHADOWED) or {}
    for key, value in current.items():
        if key == "artwork" and isinstance(value, dict):
            online_art = applied.get("artwork") or {}
            before = shadowed.get("artwork") or {}
            art = {k: v for k, v in value.items() if online_art.get(k) != v}
            art.update({k: before[k] for k in value if k not in art and k in before})
            if art:
                local[key] = art
        elif key == "external_ids" and isinstance(value, dict):
            online_ids = applied.get("external_ids") or {}
            ids = {k: v for k, v in value.items() if online_ids.get(k) != v}
            if ids:
                local[key] = ids
        elif key not in applied or applied[key] != value:
            local[key] = value
        elif key in shadowed:
            local[key] = shadowed[key]
    return local


def merge_online(
    item_kind: str,
    current: Mapping[str, Any],
    applied_before: Mapping[str, Any],
    online: Mapping[str, Any],
    override: Iterable[str] = (),
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(new metadata, what of it came from the provider). `online` holds cleaned fields and
    artwork as references already in the cache; `override` the groups where online wins."""
    wins = frozenset(override)
    merged = local_part(current, applied_before)
    applied: dict[str, Any] = {}
    for key, value in clean_fields(dict(online)).items():
        if key == "artwork":
            art = dict(merged.get("artwork") or {})
            for kind, ref in value.items():
                own = art.get(kind)
                still = isinstance(own, str) and own.startswith(STILL_PREFIX)
                if kind in ARTWORK_KINDS and (own is None or still or "artwork" in wins):
                    if own is not None and own != ref:
                        applied.setdefault(SHADOWED, {}).setdefault("artwork", {})[kind] = own
                    art[kind] = ref
                    applied.setdefault("artwork", {})[kind] = ref
            if art:
                merged["artwork"] = art
        elif key == "external_ids":
            ids = dict(merged.get("external_ids") or {})
            for name, ref in value.items():
                if name not in ids or "ids" in wins:
                    ids[name] = ref
                    applied.setdefault("external_ids", {})[name] = ref
            merged["external_ids"] = ids
        elif _missing(item_kind, key, merged.get(key)) or group_of(key) in wins:
            if merged.get(key) not in (None, value):
                applied.setdefault(SHADOWED, {})[key] = merged[key]
            merged[key] = value
            applied[key] = value
    return merged, applied
