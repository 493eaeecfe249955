"""The ACME client's side of RFC 8555 against a small CA on loopback, through a real egress gate:
every POST a JWS the CA can verify (the account's key first, its URL after), a rejected nonce
replaced and the request sent again, the challenge answered with `{}` while the validation
certificate is shown (and withdrawn after), the CA's problem documents said in words, and the
CA's own HTTPS trusted through the owner's bundle only. Pebble checks the same end to end in
tests/relay/test_acme.py."""

from __future__ import annotations

import datetime
import json
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from acme import jws
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from josepy.b64 import b64decode, b64encode
from josepy.jwk import JWK

from core.egress import EgressFailed, EgressGate
from core.manifest import read_manifest
from plugins.relay.acme_client import AcmeClient, AcmeError
from plugins.relay.acme_files import account_key_blocking, key_and_csr_blocking

NAME = "smith.relay.example.net"
CA = "ca.test"
RELAY = read_manifest(Path(__file__).resolve().parents[3] / "plugins" / "relay")


async def to_loopback(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


def _pair(subject: str, issuer: x509.Name | None, key: Any, signer: Any) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    if issuer is None:
        builder = builder.add_extension(x509.BasicConstraints(True, None), critical=True)
    else:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
        )
    return builder.sign(signer, hashes.SHA256())


def token(n: int) -> str:
    return f"token{n}".ljust(43, "x")  # base64url of 32 bytes, as a CA's tokens are


class FakeCa:
    """A CA that checks every JWS and notes each request: path, kid, url and payload."""

    def __init__(self) -> None:
        self.base = ""
        self.bundle = Path()
        self.seen: list[dict[str, Any]] = []
        self.account_key: JWK | None = None
        self.reject_nonces = 1  # the first order is answered badNonce
        self.answered = False
        self.problem: dict[str, Any] | None = None  # answer newOrder with this instead
        self._nonces = iter(range(1_000_000))

    def headers(self) -> dict[str, str]:
        return {"Replay-Nonce": f"nonce{next(self._nonces)}", "Cache-Control": "no-store"}

    async def directory(self, request: web.Request) -> web.Response:
        urls = {"newNonce": "/nonce", "newAccount": "/acct", "newOrder": "/order"}
        return web.json_response({k: f"{self.base}{v}" for k, v in urls.items()})

    async def nonce(self, request: web.Request) -> web.Response:
        return web.Response(headers=self.headers())

    async def post(self, request: web.Request) -> web.Response:
        signed = jws.JWS.json_loads(await request.read())
        header = signed.signature.combined
        key = header.jwk or self.account_key
        assert key is not None and signed.verify(key), "a JWS the CA cannot verify"
        self.account_key = header.jwk or self.account_key
        path = request.path
        self.seen.append({"path": path, "kid": header.kid, "payload": signed.payload})
        assert header.url == f"{self.base}{path}"
        if path == "/order" and self.reject_nonces:
            self.reject_nonces -= 1
            problem = {"type": "urn:ietf:params:acme:error:badNonce", "detail": "stale"}
            return web.json_response(problem, status=400, headers=self.headers())
        if path == "/order" and self.problem:
            return web.json_response(self.problem, status=403, headers=self.headers())
        return self.answer(path)

    def answer(self, path: str) -> web.Response:
        base, headers = self.base, self.headers()
        order = {
            "identifiers": [{"type": "dns", "value": NAME}],
            "status": "pending",
            "authorizations": [f"{base}/authz/1"],
            "finalize": f"{base}/finalize/1",
        }
        if path in ("/acct", "/order"):
            headers["Location"] = f"{base}{path}/1"
            return web.json_response(order, status=201, headers=headers)
        if path == "/authz/1":
            challenges = [
                {"type": kind, "url": f"{base}/chall/{n}", "token": token(n), "status": "pending"}
                for n, kind in enumerate(("http-01", "tls-alpn-01"))
            ]
            status = "valid" if self.answered else "pending"
            authz = {"identifier": order["identifiers"][0], "status": status}  # type: ignore[index]
            return web.json_response({**authz, "challenges": challenges}, headers=headers)
        if path == "/chall/1":
            self.answered = True
            return web.json_response(
                {"type": "tls-alpn-01", "status": "processing"}, headers=headers
            )
        if path in ("/finalize/1", "/order/1"):
            done = {**order, "status": "valid", "certificate": f"{base}/cert/1"}
            return web.json_response(done, headers=headers)
        if path == "/cert/1":
            chain = b"-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
            return web.Response(body=chain, headers=headers)
        raise web.HTTPNotFound()


def https_for(folder: Path) -> tuple[ssl.SSLContext, Path]:
    """The CA's own HTTPS: a server context for CA, and the bundle (its root) to trust."""
    root_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    root = _pair("Fake CA's HTTPS root", None, root_key, root_key)
    leaf = _pair(CA, root.subject, key, root_key)
    bundle = folder / "bundle.pem"
    bundle.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.pem").write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    (folder / "leaf.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "leaf.pem", folder / "leaf.key")
    return context, bundle


@pytest.fixture
async def ca(tmp_path: Path) -> AsyncIterator[FakeCa]:
    state = FakeCa()
    server_tls, state.bundle = https_for(tmp_path)
    app = web.Application()
    app.router.add_get("/dir", state.directory)
    app.router.add_route("HEAD", "/nonce", state.nonce)
    app.router.add_post("/{tail:.*}", state.post)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=server_tls)
    await site.start()
    state.base = f"https://{CA}:{runner.addresses[0][1]}"
    yield state
    await runner.cleanup()


@pytest.fixture
async def gate() -> AsyncIterator[EgressGate]:
    opened = EgressGate({"relay": (CA,)}, resolver=to_loopback)
    yield opened
    await opened.close()


class Responder:
    def __init__(self, ca: FakeCa) -> None:
        self.ca = ca
        self.calls: list[tuple[str, str, int]] = []  # what, key authorization, CA requests seen

    async def present(self, name: str, key_authorization: str) -> None:
        self.calls.append(("present", key_authorization, len(self.ca.seen)))

    async def withdraw(self, name: str) -> None:
        self.calls.append(("withdraw", name, len(self.ca.seen)))


def client_for(
    gate: EgressGate, ca: FakeCa, tmp_path: Path, trust: ssl.SSLContext | None
) -> AcmeClient:
    return AcmeClient(
        gate.for_plugin(RELAY),
        f"{ca.base}/dir",
        account_key_blocking(tmp_path / "acme"),
        trust=trust,
        email="owner@example.net",
        purpose="test",
    )


async def test_an_order_is_signed_retried_once_per_bad_nonce_and_answered_with_an_empty_object(
    ca: FakeCa, gate: EgressGate, tmp_path: Path
) -> None:
    client = client_for(gate, ca, tmp_path, ssl.create_default_context(cafile=str(ca.bundle)))
    _, csr = key_and_csr_blocking(NAME)
    responder = Responder(ca)

    chain = await client.issue(NAME, csr, responder)

    paths = [s["path"] for s in ca.seen]
    assert paths == ["/acct", "/order", "/order", "/authz/1", "/chall/1", "/authz/1",
                     "/finalize/1", "/order/1", "/cert/1"]  # fmt: skip
    account, *later = ca.seen
    assert account["kid"] is None and json.loads(account["payload"]) == {
        "contact": ["mailto:owner@example.net"],
        "termsOfServiceAgreed": True,
    }
    assert all(s["kid"] == f"{ca.base}/acct/1" for s in later)
    assert ca.seen[4]["payload"] == b"{}"  # the answer: an empty object, not an empty body
    assert ca.seen[3]["payload"] == b""  # POST-as-GET
    assert ca.seen[1]["payload"] == ca.seen[2]["payload"]  # the same order, a fresh nonce
    finalize = json.loads(ca.seen[6]["payload"])
    assert x509.load_der_x509_csr(b64decode(finalize["csr"])).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value.get_values_for_type(x509.DNSName) == [NAME]
    thumbprint = b64encode(client._key.public_key().thumbprint()).decode()
    assert responder.calls == [("present", f"{token(1)}.{thumbprint}", 4), ("withdraw", NAME, 6)]
    assert chain.startswith(b"-----BEGIN CERTIFICATE-----")


async def test_the_cas_problem_is_said_in_its_own_words(
    ca: FakeCa, gate: EgressGate, tmp_path: Path
) -> None:
    ca.reject_nonces = 0
    ca.problem = {
        "type": "urn:ietf:params:acme:error:rejectedIdentifier",
        "detail": "Error creating new order :: policy forbids issuing for name",
    }
    client = client_for(gate, ca, tmp_path, ssl.create_default_context(cafile=str(ca.bundle)))
    _, csr = key_and_csr_blocking(NAME)

    with pytest.raises(AcmeError) as raised:
        await client.issue(NAME, csr, Responder(ca))

    assert str(raised.value).startswith("the CA answered 403: ")
    assert "policy forbids issuing for name" in str(raised.value)


async def test_the_cas_https_is_trusted_only_through_the_owners_bundle(
    ca: FakeCa, gate: EgressGate, tmp_path: Path
) -> None:
    client = client_for(gate, ca, tmp_path, trust=None)  # the system's CAs: not this one
    _, csr = key_and_csr_blocking(NAME)

    with pytest.raises(EgressFailed, match="certificate verify failed"):
        await client.issue(NAME, csr, Responder(ca))

    assert ca.seen == []
