"""Hearth never serves as root by accident: `hearth run` refuses with a sentence unless told
--allow-root, and scripts/run started as root runs the server as the `hearth` system user."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import cli
from core.cli import main
from tests.conftest import core_yaml, write_config
from tests.core.cli_helpers import wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def test_run_as_root_refuses_with_a_sentence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.delenv("HEARTH_ALLOW_ROOT", raising=False)
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))
    assert main(["run", "-c", str(folder)]) == 1
    assert capsys.readouterr().err == (
        "Hearth does not run as root: a server that answers the whole home network should not be "
        "able to change the whole box. Start it as an ordinary user (scripts/run does that for "
        "you, as the `hearth` user), or pass --allow-root if you really mean it.\n"
    )
    assert not (tmp_path / "data").exists()


def test_allow_root_serves_as_root_when_asked(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("only root can show that --allow-root lets root serve")
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))
    env = {k: v for k, v in os.environ.items() if k != "HEARTH_ALLOW_ROOT"}
    command = [sys.executable, "-m", "core", "run", "-c", str(folder)]
    refused = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60)
    assert refused.returncode == 1 and refused.stderr.startswith("Hearth does not run as root")
    process = subprocess.Popen(
        [*command, "--allow-root"], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        port = wait_for_port(process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as reply:
            assert json.load(reply)["status"] == "ok"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    assert cli.ROOT_REFUSAL not in (process.stderr.read() if process.stderr else "")


@pytest.fixture
def checkout() -> Iterator[Path]:
    """A checkout the `hearth` user may read (pytest's tmp_path is root's alone): scripts/,
    pyproject.toml and a .venv whose stamp says Hearth is installed (this checkout's)."""
    folder = Path(tempfile.mkdtemp(prefix="hearth-run-"))
    folder.chmod(0o755)
    try:
        shutil.copytree(ROOT / "scripts", folder / "scripts", symlinks=True)
        pyproject = (ROOT / "pyproject.toml").read_bytes()
        (folder / "pyproject.toml").write_bytes(pyproject)
        venv = folder / ".venv" / "bin"
        venv.mkdir(parents=True)
        (venv / "python").symlink_to(ROOT / ".venv" / "bin" / "python")
        (venv / "hearth").symlink_to(ROOT / ".venv" / "bin" / "hearth")
        stamp = f"{hashlib.sha256(pyproject).hexdigest()} .\n"
        (folder / ".venv" / ".hearth-installed").write_text(stamp)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_scripts_run_as_root_serves_as_the_hearth_user(checkout: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("scripts/run's root path (a system user, setpriv) needs root")
    if not (ROOT / ".venv" / "bin" / "hearth").exists():
        pytest.skip("needs this checkout's .venv (scripts/test makes it)")
    with socket.socket() as probe:  # a free port: scripts/run's config is a file, not port 0
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    write_config(
        checkout / "config",
        "hearth:\n  data_dir: ./data\n"
        f"  http: {{host: 127.0.0.1, port: {port}, https_port: 0}}\n"
        "  network: {interfaces: [127.0.0.1], mdns: false}\n",
    )
    env = {k: v for k, v in os.environ.items() if k not in ("HEARTH_ALLOW_ROOT", "HEARTH_CONFIG")}
    process = subprocess.Popen(
        [str(checkout / "scripts" / "run")], stderr=subprocess.PIPE, text=True, env=env
    )
    said: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:  # what scripts/run says, up to the server's first word
            said.append(line)
            if "serving on port" in line:
                break
        assert f"serving on port {port}" in said[-1], said
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=10) as reply:
            health = json.load(reply)
            assert health["status"] == "ok", (health, said)
        hearth = pwd.getpwnam("hearth")
        assert Path(f"/proc/{process.pid}").stat().st_uid == hearth.pw_uid
        assert (checkout / "data").stat().st_uid == hearth.pw_uid
        assert (checkout / "data" / "catalog.db").stat().st_uid == hearth.pw_uid
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    first = next(line for line in said if line.startswith("hearth: started as root"))
    assert first.startswith("hearth: started as root: the server runs as the unprivileged user")
    assert first.rstrip().endswith("which owns ./data")
    assert process.returncode == 0, said
