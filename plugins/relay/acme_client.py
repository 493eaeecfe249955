"""An ACME (RFC 8555) client over the egress gate: account, order, TLS-ALPN-01, finalize, download.

The messages are PyPI `acme`'s and every POST is signed by its JWS (`acme.jws.JWS` with a
josepy key): nothing here writes a JSON Web Signature by hand. `acme`'s own client is not used:
it sends through `requests`, past the egress gate, and its `answer_challenge` wants an "up"
Link header that Pebble does not send. Every request goes through the plugin's egress
(`ctx.http`), so only hosts the owner enabled are reached and the ledger shows each one; a CA
bundle the owner named (`acme_ca`, a test CA) is trusted for these requests instead of the
system's. A nonce the CA rejects (`badNonce`) is replaced and the request sent again. It never
writes a file, never keeps the account key anywhere but in memory, and answers a challenge
only through the `Responder` it is given (the box's HTTPS server shows the certificate).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ssl
import time
from collections.abc import Mapping
from typing import Protocol, TypeVar

from acme import jws, messages
from cryptography import x509
from josepy.b64 import b64decode, b64encode
from josepy.errors import DeserializationError
from josepy.jwa import ES256
from josepy.jwk import JWKEC

from core.plugin_api import EgressResponse, PluginEgress
from plugins.relay.acme_errors import AcmeError

__all__ = ["AcmeClient", "AcmeError", "Responder"]

M = TypeVar("M", messages.Directory, messages.Order, messages.Authorization)
TLS_ALPN_01 = "tls-alpn-01"
JOSE_JSON = "application/jose+json"
PEM_CHAIN = "application/pem-certificate-chain"
NONCE_RETRIES = 5  # Pebble rejects 5% of good nonces on purpose; a CA may say badNonce any time
POLL_FIRST, POLL_MAX = 1.0, 10.0
ORDER_SECONDS = 180.0  # a validation and an issuance, each polled, end well within this


class Responder(Protocol):
    """Shows the TLS-ALPN-01 validation certificate while the CA checks (certificate.py)."""

    async def present(self, name: str, key_authorization: str) -> None: ...

    async def withdraw(self, name: str) -> None: ...


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    return next((v for k, v in headers.items() if k.lower() == wanted), None)


def _problem(response: EgressResponse) -> messages.Error | None:
    try:
        problem: messages.Error = messages.Error.from_json(response.json())
    except (ValueError, DeserializationError):
        return None
    return problem


def _parse(kind: type[M], response: EgressResponse) -> M:
    """The CA's answer as an `acme` message; AcmeError (not a crash) when it is not one."""
    try:
        parsed: M = kind.from_json(response.json())
    except (ValueError, DeserializationError) as err:
        raise AcmeError(
            f"the CA's answer from {response.url} is not an ACME {kind.__name__}: {err}"
        ) from err
    return parsed


def _retry_after(response: EgressResponse, default: float) -> float:
    """Seconds to wait as the CA asks (Retry-After: seconds or a date), kept within reason."""
    value = _header(response.headers, "Retry-After")
    seconds = default
    if value is not None and value.strip().isdigit():
        seconds = float(value.strip())
    elif value is not None:
        with contextlib.suppress(TypeError, ValueError):
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
    return min(max(seconds, POLL_FIRST), POLL_MAX)


class AcmeClient:
    """One CA's directory, one account key: `issue` gets a certificate for one name."""

    def __init__(
        self,
        egress: PluginEgress,
        directory_url: str,
        account_key: JWKEC,
        *,
        trust: ssl.SSLContext | None,
        email: str | None,
        purpose: str,
    ) -> None:
        self._egress = egress
        self._directory_url = directory_url
        self._key = account_key
        self._trust = trust
        self._email = email
        self._purpose = purpose
        self._directory: messages.Directory | None = None
        self._nonces: list[bytes] = []
        self._account: str | None = None  # the account URL: the `kid` of every later request

    # --- transport ---------------------------------------------------------------------------

    async def _send(
        self, method: str, url: str, data: bytes | None = None, accept: str | None = None
    ) -> EgressResponse:
        headers = {"Content-Type": JOSE_JSON} if data is not None else {}
        if accept:
            headers["Accept"] = accept
        response = await self._egress.request(
            method, url, purpose=self._purpose, headers=headers, data=data, tls=self._trust
        )
        nonce = _header(response.headers, "Replay-Nonce")
        # a nonce that cannot be decoded cannot be used: a fresh one is asked for instead
        with contextlib.suppress(ValueError, DeserializationError):
            if nonce:
                self._nonces.append(b64decode(nonce))
        return response

    async def _get_directory(self) -> messages.Directory:
        if self._directory is None:
            response = await self._send("GET", self._directory_url)
            if response.status != 200:
                raise AcmeError(
                    f"the ACME directory {self._directory_url} answered {response.status}"
                )
            self._directory = _parse(messages.Directory, response)
        return self._directory

    async def _nonce(self) -> bytes:
        if not self._nonces:
            directory = await self._get_directory()
            await self._send("HEAD", directory["newNonce"])
            if not self._nonces:
                raise AcmeError("the CA gave no Replay-Nonce")
        return self._nonces.pop()

    async def _post(
        self, url: str, payload: bytes, accept: str | None = None, *, new_account: bool = False
    ) -> EgressResponse:
        """POST `payload` signed with the account key (b"" is POST-as-GET); raises AcmeError
        with the CA's problem when it answers 4xx or 5xx."""
        for _ in range(NONCE_RETRIES):
            kid = None if new_account else self._account
            signed = jws.JWS.sign(
                payload, key=self._key, alg=ES256, nonce=await self._nonce(), url=url, kid=kid
            )
            response = await self._send("POST", url, signed.json_dumps().encode(), accept)
            if response.status < 400:
                return response
            problem = _problem(response)
            if problem is None or problem.code != "badNonce":
                detail = str(problem) if problem else response.text()[:200]
                raise AcmeError(f"the CA answered {response.status}: {detail}")
        raise AcmeError(f"the CA rejected {NONCE_RETRIES} nonces in a row")

    async def _fetch(self, url: str) -> EgressResponse:
        return await self._post(url, b"")

    # --- the flow ----------------------------------------------------------------------------

    async def account(self) -> str:
        """Make the account, or find the one this key already has (the CA answers 200)."""
        if self._account is None:
            directory = await self._get_directory()
            registration = messages.NewRegistration.from_data(
                email=self._email, terms_of_service_agreed=True
            )
            response = await self._post(
                directory["newAccount"], registration.json_dumps().encode(), new_account=True
            )
            location = _header(response.headers, "Location")
            if not location:
                raise AcmeError("the CA made the account but did not say where it is")
            self._account = location
        return self._account

    def key_authorization(self, token: str) -> str:
        thumbprint = b64encode(self._key.public_key().thumbprint()).decode("ascii")
        return f"{token}.{thumbprint}"

    async def issue(self, name: str, csr_pem: bytes, responder: Responder) -> bytes:
        """Order a certificate for `name`, prove the name by TLS-ALPN-01 through `responder`,
        finalize with the CSR and return the PEM chain the CA issued."""
        async with asyncio.timeout(ORDER_SECONDS):
            await self.account()
            directory = await self._get_directory()
            identifier = messages.Identifier(typ=messages.IDENTIFIER_FQDN, value=name)
            response = await self._post(
                directory["newOrder"],
                messages.NewOrder(identifiers=(identifier,)).json_dumps().encode(),
            )
            order_url = _header(response.headers, "Location")
            order = _parse(messages.Order, response)
            if not order_url:
                raise AcmeError("the CA made the order but did not say where it is")
            for url in order.authorizations:
                await self._authorize(name, url, responder)
            return await self._finalize(order_url, order, csr_pem)

    async def _authorize(self, name: str, url: str, responder: Responder) -> None:
        authorization = _parse(messages.Authorization, await self._fetch(url))
        if authorization.status == messages.STATUS_VALID:
            return  # the CA remembers an earlier proof for this account
        challenge = next(
            (c for c in authorization.challenges if c.chall.to_partial_json().get("type")
             == TLS_ALPN_01),
            None,
        )  # fmt: skip
        if challenge is None:
            raise AcmeError(f"the CA offers no {TLS_ALPN_01} challenge for {name}")
        token = challenge.chall.to_partial_json().get("token", "")
        await responder.present(name, self.key_authorization(token))
        try:
            await self._post(challenge.uri, b"{}")  # "ready": an empty object, never empty
            while True:
                response = await self._fetch(url)
                authorization = _parse(messages.Authorization, response)
                if authorization.status != messages.STATUS_PENDING:
                    break
                await asyncio.sleep(_retry_after(response, POLL_FIRST))
        finally:
            await responder.withdraw(name)
        if authorization.status != messages.STATUS_VALID:
            errors = [str(c.error) for c in authorization.challenges if c.error is not None]
            why = errors[0] if errors else f"the authorization is {authorization.status}"
            raise AcmeError(f"the CA could not validate {name}: {why}")

    async def _finalize(self, order_url: str, order: messages.Order, csr_pem: bytes) -> bytes:
        csr = x509.load_pem_x509_csr(csr_pem)
        request = messages.CertificateRequest(csr=csr).json_dumps().encode()
        await self._post(order.finalize, request)
        while True:
            response = await self._fetch(order_url)
            order = _parse(messages.Order, response)
            if order.status == messages.STATUS_VALID and order.certificate:
                break
            if order.status == messages.STATUS_INVALID:
                raise AcmeError(f"the CA did not issue the certificate: {order.error}")
            await asyncio.sleep(_retry_after(response, POLL_FIRST))
        chain = await self._post(order.certificate, b"", PEM_CHAIN)  # POST-as-GET
        if b"-----BEGIN CERTIFICATE-----" not in chain.body:
            raise AcmeError("the CA's certificate download is not a PEM chain")
        return chain.body
