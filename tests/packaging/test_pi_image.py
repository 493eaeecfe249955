"""The Pi image recipe and the stock-card path, checked without building an image (an hour and
gigabytes): every script parses, the cloud-init user-data is YAML, the units verify, and
prepare-sd hooks Hearth into each of a card's three first-run paths."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from core.configuration import load_configuration

ROOT = Path(__file__).resolve().parents[2]
PI = ROOT / "scripts" / "pi-image"
BASH_SCRIPTS = [
    PI / "build",
    PI / "imager" / "prepare-sd",
    PI / "imager" / "hearth-firstrun.sh",
    PI / "stage-hearth" / "prerun.sh",
    PI / "stage-hearth" / "EXPORT_IMAGE",
    *sorted((PI / "stage-hearth").glob("*/*.sh")),
    ROOT / "scripts" / "build-deb",
]
SH_SCRIPTS = [ROOT / "scripts" / "deb" / name for name in ("postinst", "prerm", "postrm")] + [
    ROOT / "scripts" / "deb" / "hearth-console-code"
]


@pytest.mark.parametrize("script", BASH_SCRIPTS + SH_SCRIPTS, ids=lambda p: p.name)
def test_every_script_parses(script: Path) -> None:
    shell = "sh" if script in SH_SCRIPTS else "bash"
    done = subprocess.run([shell, "-n", str(script)], capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")


def test_the_stage_has_its_pieces() -> None:
    stage = PI / "stage-hearth"
    assert (stage / "EXPORT_IMAGE").is_file()
    assert len(list(stage.glob("*/*-run.sh"))) == 2
    config = (PI / "config").read_text()
    assert "TARGET_HOSTNAME=hearth" in config and "ENABLE_SSH=0" in config
    assert 'STAGE_LIST="stage0 stage1 stage2 stage-hearth"' in config


def test_the_user_data_is_cloud_config_yaml() -> None:
    text = (PI / "imager" / "user-data").read_text()
    assert text.startswith("#cloud-config\n")
    data = yaml.safe_load(text)
    assert data["hostname"] == "hearth" and data["ssh_pwauth"] is False
    assert "apt-get install -y -q /boot/firmware/hearth-media.deb" in data["runcmd"][0][2]


def test_the_images_gpio_block_is_valid_configuration(tmp_path: Path) -> None:
    shipped = (ROOT / "config" / "configuration.yaml").read_text()
    gpio = (PI / "stage-hearth" / "00-install-hearth" / "files" / "gpio.yaml").read_text()
    folder = tmp_path / "config"
    folder.mkdir()
    (folder / "configuration.yaml").write_text(shipped + gpio)
    config = load_configuration(folder)
    assert "gpio" in config.plugins


@pytest.mark.parametrize(
    "unit",
    [
        PI / "imager" / "hearth-install.service",
        ROOT / "scripts" / "deb" / "hearth-console-code.service",
    ],
    ids=lambda p: p.name,
)
def test_the_units_verify(unit: Path, tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (scripts/test installs systemd as root)")
    text = unit.read_text()
    if "ExecStart=/usr/lib/hearth/" in text:  # the package's own script, not installed here
        text = text.replace("/usr/lib/hearth/hearth-console-code", "/bin/true")
    copy = tmp_path / unit.name
    copy.write_text(text)
    done = subprocess.run(["systemd-analyze", "verify", str(copy)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Unknown" not in done.stderr, done.stderr


def boot_partition(folder: Path, *files: tuple[str, str]) -> Path:
    folder.mkdir()
    (folder / "cmdline.txt").write_text("console=tty1 root=PARTUUID=1234-02 rootwait\n")
    for name, text in files:
        (folder / name).write_text(text)
    return folder


def prepare(boot: Path, tmp_path: Path) -> None:
    deb = tmp_path / "hearth-media_0.1.0_arm64.deb"
    deb.write_bytes(b"not really a package")
    for _ in range(2):  # twice: a second run changes nothing more
        done = subprocess.run(
            [str(PI / "imager" / "prepare-sd"), str(boot), str(deb)], capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
    assert (boot / "hearth-media.deb").read_bytes() == deb.read_bytes()


IMAGER_FIRSTRUN = """#!/bin/bash
set +e
CURRENT_HOSTNAME=`cat /etc/hostname | tr -d " \\t\\n\\r"`
rm -f /boot/firmware/firstrun.sh
sed -i 's| systemd.run.*||g' /boot/firmware/cmdline.txt
exit 0
"""


def test_prepare_sd_calls_hearth_from_imagers_firstrun(tmp_path: Path) -> None:
    boot = boot_partition(tmp_path / "boot", ("firstrun.sh", IMAGER_FIRSTRUN))
    prepare(boot, tmp_path)
    lines = (boot / "firstrun.sh").read_text().splitlines()
    call = lines.index('bash "$(dirname "$0")/hearth-firstrun.sh"')
    assert lines[call + 1] == "rm -f /boot/firmware/firstrun.sh"
    assert lines.count(lines[call]) == 1
    assert (boot / "hearth-firstrun.sh").is_file() and (boot / "hearth-install.service").is_file()
    assert (boot / "hearth-gpio.yaml").is_file()
    assert "hearth" not in (boot / "cmdline.txt").read_text()


def test_prepare_sd_adds_the_runcmd_to_imagers_user_data(tmp_path: Path) -> None:
    boot = boot_partition(
        tmp_path / "boot", ("user-data", "#cloud-config\nusers:\n  - name: ann\n")
    )
    done = subprocess.run(
        [str(PI / "imager" / "prepare-sd"), str(boot), str(tmp_path / "missing.deb")],
        capture_output=True,
        text=True,
    )
    assert done.returncode != 0  # no package: nothing is half-done on the card
    assert (boot / "user-data").read_text() == "#cloud-config\nusers:\n  - name: ann\n"
    deb = tmp_path / "hearth-media_0.1.0_arm64.deb"
    deb.write_bytes(b"not really a package")
    done = subprocess.run(
        [str(PI / "imager" / "prepare-sd"), str(boot), str(deb)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load((boot / "user-data").read_text())
    assert data["users"] == [{"name": "ann"}] and data["hostname"] == "hearth"
    assert "/boot/firmware/hearth-media.deb" in data["runcmd"][0][2]
    assert not (boot / "hearth-firstrun.sh").exists()


def test_prepare_sd_runs_hearth_alone_from_the_kernel_command_line(tmp_path: Path) -> None:
    boot = boot_partition(tmp_path / "boot")
    prepare(boot, tmp_path)
    cmdline = (boot / "cmdline.txt").read_text()
    assert cmdline.count("systemd.run=/boot/firmware/hearth-firstrun.sh") == 1
    assert cmdline.endswith("systemd.unit=kernel-command-line.target\n")
