"""A phone (or the owner at home) for the relay tests, run inside a namespace as a process.

`python -m tests.plugins.relay.phone JSON` runs one scripted visit and prints its findings as
JSON. Through the relay it connects to the relay's loopback port with TLS, SNI and Host
`NAME.DOMAIN`, trusting only the box's certificate fingerprint (as a phone that pinned it
would); at home it talks plain HTTP to the box's loopback port. `source` in the spec makes
its connections from that address (two phones in one namespace). Steps:

- `get`: [path, token or null] -> status, content type, body (JSON or text)
- `post`: [path, token or null, json body] -> status, body
- `stream`: [path, token] -> size and SHA-256 of the whole body
- `two_streams`: [path, token, bytes] -> both opened, one cut after `bytes`, the other read
  whole: its size and SHA-256
- `until`: [path, token, dotted key, wanted value, seconds] -> the body once the key holds
  the value (polling every 0.2 s), or an error after the time
- `sign_ins`: [[source, username, password, patient], ...] -> [status, error code,
  Retry-After] of each sign-in, in order, each from its source address; a patient one told to
  wait (429) waits as told and tries again
- `raw`: [host, port, hex bytes, SNI or null] -> those bytes, then (with an SNI) a TLS
  ClientHello naming it; how many bytes came back before the connection closed
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import ssl
import sys
import time
from typing import Any

import aiohttp


class Visit:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.base: str = spec["base"]
        self.host: str | None = spec.get("host")
        self.source: str | None = spec.get("source")
        fingerprint = spec.get("fingerprint")
        self.ssl: Any = (
            aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))
            if fingerprint
            else None
        )

    def options(self, token: str | None) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        options: dict[str, Any] = {"headers": headers}
        if self.host:
            headers["Host"] = self.host
            options["server_hostname"] = self.host
            options["ssl"] = self.ssl
        return options


def _lookup(body: Any, key: str) -> Any:
    for part in key.split("."):
        if isinstance(body, list):
            body = next((b for b in body if b.get("domain") == part), None)
        elif isinstance(body, dict):
            body = body.get(part)
        if body is None:
            return None
    return body


async def _body(response: aiohttp.ClientResponse) -> Any:
    text = await response.text()
    try:
        return json.loads(text)
    except ValueError:
        return text


def session(visit: Visit, source: str | None = None) -> aiohttp.ClientSession:
    source = source or visit.source
    connector = aiohttp.TCPConnector(local_addr=(source, 0) if source else None)
    return aiohttp.ClientSession(base_url=visit.base, connector=connector)


async def run(step: str, args: list[Any], visit: Visit) -> dict[str, Any]:
    if step == "sign_ins":
        return {"answers": [await _sign_in(visit, *each) for each in args]}
    if step == "raw":
        return {"answered": await _raw(*args)}
    async with session(visit) as http:
        if step == "get":
            async with http.get(args[0], **visit.options(args[1])) as response:
                return {
                    "status": response.status,
                    "type": response.content_type,
                    "body": await _body(response),
                }
        if step == "post":
            async with http.post(args[0], json=args[2], **visit.options(args[1])) as response:
                return {"status": response.status, "body": await _body(response)}
        if step == "stream":
            digest, size = hashlib.sha256(), 0
            async with http.get(args[0], **visit.options(args[1])) as response:
                async for chunk in response.content.iter_chunked(1 << 16):
                    digest.update(chunk)
                    size += len(chunk)
                return {"status": response.status, "size": size, "sha256": digest.hexdigest()}
        if step == "two_streams":
            return await _two_streams(http, visit, args)
        if step == "until":
            path, token, key, wanted, seconds = args
            deadline = time.monotonic() + seconds
            while True:
                try:
                    async with http.get(path, **visit.options(token)) as response:
                        body = await _body(response)
                        if response.status == 200 and _lookup(body, key) == wanted:
                            return {"body": body}
                except aiohttp.ClientError as err:
                    body = str(err)
                if time.monotonic() > deadline:
                    return {"error": f"{key} never became {wanted!r}", "last": body}
                await asyncio.sleep(0.2)
    raise SystemExit(f"unknown step {step}")


async def _sign_in(
    visit: Visit, source: str, username: str, password: str, patient: bool
) -> list[Any]:
    async with session(visit, source) as http:
        while True:
            async with http.post(
                "/api/auth/login",
                json={"username": username, "password": password},
                **visit.options(None),
            ) as response:
                body = await _body(response)
                wait = response.headers.get("Retry-After")
            if not (patient and response.status == 429 and wait):
                code = body.get("error", {}).get("code", "") if isinstance(body, dict) else ""
                return [response.status, code, wait]
            await asyncio.sleep(int(wait))


async def _raw(host: str, port: int, data: str, sni: str | None) -> int:
    hello = b""
    if sni:  # from an in-memory TLS client: the bytes a phone's first packet carries
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        outgoing = ssl.MemoryBIO()
        tls = context.wrap_bio(ssl.MemoryBIO(), outgoing, server_hostname=sni)
        with contextlib.suppress(ssl.SSLWantReadError):
            tls.do_handshake()
        hello = outgoing.read()
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(bytes.fromhex(data) + hello)
    writer.write_eof()  # nothing more: the far end answers what it has, then closes
    try:
        answered = len(await reader.read())
    except ConnectionResetError:
        answered = 0
    writer.close()
    return answered


async def _two_streams(
    http: aiohttp.ClientSession, visit: Visit, args: list[Any]
) -> dict[str, Any]:
    path, token, cut_after = args
    kept = await http.get(path, **visit.options(token))
    # a second session: the cut stream's connection is its own, as two phones' would be
    async with session(visit) as other:
        cut = await other.get(path, **visit.options(token))
        digest, size = hashlib.sha256(), 0
        while size < cut_after:  # both are flowing when one is cut
            chunk = await kept.content.read(1 << 16)
            digest.update(chunk)
            size += len(chunk)
            await cut.content.read(1 << 16)
        cut.close()  # the phone goes away mid-stream: its connection is dropped
    async for chunk in kept.content.iter_chunked(1 << 16):
        digest.update(chunk)
        size += len(chunk)
    kept.release()
    return {"status": kept.status, "size": size, "sha256": digest.hexdigest()}


def main() -> None:
    spec = json.loads(sys.argv[1])
    result = asyncio.run(run(spec["step"], spec["args"], Visit(spec)))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
