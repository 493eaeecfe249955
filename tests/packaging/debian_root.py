"""A Debian 12 (bookworm) root made with debootstrap, for installing Hearth's package in tests.

The root is made once and kept in /var/cache/hearth-test/debootstrap (outside any checkout, so
a fresh clone finds it; $HEARTH_TEST_CACHE moves it). It holds a minimal system plus systemd
and the package's dependencies, so a test spends its time on Hearth's own install, not on
unpacking ffmpeg. Each test works on an overlay of it, thrown away afterwards: the cached root
is never changed by a test. Needs root, debootstrap and overlayfs; nothing here starts a service.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

CACHE = Path(os.environ.get("HEARTH_TEST_CACHE", "/var/cache/hearth-test"))
SUITE = "bookworm"
# What hearth-media's Depends pull in, installed in the cached root; `apt-get install ./deb`
# still checks every Depends against it, and fetches what a changed control file adds.
PREINSTALLED = ("systemd", "python3", "python3-venv", "ffmpeg", "adduser")
ENV = {
    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
    "DEBIAN_FRONTEND": "noninteractive",
    "LC_ALL": "C.UTF-8",
    "HOME": "/root",
}


def unavailable_reason() -> str | None:
    """Why a Debian root cannot be made here, or None when it can."""
    if os.geteuid() != 0:
        return "debootstrap, chroot and mounts need root"
    for tool in ("debootstrap", "dpkg-deb", "chroot", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (scripts/test installs it when run as root)"
    return None


def _run(argv: Sequence[str], timeout: float = 900) -> None:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=ENV)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-3000:]}")


@contextlib.contextmanager
def _locked(name: str) -> Iterator[None]:
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker making the same root waits here
        yield


def cached_root() -> Path:
    """The cached bookworm root, made on first use (debootstrap, then the dependencies)."""
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    final = CACHE / "debootstrap" / f"{SUITE}-{arch}"
    with _locked("debootstrap"):
        if (final / ".hearth-complete").exists():
            return final
        final.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix="making-", dir=final.parent))
        try:
            # debootstrap's own default mirror; the root's apt uses it too
            _run(["debootstrap", "--variant=minbase", SUITE, str(building)])
            with mounted_basics(building):
                chroot = ["chroot", str(building)]
                _run([*chroot, "apt-get", "update", "-q"])
                _run([*chroot, "apt-get", "install", "-y", "-q", "--no-install-recommends",
                      *PREINSTALLED])  # fmt: skip
                _run([*chroot, "apt-get", "clean"])
            # dpkg need not fsync every file of a throw-away root
            (building / "etc/dpkg/dpkg.cfg.d/hearth-test").write_text("force-unsafe-io\n")
            (building / ".hearth-complete").write_text("")
            if final.exists():
                shutil.rmtree(final)
            building.rename(final)
        finally:
            if building.exists():
                shutil.rmtree(building, ignore_errors=True)
    return final


@contextlib.contextmanager
def mounted_basics(root: Path) -> Iterator[None]:
    """/proc, /dev/pts and the host's resolv.conf (apt may fetch a package) in `root`;
    /run is left empty, so maintainer scripts see no running systemd or udev."""
    mounts = [
        (["-t", "proc", "proc"], root / "proc"),
        (["-t", "devpts", "devpts"], root / "dev/pts"),
    ]
    done: list[Path] = []
    try:
        for options, target in mounts:
            target.mkdir(parents=True, exist_ok=True)
            _run(["mount", *options, str(target)])
            done.append(target)
        shutil.copyfile("/etc/resolv.conf", root / "etc/resolv.conf")
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


@dataclass(frozen=True)
class DebianRoot:
    """An overlay of the cached root: `path` is where it is mounted."""

    path: Path

    def run(
        self, *argv: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            ["chroot", str(self.path), *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=ENV,
        )
        if check and done.returncode != 0:
            raise AssertionError(
                f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-3000:]}"
                f"\n{done.stderr[-3000:]}"
            )
        return done

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")


@contextlib.contextmanager
def fresh_root(scratch: Path) -> Iterator[DebianRoot]:
    """A throw-away bookworm root over the cached one, with /proc and /dev/pts mounted."""
    lower = cached_root()
    upper, work, merged = scratch / "upper", scratch / "work", scratch / "root"
    for folder in (upper, work, merged):
        folder.mkdir(parents=True)
    options = f"lowerdir={lower},upperdir={upper},workdir={work}"
    _run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)])
    try:
        with mounted_basics(merged):
            yield DebianRoot(merged)
    finally:
        subprocess.run(["umount", "-R", "-l", str(merged)], capture_output=True, timeout=30)
