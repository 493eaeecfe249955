"""The home's TLS server and the phone, run inside their namespaces by the relay tests.

`python -m tests.relay.peers home CERT KEY PORT` serves TLS on 127.0.0.1:PORT (the box's end of
the tunnel) after the PROXY v2 header the relay's HAProxy sends first (a connection without
one is closed, as a box does): each line it reads comes back as `home got: LINE (from ADDRESS)`,
ADDRESS being the phone's as the header said. Prints `ready` once it listens.

`python -m tests.relay.peers phone HOST PORT SNI MESSAGE [--hold] [--retry-for S]` connects to
the relay, TLS with that SNI (no verification: the test compares the certificate's SHA-256
itself), sends MESSAGE, prints one JSON line: the certificate's fingerprint and the reply. With
--hold it then waits for the far end to close and prints `{"closed": true}`.

`python -m tests.relay.peers get HOST PORT SNI PATH [--retry-for S]` fetches PATH over HTTPS
and prints the certificate's fingerprint, the status and the body.

`python -m tests.relay.peers hello HOST PORT SNI` sends only a ClientHello and prints how many
bytes came back before the connection closed.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import socket
import ssl
import threading
import time

from plugins.relay.proxy_header import FIXED, ProxyHeaderError, parse_proxy_header


def serve_home(cert: str, key: str, port: int) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", port))
    print("ready", flush=True)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=answer, args=(context, conn), daemon=True).start()


def read_proxy_header(conn: socket.socket) -> tuple[str, int] | None:
    """Read exactly the relay's PROXY v2 header off conn (not a byte of the TLS after it);
    the client it names. Raises ProxyHeaderError when there is none."""
    data = conn.recv(FIXED, socket.MSG_WAITALL)
    header = parse_proxy_header(data)
    if header is None and len(data) == FIXED:
        data += conn.recv(int.from_bytes(data[14:16], "big"), socket.MSG_WAITALL)
        header = parse_proxy_header(data)
    if header is None:
        raise ProxyHeaderError(f"the connection ended after {len(data)} bytes of header")
    return header.client


def answer(context: ssl.SSLContext, conn: socket.socket) -> None:
    try:
        client = read_proxy_header(conn)
        address = client[0] if client else "nobody"
        with context.wrap_socket(conn, server_side=True) as tls, tls.makefile("rwb") as stream:
            for line in stream:
                stream.write(f"home got: {line.decode().rstrip()} (from {address})\n".encode())
                stream.flush()
    except (OSError, ssl.SSLError, ProxyHeaderError):
        conn.close()


def client_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the test pins the home's certificate by fingerprint
    return context


def phone(host: str, port: int, sni: str, message: str, hold: bool, retry_for: float) -> None:
    deadline = time.monotonic() + retry_for
    while True:
        try:
            tls = client_context().wrap_socket(
                socket.create_connection((host, port), timeout=10), server_hostname=sni
            )
            break
        except (OSError, ssl.SSLError) as error:
            if time.monotonic() > deadline:
                print(json.dumps({"error": type(error).__name__}), flush=True)
                return
            time.sleep(0.2)
    der = tls.getpeercert(binary_form=True) or b""
    stream = tls.makefile("rwb")
    stream.write(message.encode() + b"\n")
    stream.flush()
    reply = stream.readline().decode()
    print(json.dumps({"sha256": hashlib.sha256(der).hexdigest(), "reply": reply}), flush=True)
    if hold:
        tls.settimeout(None)
        try:
            rest = stream.read()
        except (OSError, ssl.SSLError):
            rest = b""
        print(json.dumps({"closed": True, "more": len(rest)}), flush=True)


def get(host: str, port: int, sni: str, path: str, retry_for: float) -> None:
    """GET path over HTTPS with that SNI: the certificate's SHA-256, the status and the body."""
    deadline = time.monotonic() + retry_for
    while True:
        try:
            with client_context().wrap_socket(
                socket.create_connection((host, port), timeout=10), server_hostname=sni
            ) as tls:
                request = f"GET {path} HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n"
                tls.sendall(request.encode())
                answer = b""
                while chunk := tls.recv(65536):
                    answer += chunk
                der = tls.getpeercert(binary_form=True) or b""
            break
        except (OSError, ssl.SSLError) as error:
            if time.monotonic() > deadline:
                print(json.dumps({"error": type(error).__name__}), flush=True)
                return
            time.sleep(0.2)
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    sha = hashlib.sha256(der).hexdigest()
    print(json.dumps({"sha256": sha, "status": status, "body": body.decode()}), flush=True)


def hello(host: str, port: int, sni: str) -> None:
    """A ClientHello from an in-memory TLS client, then count what the relay sends back."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = client_context().wrap_bio(incoming, outgoing, server_hostname=sni)
    with contextlib.suppress(ssl.SSLWantReadError):
        tls.do_handshake()
    answered = 0
    with socket.create_connection((host, port), timeout=20) as conn:
        conn.sendall(outgoing.read())
        try:
            while chunk := conn.recv(65536):
                answered += len(chunk)
        except ConnectionResetError:
            pass
    print(json.dumps({"answered": answered}), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    home = sub.add_parser("home")
    home.add_argument("cert")
    home.add_argument("key")
    home.add_argument("port", type=int)
    for name in ("phone", "hello", "get"):
        each = sub.add_parser(name)
        each.add_argument("host")
        each.add_argument("port", type=int)
        each.add_argument("sni")
    sub.choices["phone"].add_argument("message")
    sub.choices["phone"].add_argument("--hold", action="store_true")
    sub.choices["phone"].add_argument("--retry-for", type=float, default=0)
    sub.choices["get"].add_argument("path")
    sub.choices["get"].add_argument("--retry-for", type=float, default=0)
    args = parser.parse_args()
    if args.role == "home":
        serve_home(args.cert, args.key, args.port)
    elif args.role == "get":
        get(args.host, args.port, args.sni, args.path, args.retry_for)
    elif args.role == "phone":
        phone(args.host, args.port, args.sni, args.message, args.hold, args.retry_for)
    else:
        hello(args.host, args.port, args.sni)


if __name__ == "__main__":
    main()
