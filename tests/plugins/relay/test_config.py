"""The `relay:` block: what enrol prints is accepted; mistakes get one exact line each; the
relay must also be enabled under `hearth: egress:`; and the box's key is made once, 0600."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from core.cli import main
from plugins.relay import CONFIG_SCHEMA
from plugins.relay.config import RelayConfig
from plugins.relay.link import WITH_AES, WITHOUT_AES, cipher_order_blocking
from tests.conftest import write_config

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIAxNrYJljpUxyPAtUvgLajB7cUPAKR2RzlbWF1TPVmvR"
BLOCK = {"server": "Relay.Example.Net", "name": "Smith", "host_key": f"{KEY} root@relay"}


def test_the_block_enrol_prints_becomes_the_public_name_and_url() -> None:
    config = CONFIG_SCHEMA({**BLOCK, "ssh_port": 2222, "port": 20001, "max_mbps": 8})
    assert config == RelayConfig(
        "relay.example.net", 2222, "smith", KEY, 20001, "hearth-relay", 8, None
    )
    assert config.public_url == "https://smith.relay.example.net"
    assert config.max_bitrate == 8_000_000
    assert CONFIG_SCHEMA({**BLOCK, "port": 20001}).max_bitrate is None
    elsewhere = CONFIG_SCHEMA({**BLOCK, "port": 20001, "domain": "Homes.Example.Net"})
    assert elsewhere.public_url == "https://smith.homes.example.net"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "  name: smith.jones\n",
            "relay -> name: expected one DNS label such as smith (letters, digits, hyphens), "
            "got 'smith.jones'",
        ),
        (
            "  host_key: SHA256:M1KBPvZPl7mcHrRh72\n",
            "relay -> host_key: expected the relay's SSH host key, such as "
            "'ssh-ed25519 AAAAC3Nz…', got 'SHA256:M1KBPvZPl7mcHrRh72'",
        ),
        (
            f"  host_key: ssh-rsa {KEY.split()[1]}\n",
            "relay -> host_key: expected the relay's SSH host key, such as "
            "'ssh-ed25519 AAAAC3Nz…'; this one's data is not a ssh-rsa key, got "
            f"'ssh-rsa {KEY.split()[1][:48]}...",  # long values are shortened
        ),
        (
            "  max_mbps: 0\n",
            "relay -> max_mbps: expected a number of Mbit/s from 0.1 to 10000, got 0",
        ),
    ],
)
def test_mistakes_are_reported_on_their_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, expected: str
) -> None:
    good = {"server": "relay.example.net", "name": "smith", "host_key": KEY, "port": "20001"}
    key = line.split(":", maxsplit=1)[0].strip()
    lines = [f"  {k}: {v}\n" for k, v in good.items() if k != key] + [line]
    folder = write_config(tmp_path, "hearth:\n  name: Home\nrelay:\n" + "".join(lines))
    assert main(["check-config", "-c", str(folder)]) != 0
    line_number = 7 if key in good else 8
    assert capsys.readouterr().err.splitlines() == [f"configuration.yaml:{line_number}: {expected}"]


def test_the_port_enrol_allocated_is_required(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(
        tmp_path, f"relay:\n  server: relay.example.net\n  name: smith\n  host_key: {KEY}\n"
    )
    assert main(["check-config", "-c", str(folder)]) != 0
    assert capsys.readouterr().err == "configuration.yaml:2: relay: 'port' is required\n"


def test_the_box_key_is_made_once_private_and_printed_the_same_every_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(tmp_path / "config", f"hearth:\n  data_dir: {tmp_path / 'data'}\n")
    assert main(["relay", "key", "-c", str(folder)]) == 0
    first = capsys.readouterr()
    key_file = tmp_path / "data" / "ssh" / "id_ed25519"
    made = key_file.stat()
    assert main(["relay", "key", "-c", str(folder)]) == 0
    second = capsys.readouterr()
    assert first.out == second.out
    [line] = first.out.splitlines()
    kind, data, comment = line.split()
    assert kind == "ssh-ed25519" and data.startswith("AAAAC3NzaC1lZDI1NTE5") and comment
    assert "scripts/relay/enrol NAME" in first.err and "SHA256:" in first.err
    assert stat.S_IMODE(made.st_mode) == 0o600
    assert key_file.stat().st_ino == made.st_ino and key_file.stat().st_mtime == made.st_mtime
    assert not [p for p in key_file.parent.iterdir() if p != key_file]  # no temporary left
    assert key_file.read_bytes().startswith(b"-----BEGIN OPENSSH PRIVATE KEY-----")
    assert os.stat(key_file.parent).st_mode & 0o077 == 0


def test_status_without_a_relay_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = write_config(tmp_path / "config", f"hearth:\n  data_dir: {tmp_path / 'data'}\n")
    assert main(["relay", "status", "-c", str(folder)]) == 1
    assert capsys.readouterr().err == (
        "No relay is configured (a relay: block in configuration.yaml).\n"
    )


@pytest.mark.parametrize(
    ("cpuinfo", "order"),
    [
        ("processor\t: 0\nflags\t\t: fpu sse2 aes avx2\n", WITH_AES),  # x86 with AES-NI
        ("processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32\n", WITH_AES),
        ("processor\t: 0\nFeatures\t: fp asimd evtstrm crc32 cpuid\n", WITHOUT_AES),  # a Pi 4
    ],
)
def test_the_cheapest_cipher_for_the_cpu_is_offered_first(
    tmp_path: Path, cpuinfo: str, order: tuple[str, ...]
) -> None:
    (tmp_path / "cpuinfo").write_text(cpuinfo)
    assert cipher_order_blocking(tmp_path / "cpuinfo") == order
    assert cipher_order_blocking(tmp_path / "missing") == WITHOUT_AES
