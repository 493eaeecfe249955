"""A provider plugin's requests: JSON answers (cached, paced) and pictures, through its gate.

Every request goes out through the plugin's own `ctx.http` (the egress gate, which checks the
host, records it in the ledger with its purpose and bytes, and never follows a redirect by
itself). A picture's redirect (the Cover Art Archive sends people on to archive.org) is
followed here, a few hops at most, each hop checked by the gate again; a hop the gate refuses
skips that picture (the ledger and the log name the host) rather than failing the provider.
Answers are translated into the enrichment's meanings: 200 is an answer, 404 is "nothing"
(None, or ImageMissing), and anything else is a ProviderFault, retried later. It never sends a
path, a user or an address of a client: only what the caller put in the URL and parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from yarl import URL

from core.egress import EgressRefused, EgressResponse, PluginEgress
from core.enrichment.surface import ImageMissing, ProviderFault, RateLimiter, ResponseCache

MAX_HOPS = 3
MAX_IMAGE = 8 * 1024 * 1024


class ProviderClient:
    """GETs for one provider: `limiter` paces them, `cache` keeps JSON answers."""

    def __init__(
        self,
        http: PluginEgress,
        *,
        cache: ResponseCache | None = None,
        limiter: RateLimiter | None = None,
        headers: Mapping[str, str] | None = None,
        time_limit: float = 15.0,
    ) -> None:
        self._http = http
        self._cache = cache
        self._limiter = limiter
        self._headers = dict(headers or {})
        self.time_limit = time_limit

    async def _get(
        self,
        url: str | URL,
        purpose: str,
        params: Mapping[str, str] | None,
        limit: int | None,
        paced: bool = True,
    ) -> EgressResponse:
        if paced and self._limiter is not None:
            await self._limiter.wait()
        options: dict[str, Any] = {"params": params, "headers": self._headers}
        if limit is not None:
            options["max_bytes"] = limit
        return await self._http.get(url, purpose=purpose, time_limit=self.time_limit, **options)

    async def get_json(
        self,
        url: str,
        purpose: str,
        params: Mapping[str, str] | None = None,
        cache_key: str | None = None,
    ) -> Any:
        """The parsed answer, or None when the provider has no such thing (404). `cache_key`
        (never holding a secret) keeps the answer for the cache's lifetime."""
        if cache_key is not None and self._cache is not None:
            cached = await self._cache.get(cache_key)
            if cached is not None:
                return cached.get("answer")
        response = await self._get(url, purpose, params, None)
        if response.status == 404:
            answer = None
        elif response.status != 200:
            raise ProviderFault(f"{URL(url).host} answered {response.status}")
        else:
            try:
                answer = response.json()
            except ValueError as err:
                raise ProviderFault(f"{URL(url).host} answered something that is not JSON") from err
        if cache_key is not None and self._cache is not None:
            await self._cache.put(cache_key, {"answer": answer})
        return answer

    async def get_image(self, url: str, purpose: str, paced: bool = False) -> bytes:
        """A picture's bytes, following up to MAX_HOPS redirects (each through the gate)."""
        target = URL(url)
        for hop in range(MAX_HOPS + 1):
            try:
                response = await self._get(target, purpose, None, MAX_IMAGE, paced)
            except EgressRefused as err:
                if hop == 0:
                    raise
                # a redirect to a host the manifest does not list (or the owner did not
                # enable): that picture is skipped, the provider is not at fault
                raise ImageMissing(f"redirected to {target.host}, which is refused: {err}") from err
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("Location") or response.headers.get("location")
                if not location:
                    raise ProviderFault(f"{target.host} redirected nowhere")
                target = target.join(URL(location))
                continue
            if response.status == 404:
                raise ImageMissing(f"{target.host} has no such picture")
            if response.status != 200:
                raise ProviderFault(f"{target.host} answered {response.status} for a picture")
            return response.body
        raise ProviderFault(f"more than {MAX_HOPS} redirects for a picture")
