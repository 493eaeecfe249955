"""The system's OpenSSH client as the box's relay link: its command line, and what it said.

Measured (bench/relay.py): asyncssh's pure-Python channel carried half of what a plain
`ssh -R` does, so the link is OpenSSH's `ssh` (C, its own process), supervised by link.py.
The command reads no ~/.ssh file, agent or system config (`-F /dev/null`, every option
given), trusts only the pinned host key (a known_hosts file of the plugin's own, under an
alias, so neither the name nor the port decide which key is expected), signs in with the
box's key only, never asks anything (BatchMode), opens no shell, terminal, agent or X11, and
exits if the relay will not listen for the box (ExitOnForwardFailure) or stops answering
(ServerAlive*). Its TCP connection is the one the box opened through its egress gate
(ProxyCommand fd_pass.py). It logs at DEBUG1, the only level at which ssh says the remote
forward was granted; SshReport reads that, the host key the relay showed, and its last words.
This module starts nothing itself.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shlex
import sys
from collections import deque
from pathlib import Path

from plugins.relay.config import RelayConfig

ALIAS = "hearth-relay"  # the name the pinned key is filed under in the plugin's known_hosts
FD_PASS = Path(__file__).with_name("fd_pass.py")
_FORWARDED = "remote forward success for: listen "
_SERVER_KEY = "Server host key: "
_RSA = "rsa-sha2-512,rsa-sha2-256"
# what ssh says at DEBUG1 without a "debug" prefix (its VERBOSE level) that is no error
_CHATTER = (
    "@@@",
    "Authenticated ",
    "Transferred: ",
    "Bytes per second: ",
    "Server accepts key",
    "Will attempt key",
    "Offering public key",
    "Authentications that can continue",
    "Executing proxy command",
    "Connection established",
    "Warning: Permanently added",
)  # an ssh-rsa key signs with these since OpenSSH 8.8


class RelayRefused(Exception):
    """The relay answered but this box may not use it (host key, box key, consent): said why."""


class LinkFailed(Exception):
    """The link could not be made or kept this time; worth trying again soon."""


def fingerprint(host_key: str) -> str:
    """`SHA256:…` of an OpenSSH public key line, as ssh and ssh-keygen print it."""
    blob = base64.b64decode(host_key.split()[1])
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def write_known_hosts_blocking(path: Path, host_key: str) -> None:
    """The plugin's known_hosts: the pinned key under ALIAS, and nothing else."""
    text = f"{ALIAS} {host_key}\n"
    if path.exists() and path.read_text() == text:
        return
    temporary = path.with_suffix(".new")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as file:
        file.write(text)
    os.replace(temporary, path)


def ssh_command(
    config: RelayConfig,
    *,
    key: Path,
    known_hosts: Path,
    target: Path,
    control: Path,
    ciphers: tuple[str, ...],
    keepalive: float,
    misses: int,
) -> list[str]:
    """`ssh -N -R 127.0.0.1:PORT:TARGET …`: the relay listens on the box's loopback port and
    every connection to it reaches the Unix socket `target`."""
    key_type = config.host_key.split()[0]
    proxy = " ".join(shlex.quote(str(part)) for part in (sys.executable, "-I", FD_PASS, control))
    options = {
        "BatchMode": "yes",
        "IdentitiesOnly": "yes",
        "IdentityAgent": "none",
        "IdentityFile": str(key),
        "PubkeyAuthentication": "yes",
        "PasswordAuthentication": "no",
        "KbdInteractiveAuthentication": "no",
        "GSSAPIAuthentication": "no",
        "HostbasedAuthentication": "no",
        "StrictHostKeyChecking": "yes",
        "UserKnownHostsFile": str(known_hosts),
        "GlobalKnownHostsFile": "/dev/null",
        "HostKeyAlias": ALIAS,
        "HostKeyAlgorithms": _RSA if key_type == "ssh-rsa" else key_type,
        "CheckHostIP": "no",
        "UpdateHostKeys": "no",
        "VerifyHostKeyDNS": "no",
        "Ciphers": ",".join(ciphers),
        "ExitOnForwardFailure": "yes",
        "ServerAliveInterval": f"{keepalive:.0f}",
        "ServerAliveCountMax": str(misses),
        "TCPKeepAlive": "no",  # ServerAlive* decides, through the relay's own answers
        "ForwardAgent": "no",
        "ForwardX11": "no",
        "RequestTTY": "no",
        "PermitLocalCommand": "no",
        "ProxyCommand": proxy.replace("%", "%%"),  # ssh expands %-tokens in it
        "ProxyUseFdpass": "yes",
        "LogLevel": "DEBUG1",
    }
    command = ["ssh", "-N", "-F", "/dev/null"]
    for name, value in options.items():
        command += ["-o", f"{name}={value}"]
    forward = f"127.0.0.1:{config.port}:{target}"
    return [*command, "-R", forward, "-p", str(config.ssh_port), "-l", config.user, config.server]


class SshReport:
    """What the running ssh said on its standard error, line by line."""

    def __init__(self) -> None:
        self.forwarded = False  # the relay listens for the box: the link is up
        self.offered: str | None = None  # the host key the relay showed (SHA256:…)
        self.said: deque[str] = deque(maxlen=6)  # its last lines that were not debug chatter

    def feed(self, line: str) -> bool:
        """Take one line; True when it says the remote forward was granted."""
        line = line.strip()
        if not line.startswith("debug"):
            if line and not line.startswith(_CHATTER):
                self.said.append(line)
            return False
        if _SERVER_KEY in line:
            self.offered = line.split(_SERVER_KEY, 1)[1].split()[-1]
        if _FORWARDED in line and not self.forwarded:
            self.forwarded = True
            return True
        return False

    def failure(
        self, status: int | None, pinned: str, box_key: str, port: int, where: str
    ) -> Exception:
        """Why ssh ended: RelayRefused when retrying soon would not help, else LinkFailed."""
        # through a ProxyCommand ssh knows no address: it says "UNKNOWN port 65535"
        said = [line.replace("UNKNOWN port 65535", where) for line in self.said]
        text = "\n".join(said)
        if "Host key verification failed" in text or "HOST IDENTIFICATION HAS CHANGED" in text:
            return RelayRefused(
                f"the relay showed host key {self.offered or '(unknown)'}, not the pinned "
                f"{pinned}; check relay: host_key with the relay's operator (a different key is "
                "never accepted)"
            )
        if "no matching host key type found" in text:
            return RelayRefused(
                f"the relay has no host key of the pinned key's type ({pinned}); check relay: "
                "host_key with the relay's operator"
            )
        if "Permission denied" in text:
            return RelayRefused(
                f"the relay does not accept this box's key {box_key}: ask its operator to "
                "enrol it (hearth relay key prints it)"
            )
        if "remote port forwarding failed" in text:
            # not refused for good: an older link of this box that the relay has not yet
            # seen die may still hold the port
            return LinkFailed(
                f"the relay did not listen on 127.0.0.1:{port} for this box (an older link may "
                "still hold it; else check relay: port against what enrol printed)"
            )
        if any("not responding" in line for line in said):
            return LinkFailed("the relay stopped answering (keepalives unanswered)")
        last = said[-1] if said else f"ssh exited with status {status}"
        return LinkFailed(f"the link ended: {last}")
