"""What each network scope lets a plugin reach: the egress gate's decisions, before any socket.

`none` reaches nothing; `lan` only private, loopback and link-local addresses, every address of
a name checked; `internet` only hosts its manifest lists and the owner enabled (a manifest that
lists `*` — the relay — reaches only the hosts the owner enabled). The answer is a
`Destination` holding the checked addresses, which are the only ones a connection may then go to
(so a second DNS answer cannot swap in another). It never connects and never writes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass

from yarl import URL

from core.errors import HearthError
from core.manifest import Manifest

Resolver = Callable[[str, int], Awaitable[list[str]]]
ANY_HOST = "*"
"""In a manifest's hosts: the plugin's one host is the owner's choice (the relay server they
run or were given), so only what the owner lists under `hearth: egress:` is reachable."""
SUBDOMAINS = "*."
"""A host written `*.us.archive.org` stands for every name below us.archive.org (not the name
itself): a service that redirects to numbered storage nodes (the Cover Art Archive's pictures,
`ia800100.us.archive.org`) cannot list them one by one. It counts only when both the manifest
and the owner's `hearth: egress:` list it."""


class EgressError(HearthError):
    """An outbound request did not produce a response."""


class EgressRefused(EgressError):
    """The gate refused the destination; nothing was sent. The message says why."""


class EgressFailed(EgressError):
    """The destination was allowed but could not be reached, or answered too much."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked host and the addresses a connection may go to."""

    host: str
    addresses: tuple[str, ...]


def is_local_address(address: str) -> bool:
    """Private, loopback or link-local; an IPv4 address mapped into IPv6 is judged as IPv4
    (Python 3.11 calls every ::ffff:a.b.c.d private, which would let the internet through)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_multicast or ip.is_unspecified:
        return False
    return ip.is_private or ip.is_loopback or ip.is_link_local


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address of `host`, once, in the system's order (no DNS for an address)."""
    try:
        ipaddress.ip_address(host)
        return [host]
    except ValueError:
        pass
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def host_listed(host: str, listed: Iterable[str]) -> bool:
    """Whether `host` is one of `listed`, or below a `*.domain` entry of it."""
    host = host.lower()
    for written in listed:
        entry = written.lower()
        if host == entry:
            return True
        if entry.startswith(SUBDOMAINS) and host.endswith(entry[1:]) and len(host) > len(entry):
            return True
    return False


def declares(manifest: Manifest, host: str) -> bool:
    """Whether the manifest lists `host` (or `*`: the one the owner names)."""
    listed = {h.lower() for h in manifest.network.hosts}
    return ANY_HOST in listed or host_listed(host, listed)


def enabled_hosts(manifest: Manifest, enabled: Mapping[str, Iterable[str]]) -> tuple[str, ...]:
    """The manifest's hosts the owner enabled: where this plugin may actually go."""
    if manifest.network.scope != "internet":
        return ()
    chosen = [h.lower() for h in enabled.get(manifest.domain, ())]
    if ANY_HOST in manifest.network.hosts:
        return tuple(dict.fromkeys(chosen))
    return tuple(h for h in manifest.network.hosts if h.lower() in chosen)


async def check_destination(
    manifest: Manifest, url: URL, enabled: Mapping[str, frozenset[str]], resolve: Resolver
) -> Destination:
    """The checked destination, or EgressRefused saying why (nothing is sent)."""
    if url.scheme not in ("http", "https") or not url.host:
        kind = f"'{url.scheme}:'" if url.scheme else "relative"
        raise EgressRefused(f"only http(s) URLs with a host may be requested, not {kind} ones")
    port = url.port or (443 if url.scheme == "https" else 80)
    return await check_host(manifest, url.host, port, enabled, resolve)


async def check_host(
    manifest: Manifest,
    name: str,
    port: int,
    enabled: Mapping[str, frozenset[str]],
    resolve: Resolver,
) -> Destination:
    """The checked destination of a connection to `name:port` (a request's, or a plugin's own
    TCP link such as the relay's SSH), or EgressRefused saying why (nothing is sent)."""
    scope = manifest.network.scope
    host = name.lower().rstrip(".")
    if scope == "none":
        raise EgressRefused(f"the {manifest.domain} plugin declares network scope 'none'")
    if scope == "internet":
        if not declares(manifest, host):
            raise EgressRefused(f"{host} is not listed in the {manifest.domain} manifest")
        if not host_listed(host, enabled.get(manifest.domain, frozenset())):
            raise EgressRefused(
                f"{host} is not enabled by the owner (hearth: egress: {manifest.domain})"
            )
    try:
        addresses = await resolve(host, port)
    except OSError as err:
        raise EgressFailed(f"cannot resolve {host}: {err}") from err
    if not addresses:
        raise EgressFailed(f"{host} has no address")
    if scope == "lan":
        outside = [a for a in addresses if not is_local_address(a)]
        if outside:
            raise EgressRefused(f"{host} is {outside[0]}, outside the home network")
    return Destination(host, tuple(addresses))
