"""Installing a reference server from Debian for a benchmark, without it starting as a service.

Why: MiniDLNA and nginx are the references the benches measure Hearth against, and a Debian
package starts its daemon from postinst — on these machines a DLNA server announcing itself on
the real network. policy-rc.d (Debian's own switch) refuses that start during the install.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path


def install_without_starting(package: str) -> None:
    """apt-get install `package` (root only; `apt-get update` once if the first try fails) with
    service start-up denied while it runs."""
    guard = Path("/usr/sbin/policy-rc.d")
    made_guard = not guard.exists()
    if made_guard:
        guard.write_text("#!/bin/sh\nexit 101\n")
        guard.chmod(0o755)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", package]
    try:
        if subprocess.run(install, env=env).returncode != 0:
            subprocess.run(["apt-get", "update"], env=env, check=True)
            subprocess.run(install, env=env, check=True)
    finally:
        if made_guard:
            guard.unlink()
