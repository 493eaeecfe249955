"""Who may switch a shared device to a profile without its PIN: the rule, kept apart so it can
be read (and tested) on its own.

Switching to a managed profile hands the device that profile's access. Without a PIN this is
allowed only when it gives nothing new: the switcher is an owner or an admin (who set up the
profile and see everything anyway), or the profile can see no more than the switcher can — its
libraries a subset of the switcher's, its rating limit no looser, unrated items blocked if the
switcher's are, and every genre the switcher excludes excluded too. A profile with a PIN asks
for it from anyone but an owner or admin (the PIN also keeps its history and settings its own).
Adult accounts always need their password or PIN. It never reads the catalog or the request.
"""

from __future__ import annotations

from enum import Enum

from core.people.access import Principal


class SwitchNeeds(Enum):
    """What a switch needs from the person at the device."""

    NOTHING = "nothing"
    SECRET = "secret"  # the profile's PIN, or its password
    REFUSED = "refused"  # a PIN-less profile with more access: no secret can open it


def sees_no_more(target: Principal, switcher: Principal) -> bool:
    """Whether everything `target` may see, `switcher` may see too."""
    if switcher.libraries is not None and (
        target.libraries is None or not target.libraries <= switcher.libraries
    ):
        return False
    if switcher.max_rank is not None:
        if target.max_rank is None or target.max_rank > switcher.max_rank:
            return False
        if switcher.block_unrated and not target.block_unrated:
            return False
    return set(switcher.excluded_genres) <= set(target.excluded_genres)


def switch_needs(
    switcher: Principal, target: Principal, has_pin: bool, has_password: bool
) -> SwitchNeeds:
    if target.user_id == switcher.user_id:
        return SwitchNeeds.NOTHING
    if target.role != "managed":
        return SwitchNeeds.SECRET
    if switcher.is_admin:
        return SwitchNeeds.NOTHING
    if has_pin:
        return SwitchNeeds.SECRET
    if sees_no_more(target, switcher):
        return SwitchNeeds.NOTHING
    return SwitchNeeds.SECRET if has_password else SwitchNeeds.REFUSED
