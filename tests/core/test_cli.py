"""The `hearth` command as a person runs it: a real process, real signals, real HTTP."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core import __version__
from core.cli import main
from tests.conftest import StartServer, core_yaml, write_config
from tests.core.cli_helpers import wait_for_port

HEARTH = [sys.executable, "-m", "core"]


def test_run_serves_health_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data", mdns=True))
    process = subprocess.Popen(
        [*HEARTH, "run", "-c", str(folder)], stderr=subprocess.PIPE, text=True
    )
    try:
        port = wait_for_port(process)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=5) as reply:
            health = json.load(reply)
        assert health["version"] == __version__ and health["status"] == "ok"
        began = time.monotonic()
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
        took = time.monotonic() - began
    finally:
        if process.poll() is None:
            process.kill()
        rest = process.stderr.read() if process.stderr else ""
    assert code == 0, rest
    assert took < 5.0
    assert "Hearth stopped" in rest
    assert (tmp_path / "data" / "catalog.db").is_file()


def test_run_reports_a_taken_port_instead_of_a_traceback(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        folder = write_config(
            tmp_path / "config",
            f"hearth:\n  data_dir: {tmp_path / 'data'}\n  http: {{host: 127.0.0.1, port: {port}}}\n"
            "  network: {mdns: false}\n",
        )
        result = subprocess.run(
            [*HEARTH, "run", "-c", str(folder)], capture_output=True, text=True, timeout=30
        )
    assert result.returncode == 1
    assert "Cannot start" in result.stderr and "Traceback" not in result.stderr


def test_check_config_uses_hearth_config_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(tmp_path / "elsewhere", "hearth:\n  name: From env\n")
    monkeypatch.setenv("HEARTH_CONFIG", str(folder))
    assert main(["check-config"]) == 0
    assert "valid" in capsys.readouterr().out


def test_missing_configuration_is_explained(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check-config", "-c", str(tmp_path / "nowhere")]) == 1
    assert "No configuration.yaml" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["run", "check-config", "version"])
def test_every_command_has_help(command: str) -> None:
    result = subprocess.run([*HEARTH, command, "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    assert "--config" in result.stdout and "--log-level" in result.stdout


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == f"hearth {__version__}"


def test_hw_reports_verified_encoders_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = write_config(tmp_path / "config", core_yaml(tmp_path / "data"))
    assert main(["hw", "-c", str(folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) >= {"board", "health", "devices", "ffmpeg", "encoders", "software_only"}
    if report["ffmpeg"] is not None:
        names = {e["name"] for e in report["encoders"] if e["verified"]}
        assert "libx264" in names
    assert (tmp_path / "data" / "hardware.json").is_file()
    assert main(["hw", "-c", str(folder)]) == 0
    assert "Verdict:" in capsys.readouterr().out


async def test_health_shows_the_hardware_report_once_detected(start_server: StartServer) -> None:
    server = await start_server()
    report = await server.hub.machine.wait()
    health = await server.get_json("/api/health")
    assert health["hardware"]["state"] == "ready"  # type: ignore[index]
    assert health["hardware"]["software_only"] == report.software_only  # type: ignore[index]
