"""hearth-media.deb: built by scripts/build-deb, installed with apt into a fresh Debian 12 root.

One test follows the package's whole life in one root, as a box would: install (user, groups,
data folder, /usr/bin/hearth, a unit that systemd-analyze accepts with every hardening key),
the unit's own ExecStart serving /api/health as `hearth` inside a network namespace, a failed
upgrade that leaves the running version alone, a restart that writes nothing to the data
folder (the SD card), a good upgrade that keeps the data, remove (data kept) and purge (gone).
Slow (a package build and a virtualenv per install): these tests run on one pytest-xdist
worker while the rest of the suite runs on the others.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import netns
from tests.packaging import debian_root, package
from tests.packaging.debian_root import DebianRoot
from tests.test_idle_writes import snapshot

pytestmark = [pytest.mark.slow]

HARDENING = {
    "User": "hearth",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/hearth",
    "CapabilityBoundingSet": "",
    "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6 AF_NETLINK",
    "Restart": "on-failure",
    "RuntimeDirectory": "hearth",
    "StandardOutput": "journal",
    "StandardError": "journal",
    "IOSchedulingClass": "best-effort",
}
UNIT = "/lib/systemd/system/hearth.service"


def _skip_reason() -> str | None:
    return debian_root.unavailable_reason() or netns.unavailable_reason()


class Served:
    """The unit's ExecStart, run as its User inside a network namespace, in the root."""

    def __init__(self, root: DebianRoot, ns: netns.NetNs) -> None:
        self.ns = ns
        unit = package.unit_settings(root.file(UNIT).read_text())
        user = unit["User"]
        ids = root.run("id", "-u", user).stdout.strip(), root.run("id", "-g", user).stdout.strip()
        runtime = root.file(f"/run/{unit['RuntimeDirectory']}")
        runtime.mkdir(parents=True, exist_ok=True)
        # what RuntimeDirectory= gives the service: its own tmpfs folder
        subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size=64m,mode=0700,uid={ids[0]},gid={ids[1]}",
             "tmpfs", str(runtime)],
            check=True,
        )  # fmt: skip
        command = f"cd {unit['WorkingDirectory']} && exec {unit['ExecStart']}"
        self.process = subprocess.Popen(
            [*ns.prefix, "chroot", str(root.path), "setpriv", f"--reuid={user}",
             f"--regid={user}", "--init-groups", "--no-new-privs", "--bounding-set=-all",
             "--inh-caps=-all", "env", "-i", "PATH=/usr/bin:/bin",
             f"RUNTIME_DIRECTORY=/run/{unit['RuntimeDirectory']}", "PYTHONUNBUFFERED=1",
             "sh", "-c", command],
            stderr=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        self.log: list[str] = []
        self.ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ready.wait(120)
        assert self.ready.is_set(), "\n".join(self.log[-30:])

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.log.append(line.rstrip())
            if "serving on port" in line:
                self.ready.set()
        self.ready.set()  # ended: the assertion after wait() reports the log

    def health(self) -> dict[str, object]:
        fetch = "import urllib.request;print(urllib.request.urlopen('http://127.0.0.1:8440/api/health').read().decode())"
        done = subprocess.run(
            [*self.ns.prefix, sys.executable, "-c", fetch],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr + "\n".join(self.log[-30:])
        answer: dict[str, object] = json.loads(done.stdout)
        return answer

    def uid(self) -> int:
        return Path(f"/proc/{self.process.pid}").stat().st_uid

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        self._reader.join(10)


def apt_install(
    root: DebianRoot, deb: Path, check: bool = True
) -> subprocess.CompletedProcess[str]:
    inside = root.file(f"/tmp/{deb.name}")
    inside.write_bytes(deb.read_bytes())
    return root.run(
        "apt-get", "install", "-y", "-q", "--no-install-recommends", f"/tmp/{deb.name}", check=check
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def root(tmp_path: Path) -> Iterator[DebianRoot]:
    reason = _skip_reason()
    if reason is not None:
        pytest.skip(reason)
    with debian_root.fresh_root(tmp_path / "chroot") as made:
        yield made


def check_installed(root: DebianRoot) -> None:
    """The user and its groups, the command, the data folder, the configuration, the rule."""
    groups = root.run("id", "-nG", "hearth").stdout.split()
    assert {"hearth", "video", "plugdev"} <= set(groups)
    assert root.run("/usr/bin/hearth", "version").stdout == "hearth 0.1.0\n"
    assert root.run("runuser", "-u", "hearth", "--", "hearth", "version").returncode == 0
    assert root.run("stat", "-c", "%U %a", "/var/lib/hearth").stdout == "hearth 750\n"
    config = root.file("/etc/hearth/configuration.yaml").read_text()
    assert "data_dir: /var/lib/hearth" in config and "/srv/media/Movies" in config
    assert root.file("/etc/udev/rules.d/99-hearth-usb.rules").is_file()
    wants = root.file("/etc/systemd/system/multi-user.target.wants")
    assert (wants / "hearth.service").is_symlink()
    assert (wants / "hearth-console-code.service").is_symlink()  # the setup code on screen


def check_unit(root: DebianRoot) -> None:
    """systemd-analyze accepts the unit (its ExecStart exists) and every hardening key is set."""
    for path in (UNIT, "/lib/systemd/system/hearth-console-code.service"):
        verified = root.run("systemd-analyze", "verify", path, check=False)
        assert (verified.returncode, verified.stderr) == (0, "")
    unit = package.unit_settings(root.file(UNIT).read_text())
    assert {key: unit.get(key) for key in HARDENING} == HARDENING
    # systemd's own measure of what the service could do if it were taken over (10 = anything)
    security = root.run("systemd-analyze", "security", "--offline=yes", UNIT).stdout
    exposure = re.search(r"Overall exposure level for hearth.service: ([0-9.]+)", security)
    assert exposure is not None and float(exposure[1]) <= 2.0, security[-2000:]
    for key in ("MemoryMax", "Nice"):
        assert unit.get(key)


def serve_through_a_failed_upgrade(root: DebianRoot, deb: Path, tmp_path: Path) -> Path:
    """The unit's ExecStart serves as `hearth`; an upgrade whose virtualenv cannot be built
    fails and leaves that server and its virtualenv alone. The virtualenv's folder name."""
    with netns.network_namespace("hearth-pkg") as ns:
        served = Served(root, ns)
        try:
            assert served.health()["status"] == "ok"
            assert served.uid() == int(root.run("id", "-u", "hearth").stdout)
            venv = root.file("/opt/hearth/venv").readlink()
            broken = package.restamp(deb, "0.1.0+1", tmp_path, drop_wheel="aiohttp")
            failed = apt_install(root, broken, check=False)
            assert failed.returncode != 0
            said = failed.stdout + failed.stderr
            assert "the installed version (if any) is left as it was" in said
            assert root.file("/opt/hearth/venv").readlink() == venv
            assert root.run("/usr/bin/hearth", "version").stdout == "hearth 0.1.0\n"
            assert served.health()["status"] == "ok"
            first_start_done(root, served)
        finally:
            served.stop()
    assert served.process.returncode == 0, served.log[-20:]
    return venv


def first_start_done(root: DebianRoot, served: Served) -> None:
    """Wait (bounded: another process, no event to await) for a first start's one-time work:
    the software encoder's speed, measured once and kept."""
    calibration = root.file("/var/lib/hearth/transcode-calibration.json")
    deadline = time.monotonic() + 300
    while not calibration.exists():
        assert time.monotonic() < deadline, served.log[-20:]
        time.sleep(0.5)


def a_restart_writes_nothing(root: DebianRoot) -> None:
    """The packaged service, restarted with nothing changed, leaves its data folder (on the SD
    card) exactly as it was; its transcode scratch would be on the runtime tmpfs."""
    data = root.file("/var/lib/hearth")
    before = snapshot(data)
    with netns.network_namespace("hearth-pkg") as ns:
        served = Served(root, ns)
        try:
            assert served.health()["status"] == "ok"
        finally:
            served.stop()
    assert served.process.returncode == 0, served.log[-20:]
    after = snapshot(data)
    assert after == before, sorted(
        k for k in after.keys() | before.keys() if after.get(k) != before.get(k)
    )
    assert not (data / "transcode").exists()


@pytest.mark.timeout(1500)
def test_the_package_installs_serves_upgrades_and_purges_in_a_fresh_bookworm(
    root: DebianRoot, tmp_path: Path
) -> None:
    deb = package.build("amd64", tmp_path / "dist")
    assert deb.name == "hearth-media_0.1.0_amd64.deb"
    depends = package.field(deb, "Depends")
    for wanted in ("python3 (>= 3.11)", "python3-venv", "ffmpeg"):
        assert wanted in depends
    apt_install(root, deb)
    check_installed(root)
    check_unit(root)
    venv = serve_through_a_failed_upgrade(root, deb, tmp_path)
    a_restart_writes_nothing(root)
    data = root.file("/var/lib/hearth")
    catalog = digest(data / "catalog.db")

    # a good upgrade: a new virtualenv swapped in, the old one gone, the data as it was
    apt_install(root, package.restamp(deb, "0.1.0+2", tmp_path))
    assert root.file("/opt/hearth/venv").readlink() != venv
    assert not root.file(f"/opt/hearth/{venv}").exists()
    assert root.run("/usr/bin/hearth", "version").stdout == "hearth 0.1.0\n"
    assert digest(data / "catalog.db") == catalog

    root.run("apt-get", "remove", "-y", "-q", "hearth-media")
    assert digest(data / "catalog.db") == catalog
    assert root.file("/etc/hearth/configuration.yaml").is_file()
    assert not root.file("/opt/hearth").exists()
    assert not root.file("/usr/bin/hearth").is_symlink()
    assert not root.file("/etc/udev/rules.d/99-hearth-usb.rules").exists()

    root.run("apt-get", "purge", "-y", "-q", "hearth-media")
    assert not data.exists()
    assert not root.file("/etc/hearth").exists()
    assert root.file("/srv/media/Movies").is_dir()  # people's media is never deleted


@pytest.mark.timeout(900)
def test_an_arm64_package_carries_only_aarch64_or_pure_python_wheels(tmp_path: Path) -> None:
    if shutil.which("dpkg-deb") is None:
        pytest.skip("building a package needs dpkg-deb (dpkg)")
    deb = package.build("arm64", tmp_path)
    assert deb.name == "hearth-media_0.1.0_arm64.deb"
    assert package.field(deb, "Architecture") == "arm64"
    assert "python3-lgpio" in package.field(deb, "Recommends")
    wheels = [Path(m).name for m in package.members(deb) if m.endswith(".whl")]
    assert any(w.startswith("hearth_media-") for w in wheels)
    assert any(w.startswith("aiohttp-") for w in wheels)
    foreign = [w for w in wheels if not (w.endswith("-none-any.whl") or "aarch64" in w)]
    assert foreign == []
    # the Pi's extra (gpiozero), once pyproject.toml declares it, is carried and installed
    project = tomllib.loads((package.ROOT / "pyproject.toml").read_text())["project"]
    if "pi" in project.get("optional-dependencies", {}):
        assert package.read_member(deb, "usr/lib/hearth/extras") == "pi\n"
        assert any(w.lower().startswith("gpiozero-") for w in wheels)
