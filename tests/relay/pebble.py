"""Pebble (Let's Encrypt's test CA, Debian package `pebble`) beside the relay, for the ACME tests.

Runs in the relay namespace: `pebble-challtestsrv` (same package) answers every DNS A query with
the relay's public address, as `*.DOMAIN -> relay` would, and nothing else; Pebble uses it as
its DNS server and validates TLS-ALPN-01 on port 443 of the name, which is the relay's HAProxy.
Its directory listens on all of the relay's addresses with a certificate for `CA_NAME` made
here by a throwaway CA (the box trusts it through `relay: acme_ca:`); its own issuing root,
made anew at each start, is read from its management port for the phone. Nothing here reaches
outside the namespaces.
"""

from __future__ import annotations

import datetime
import hashlib
import http.client
import ipaddress
import json
import ssl
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.netns import NetNs
from tests.relay.topology import Topology

CA_NAME = "ca.hearth.test"  # the directory's host (the box lists it under hearth: egress)
DIRECTORY_PORT, MANAGEMENT_PORT, DNS_PORT = 14000, 15000, 8053
DIRECTORY = f"https://{CA_NAME}:{DIRECTORY_PORT}/dir"


def available() -> bool:
    return Path("/usr/bin/pebble").exists() and Path("/usr/bin/pebble-challtestsrv").exists()


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def https_certificate(folder: Path) -> tuple[Path, Path, Path]:
    """(CA bundle, certificate, key) for Pebble's own HTTPS listener: a throwaway CA signs a
    certificate for CA_NAME, localhost and 127.0.0.1."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Hearth test: Pebble's HTTPS")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    names: list[x509.GeneralName] = [x509.DNSName(CA_NAME), x509.DNSName("localhost")]
    names.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, CA_NAME)]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = folder / "pebble-https-ca.pem", folder / "pebble-https.pem", folder / "pebble-https.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(_key_pem(key))
    return paths


@dataclass
class Pebble:
    topology: Topology
    folder: Path
    ca_bundle: Path  # what the box trusts for the directory (relay: acme_ca)

    def root(self) -> bytes:
        """Pebble's issuing root (PEM), from its management port inside the relay namespace."""
        script = (
            "import ssl,sys,urllib.request;c=ssl.create_default_context(cafile=sys.argv[1]);"
            f"sys.stdout.buffer.write(urllib.request.urlopen('https://localhost:{MANAGEMENT_PORT}"
            "/roots/0',context=c,timeout=10).read())"
        )
        done = subprocess.run(
            [*self.topology.relay.prefix, "python3", "-c", script, str(self.ca_bundle)],
            capture_output=True,
            check=True,
            timeout=30,
        )
        return done.stdout


def start_pebble(
    topology: Topology, folder: Path, answer: str, validity_seconds: int | None = None
) -> Pebble:
    """challtestsrv (DNS: every name is `answer`) and Pebble in the relay namespace; returns
    once Pebble's directory answers there."""
    bundle, cert, key = https_certificate(folder)
    settings: dict[str, object] = {
        "listenAddress": f"0.0.0.0:{DIRECTORY_PORT}",
        "managementListenAddress": f"127.0.0.1:{MANAGEMENT_PORT}",
        "certificate": str(cert),
        "privateKey": str(key),
        "httpPort": 80,
        "tlsPort": 443,  # TLS-ALPN-01 where RFC 8737 says: 443 of the name, the relay's HAProxy
        "ocspResponderURL": "",
        "externalAccountBindingRequired": False,
    }
    if validity_seconds is not None:
        settings["certificateValidityPeriod"] = validity_seconds
    config = folder / "pebble-config.json"
    config.write_text(json.dumps({"pebble": settings}))
    relay: NetNs = topology.relay
    topology.start(
        relay,
        ["pebble-challtestsrv", "-defaultIPv4", answer, "-defaultIPv6", "",
         "-dns01", f"127.0.0.1:{DNS_PORT}", "-http01", "", "-https01", "", "-tlsalpn01", "",
         "-management", "127.0.0.1:8055"],
        log=folder / "challtestsrv.log",
    )  # fmt: skip
    pebble = topology.start(
        relay,
        ["env", "PEBBLE_VA_NOSLEEP=1", "pebble", "-config", str(config),
         "-dnsserver", f"127.0.0.1:{DNS_PORT}"],
        log=folder / "pebble.log",
    )  # fmt: skip
    probe = (
        "import ssl,sys,urllib.request;c=ssl.create_default_context(cafile=sys.argv[1]);"
        f"urllib.request.urlopen('https://localhost:{DIRECTORY_PORT}/dir',context=c,timeout=2)"
    )
    deadline = time.monotonic() + 20
    while True:
        done = subprocess.run(
            [*relay.prefix, "python3", "-c", probe, str(bundle)], capture_output=True, timeout=10
        )
        if done.returncode == 0:
            break
        assert pebble.poll() is None, (folder / "pebble.log").read_text()
        assert time.monotonic() < deadline, (folder / "pebble.log").read_text()
        time.sleep(0.1)
    return Pebble(topology, folder, bundle)


def fetch(host: str, path: str, root: str, token: str, retry_for: float) -> None:
    """Run in the phone namespace: GET https://HOST/PATH as a phone would, trusting only the
    PEM root `root` ("-" trusts nothing and reports the certificate unverified); prints one
    JSON line with the status, body, certificate SHA-256, serial and issuer, or the error."""
    context = (
        ssl.create_default_context(cafile=root)
        if root != "-"
        else ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    )
    if root == "-":
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    headers = {"Authorization": f"Bearer {token}"} if token != "-" else {}
    deadline = time.monotonic() + retry_for
    while True:
        connection = http.client.HTTPSConnection(host, 443, context=context, timeout=10)
        try:
            connection.request("GET", path, headers=headers)
            response = connection.getresponse()
            body = response.read().decode()
            assert connection.sock is not None
            der = connection.sock.getpeercert(binary_form=True) or b""
            break
        except (OSError, ssl.SSLError) as err:
            if time.monotonic() > deadline:
                print(json.dumps({"error": str(err)}), flush=True)
                return
            time.sleep(0.2)
        finally:
            connection.close()
    leaf = x509.load_der_x509_certificate(der)
    found = {
        "status": response.status,
        "body": body,
        "sha256": hashlib.sha256(der).hexdigest(),
        "serial": leaf.serial_number,
        "issuer": leaf.issuer.rfc4514_string(),
    }
    print(json.dumps(found), flush=True)


if __name__ == "__main__":
    fetch(sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], float(sys.argv[5]))
