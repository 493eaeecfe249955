"""The relay's files: where they live, what they say, and the rules for names and keys.

Used by scripts/relay/{setup,run,enrol,revoke}. Standard library only: it runs on a bare VPS
without Hearth. It writes files (atomically, under a lock) and never starts, stops or talks
to a process; that is relay_live.py's job.

Two layouts:
- the system one (no --root): configuration in /etc/hearth-relay, sockets in /run/hearth-relay,
  boxes log in as the dedicated `hearth-relay` system user (no shell, password '*');
- `--root DIR`: every file under DIR (sockets in DIR/run), for tests and containers. sshd is
  then started by `run` as whoever runs it (root in tests) and admits that one user only
  (`AllowUsers`; root only by key); StrictModes is off because such a tree usually lives
  under a world-writable /tmp. The keys' own options confine a box exactly as in production.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import struct
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path

SYSTEM_ETC = Path("/etc/hearth-relay")
SYSTEM_RUN = Path("/run/hearth-relay")
SYSTEM_USER = "hearth-relay"
DEFAULT_PORTS = (20000, 29999)
LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
KEY_LINE = re.compile(
    r'restrict,port-forwarding,permitlisten="127\.0\.0\.1:(?P<port>\d+)" '
    r"(?P<key>ssh-ed25519 [A-Za-z0-9+/=]+) hearth:(?P<name>\S+)"
)


class RelayError(Exception):
    """A problem the operator can fix; its text is printed as is."""


@dataclass(frozen=True)
class Layout:
    """Where one relay's files are."""

    etc: Path
    run: Path
    system: bool

    @classmethod
    def of(cls, root: str | None) -> Layout:
        if root is None:
            return cls(SYSTEM_ETC, SYSTEM_RUN, system=True)
        base = Path(root).resolve()
        return cls(base, base / "run", system=False)

    @property
    def settings(self) -> Path:
        return self.etc / "relay.json"

    @property
    def host_key(self) -> Path:
        return self.etc / "ssh_host_ed25519_key"

    @property
    def sshd_config(self) -> Path:
        return self.etc / "sshd_config"

    @property
    def authorized_keys(self) -> Path:
        return self.etc / "authorized_keys"

    @property
    def haproxy_cfg(self) -> Path:
        return self.etc / "haproxy.cfg"

    @property
    def map_file(self) -> Path:
        return self.etc / "boxes.map"

    @property
    def lock_file(self) -> Path:
        return self.etc / ".lock"

    @property
    def haproxy_socket(self) -> Path:
        return self.run / "haproxy.sock"

    @property
    def sshd_pid(self) -> Path:
        return self.run / "sshd.pid"


@dataclass(frozen=True)
class Settings:
    """What setup was told; kept in relay.json so enrol and re-runs agree with it."""

    domain: str
    server: str
    user: str
    ssh_port: int = 2222
    https_port: int = 443
    first_port: int = DEFAULT_PORTS[0]
    last_port: int = DEFAULT_PORTS[1]
    next_port: int = DEFAULT_PORTS[0]


@dataclass(frozen=True)
class Box:
    """One enrolled box: its name, its loopback port on the relay, its public key."""

    name: str
    port: int
    key: str  # "ssh-ed25519 BASE64", without a comment

    def authorized_line(self) -> str:
        return (
            f'restrict,port-forwarding,permitlisten="127.0.0.1:{self.port}" '
            f"{self.key} hearth:{self.name}"
        )


def check_name(name: str) -> str:
    """A box name is one DNS label: lower-case letters, digits and inner hyphens."""
    if not LABEL.fullmatch(name):
        raise RelayError(
            f"the name {name!r} is not a DNS label: use 1 to 63 lower-case letters, digits "
            "and hyphens, not starting or ending with a hyphen"
        )
    return name


def check_domain(domain: str) -> str:
    domain = domain.rstrip(".")
    labels = domain.split(".")
    if len(labels) < 2 or len(domain) > 200 or not all(LABEL.fullmatch(x) for x in labels):
        raise RelayError(
            f"the domain {domain!r} is not a lower-case DNS name of at least two labels "
            "(for example relay.example.net)"
        )
    return domain


def check_key(text: str) -> str:
    """An OpenSSH ed25519 public key line -> "ssh-ed25519 BASE64" (its comment dropped)."""
    parts = text.strip().split()
    if len(parts) < 2 or parts[0] != "ssh-ed25519":
        found = parts[0] if parts else "nothing"
        raise RelayError(
            f"expected an ssh-ed25519 public key ('ssh-ed25519 AAAA...'), got {found!r}"
        )
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise RelayError("the ssh-ed25519 key is not valid base64") from None
    expected = struct.pack(">I", 11) + b"ssh-ed25519" + struct.pack(">I", 32)
    if len(blob) != len(expected) + 32 or not blob.startswith(expected):
        raise RelayError("the ssh-ed25519 key is damaged (its contents are not one ed25519 key)")
    return f"ssh-ed25519 {parts[1]}"


def fingerprint(key: str) -> str:
    """OpenSSH's SHA256 fingerprint of "TYPE BASE64 ..." (what `ssh-keygen -l` prints)."""
    digest = hashlib.sha256(base64.b64decode(key.split()[1])).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def load_settings(layout: Layout) -> Settings:
    try:
        data = json.loads(layout.settings.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RelayError(
            f"no relay is set up in {layout.etc}; run scripts/relay/setup first"
        ) from None
    return Settings(**data)


def save_settings(layout: Layout, settings: Settings) -> None:
    write_atomic(layout.settings, json.dumps(asdict(settings), indent=2) + "\n", 0o644)


def write_atomic(path: Path, text: str, mode: int) -> bool:
    """Replace path's contents in one step; False (and nothing written) when they are equal."""
    with contextlib.suppress(FileNotFoundError):
        if path.read_text(encoding="utf-8") == text and path.stat().st_mode & 0o777 == mode:
            return False
    temporary = path.with_name(f".{path.name}.new")
    with open(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode), "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.chmod(temporary, mode)  # the umask may have taken bits away
    os.replace(temporary, path)
    return True


@contextlib.contextmanager
def locked(layout: Layout) -> Iterator[None]:
    """One enrol, revoke or setup at a time: they read, change and rewrite the same files."""
    layout.etc.mkdir(parents=True, exist_ok=True)
    with open(layout.lock_file, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


# --- enrolments: authorized_keys is the record, the map is derived from it ----------------------


def read_boxes(layout: Layout) -> tuple[list[Box], list[str]]:
    """The enrolled boxes, and the other lines of authorized_keys (kept as they are)."""
    boxes: list[Box] = []
    other: list[str] = []
    with contextlib.suppress(FileNotFoundError):
        for line in layout.authorized_keys.read_text(encoding="utf-8").splitlines():
            match = KEY_LINE.fullmatch(line.strip())
            if match:
                boxes.append(Box(match["name"], int(match["port"]), match["key"]))
            else:
                other.append(line)
    return boxes, other


def write_boxes(layout: Layout, settings: Settings, boxes: list[Box], other: list[str]) -> None:
    """authorized_keys, then the map file (so a route never exists without its key)."""
    lines = [*other, *(box.authorized_line() for box in boxes)]
    write_atomic(layout.authorized_keys, "".join(f"{line}\n" for line in lines), 0o644)
    write_atomic(layout.map_file, render_map(settings, boxes), 0o644)


def hostname(settings: Settings, name: str) -> str:
    return f"{name}.{settings.domain}"


def route(port: int) -> str:
    return f"127.0.0.1:{port}"


def render_map(settings: Settings, boxes: list[Box]) -> str:
    head = "# SNI name -> the box's loopback port. Written by scripts/relay/enrol and revoke.\n"
    return head + "".join(f"{hostname(settings, b.name)} {route(b.port)}\n" for b in boxes)


def allocate_port(settings: Settings, boxes: list[Box], busy: set[int]) -> tuple[int, Settings]:
    """The next port of the range that no box has and nothing listens on.

    Ports go round the range instead of reusing the lowest free one, so a port a revoked box
    had is given again only after the whole range has been handed out.
    """
    taken = {box.port for box in boxes} | busy
    size = settings.last_port - settings.first_port + 1
    start = settings.next_port - settings.first_port
    for step in range(size):
        port = settings.first_port + (start + step) % size
        if port not in taken:
            following = settings.first_port + (port - settings.first_port + 1) % size
            return port, replace(settings, next_port=following)
    raise RelayError(
        f"all {size} ports {settings.first_port}-{settings.last_port} are taken; "
        "re-run setup with a larger --ports range"
    )


def relay_block(settings: Settings, box: Box, host_key: str) -> str:
    """The `relay:` block for the box's configuration.yaml (plugins/relay reads it)."""
    domain = "" if settings.domain == settings.server else f"  domain: {settings.domain}\n"
    return (
        "relay:\n"
        f"  server: {settings.server}\n"
        f"{domain}"
        f"  ssh_port: {settings.ssh_port}\n"
        f"  user: {settings.user}\n"
        f"  name: {box.name}  # https://{hostname(settings, box.name)}\n"
        f"  port: {box.port}  # the only relay port this box may listen on (127.0.0.1)\n"
        f'  host_key: "{host_key}"\n'
    )


def command_line(main: Callable[[list[str]], int]) -> None:
    """Run a script's main; a RelayError is one line on stderr and exit status 2."""
    try:
        code = main(sys.argv[1:])
    except RelayError as error:
        print(f"hearth-relay: {error}", file=sys.stderr)
        code = 2
    sys.exit(code)
