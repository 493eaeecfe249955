"""Building, re-versioning and reading hearth-media packages for the packaging tests.

Builds go through scripts/build-deb itself (wheels cached in the checkout's git-ignored
.cache/wheels); a "new version" is the same package re-stamped with dpkg-deb, so an upgrade
test costs no second download. Nothing here installs anything.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def build(arch: str, out: Path) -> Path:
    """scripts/build-deb --arch ARCH into `out`; the path of the .deb."""
    done = subprocess.run(
        [str(ROOT / "scripts" / "build-deb"), "--arch", arch, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    deb = Path(done.stdout.strip().splitlines()[-1])
    assert deb.parent == out and deb.is_file(), done.stdout
    return deb


def field(deb: Path, name: str) -> str:
    return subprocess.run(
        ["dpkg-deb", "-f", str(deb), name], capture_output=True, text=True, check=True
    ).stdout.strip()


def members(deb: Path) -> list[str]:
    """Every path in the package's data, without the leading `./`."""
    listing = subprocess.run(
        ["dpkg-deb", "-c", str(deb)], capture_output=True, text=True, check=True
    ).stdout
    return [
        re.split(r"\s+", line, maxsplit=5)[5].split(" -> ")[0][2:] for line in listing.splitlines()
    ]


def read_member(deb: Path, path: str) -> str:
    """One file of the package's data, as text."""
    tar = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], capture_output=True, check=True)
    return subprocess.run(
        ["tar", "-xOf", "-", f"./{path}"], input=tar.stdout, capture_output=True, check=True
    ).stdout.decode()


def restamp(deb: Path, version: str, out: Path, drop_wheel: str | None = None) -> Path:
    """The same package as version `version`; without the wheel whose name starts with
    `drop_wheel`, a package whose postinst cannot build its virtualenv."""
    tree = out / f"tree-{version}"
    subprocess.run(["dpkg-deb", "-R", str(deb), str(tree)], check=True, timeout=120)
    control = tree / "DEBIAN" / "control"
    control.write_text(re.sub(r"(?m)^Version: .*$", f"Version: {version}", control.read_text()))
    if drop_wheel is not None:
        dropped = list((tree / "usr/lib/hearth/wheels").glob(f"{drop_wheel}-*.whl"))
        assert len(dropped) == 1, dropped
        dropped[0].unlink()
    target = out / f"hearth-media_{version}.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "-Znone", "--build", str(tree), str(target)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return target


def unit_settings(text: str) -> dict[str, str]:
    """`Key=value` lines of a unit file (the last one wins, as in systemd for most keys)."""
    settings: dict[str, str] = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith(("#", ";", "[")):
            key, value = line.split("=", 1)
            settings[key.strip()] = value.strip()
    return settings
