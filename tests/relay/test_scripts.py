"""scripts/relay/{setup,enrol,revoke} on a --root tree, without starting anything: the files
they write, what they print, and the exact reasons they refuse. sshd -t and haproxy -c check
every configuration setup writes. Needs openssh-server and haproxy (scripts/test installs them).
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.relay.world import SCRIPTS, relay_block, script

MISSING = next(
    (f"{pkg} is not installed (scripts/test installs it)"
     for command, pkg in (("/usr/sbin/sshd", "openssh-server"), ("haproxy", "haproxy"))
     if not shutil.which(command)),
    None,
)  # fmt: skip
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))
DOMAIN = "relay.example.net"


def current_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def keypair(folder: Path, name: str) -> str:
    path = folder / name
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "a comment",
                    "-f", str(path)], check=True)  # fmt: skip
    return path.with_suffix(".pub").read_text().strip()


def set_up(root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    done = script("setup", "--root", str(root), *extra)
    assert done.returncode == 0, done.stderr
    return done


def enrol(root: Path, name: str, key: str) -> subprocess.CompletedProcess[str]:
    return script("enrol", "--root", str(root), "--", name, key)


def test_setup_prints_the_pinned_host_key_and_a_rerun_keeps_keys_and_enrolments(
    tmp_path: Path,
) -> None:
    root = tmp_path / "relay"
    first = set_up(root, "--domain", DOMAIN)
    host_key = " ".join((root / "ssh_host_ed25519_key.pub").read_text().split()[:2])
    listed = subprocess.run(
        ["ssh-keygen", "-lf", str(root / "ssh_host_ed25519_key.pub")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()[1]
    assert f"  host key fingerprint: {listed}\n" in first.stdout
    assert f"  host key: {host_key}\n" in first.stdout
    box = keypair(tmp_path, "box")
    assert enrol(root, "smith", box).returncode == 0
    kept = {name: (root / name).read_text() for name in ("authorized_keys", "boxes.map")}

    again = set_up(root, "--https-port", "8443")  # no --domain: the stored one

    assert f"  host key: {host_key}\n" in again.stdout
    assert "(1 boxes)" in again.stdout and "port 8443" in again.stdout
    assert {name: (root / name).read_text() for name in kept} == kept
    assert "    bind :8443\n" in (root / "haproxy.cfg").read_text()
    settings = json.loads((root / "relay.json").read_text())
    assert (settings["domain"], settings["https_port"], settings["ssh_port"]) == (
        DOMAIN,
        8443,
        2222,
    )
    config = (root / "sshd_config").read_text()
    for line in (
        "AllowTcpForwarding remote",
        "PermitTTY no",
        "X11Forwarding no",
        "AllowAgentForwarding no",
        "ForceCommand /bin/false",
        "GatewayPorts no",
        "PermitListen 127.0.0.1:*",
        "PasswordAuthentication no",
        "MaxSessions 0",
        "ClientAliveInterval 10",
        f"AuthorizedKeysFile {root / 'authorized_keys'}",
    ):
        assert f"\n{line}\n" in config  # fmt: skip


def test_setup_refuses_to_change_the_domain_under_enrolled_boxes(tmp_path: Path) -> None:
    root = tmp_path / "relay"
    set_up(root, "--domain", DOMAIN)
    other = script("setup", "--root", str(root), "--domain", "other.example.net")
    assert other.returncode == 2
    assert other.stderr == (
        "hearth-relay: this relay serves *.relay.example.net and its boxes' names end in it; "
        "revoke every box and delete relay.json before changing the domain\n"
    )
    first = script("setup", "--root", str(tmp_path / "new"))
    assert first.stderr == (
        "hearth-relay: --domain is required the first time (boxes become NAME.DOMAIN)\n"
    )


def test_enrol_writes_the_key_line_and_the_route_and_prints_the_relay_block(
    tmp_path: Path,
) -> None:
    root = tmp_path / "relay"
    set_up(root, "--domain", DOMAIN, "--ports", "30000-30009")
    key = keypair(tmp_path, "smith")
    bare = " ".join(key.split()[:2])
    host_key = " ".join((root / "ssh_host_ed25519_key.pub").read_text().split()[:2])

    done = enrol(root, "smith", key)
    keypair(tmp_path, "jones")
    second = enrol(root, "jones", str(tmp_path / "jones.pub"))  # a file holding the key
    again = enrol(root, "smith", key)

    assert done.returncode == 0, done.stderr
    assert relay_block(done.stdout) == {
        "server": DOMAIN, "ssh_port": "2222", "user": current_user(), "name": "smith",
        "port": "30000", "host_key": host_key,
    }  # fmt: skip
    assert "# smith.relay.example.net -> 127.0.0.1:30000 (routed once haproxy starts)" in (
        done.stdout
    )
    assert relay_block(second.stdout)["port"] == "30001"
    assert "  domain:" not in done.stdout  # names are under the server the box dials
    assert again.stdout == done.stdout  # the same name and key again: nothing changes
    lines = (root / "authorized_keys").read_text().splitlines()
    assert (
        lines[0] == f'restrict,port-forwarding,permitlisten="127.0.0.1:30000" {bare} hearth:smith'
    )
    assert (root / "boxes.map").read_text().splitlines()[1:] == [
        "smith.relay.example.net 127.0.0.1:30000",
        "jones.relay.example.net 127.0.0.1:30001",
    ]


def test_a_relay_dialled_by_another_name_tells_the_box_its_domain(tmp_path: Path) -> None:
    root = tmp_path / "relay"
    set_up(root, "--domain", DOMAIN, "--server", "vps7.example.org", "--ssh-port", "2200")
    block = relay_block(enrol(root, "smith", keypair(tmp_path, "smith")).stdout)
    assert (block["server"], block["domain"], block["ssh_port"]) == (
        "vps7.example.org",
        DOMAIN,
        "2200",
    )


@pytest.fixture(scope="module")
def one_relay(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A relay tree and a valid key, shared by tests that must leave the tree unchanged."""
    folder = tmp_path_factory.mktemp("relay")
    set_up(folder / "relay", "--domain", DOMAIN)
    return folder / "relay", keypair(folder, "box")


@pytest.mark.parametrize(
    ("name", "key", "reason"),
    [
        ("Smith", None, "the name 'Smith' is not a DNS label: use 1 to 63 lower-case letters, "
         "digits and hyphens, not starting or ending with a hyphen"),
        ("-smith", None, "the name '-smith' is not a DNS label"),
        ("a.b", None, "the name 'a.b' is not a DNS label"),
        ("x" * 64, None, f"the name '{'x' * 64}' is not a DNS label"),
        ("smith", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ", "expected an ssh-ed25519 public key "
         "('ssh-ed25519 AAAA...'), got 'ssh-rsa'"),
        ("smith", "ssh-ed25519 AAAA%%", "the ssh-ed25519 key is not valid base64"),
        ("smith", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA==",
         "the ssh-ed25519 key is damaged (its contents are not one ed25519 key)"),
        ("smith", 'from="*" ssh-ed25519 AAAA', "expected an ssh-ed25519 public key"),
    ],
)  # fmt: skip
def test_enrol_refuses_a_bad_name_or_key_and_says_why(
    one_relay: tuple[Path, str], name: str, key: str | None, reason: str
) -> None:
    root, good_key = one_relay
    done = enrol(root, name, key or good_key)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"hearth-relay: {reason}")
    assert (root / "authorized_keys").read_text() == ""


def test_a_key_has_one_name_and_a_name_one_key(tmp_path: Path) -> None:
    root = tmp_path / "relay"
    set_up(root, "--domain", DOMAIN)
    smith, jones = keypair(tmp_path, "smith"), keypair(tmp_path, "jones")
    assert enrol(root, "smith", smith).returncode == 0

    same_key = enrol(root, "jones", smith)
    same_name = enrol(root, "smith", jones)

    assert same_key.stderr == (
        "hearth-relay: this key is already enrolled as 'smith'; a key has one name\n"
    )
    assert same_name.stderr == (
        "hearth-relay: 'smith' is enrolled with another key; to give the name to this key, "
        "first run: scripts/relay/revoke smith\n"
    )
    assert len((root / "authorized_keys").read_text().splitlines()) == 1


def test_revoke_removes_key_and_route_and_the_port_is_not_handed_out_again_soon(
    tmp_path: Path,
) -> None:
    root = tmp_path / "relay"
    set_up(root, "--domain", DOMAIN)
    assert enrol(root, "smith", keypair(tmp_path, "smith")).returncode == 0
    operator_line = "# a line the operator wrote"
    with (root / "authorized_keys").open("a") as keys:
        keys.write(operator_line + "\n")

    done = script("revoke", "smith", "--root", str(root))
    unknown = script("revoke", "smith", "--root", str(root))
    later = enrol(root, "smith", keypair(tmp_path, "new"))

    assert done.stdout == (
        "hearth-relay: revoked smith.relay.example.net: key and route removed "
        "(haproxy is not running); ended 0 live tunnels\n"
    )
    assert unknown.returncode == 2
    assert unknown.stderr == "hearth-relay: no box named 'smith' is enrolled on this relay\n"
    assert relay_block(later.stdout)["port"] == "20001"  # 20000 was smith's old key's
    lines = (root / "authorized_keys").read_text().splitlines()
    assert lines[0] == operator_line and len(lines) == 2


@pytest.mark.parametrize("name", ["setup", "run", "enrol", "revoke"])
def test_every_script_explains_itself(name: str) -> None:
    done = subprocess.run([str(SCRIPTS / name), "--help"], capture_output=True, text=True)
    assert done.returncode == 0
    assert done.stdout.startswith(f"usage: scripts/relay/{name} ")
    assert "--root" in done.stdout
