"""The ways a person starts Hearth from its source folder: `./hearth` is .venv's `hearth`
command (no PATH change needed), and `scripts/run` says which address to open and how to run
the other commands before it starts the server."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from core import __version__

ROOT = Path(__file__).resolve().parents[2]


def test_the_hearth_wrapper_runs_the_venv_command_from_any_folder(tmp_path: Path) -> None:
    done = subprocess.run(
        [str(ROOT / "hearth"), "version"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert (done.returncode, done.stdout) == (0, f"hearth {__version__}\n")


def test_scripts_run_says_where_to_open_hearth_and_how_to_run_it(tmp_path: Path) -> None:
    (tmp_path / "configuration.yaml").write_text("hearth:\n  nmae: Home\n")  # stops at once
    env = {**os.environ, "HEARTH_CONFIG": str(tmp_path)}
    done = subprocess.run(
        [str(ROOT / "scripts/run")], env=env, capture_output=True, text=True, timeout=120
    )
    lines = done.stderr.splitlines()
    assert done.returncode == 1
    assert any(
        line.startswith("hearth: open http://localhost:8440/ on this box, or http://")
        and line.endswith(":8440/) from a phone or TV on the same network")
        for line in lines
    ), lines
    assert (
        "hearth: other commands: ./hearth --help (the same as .venv/bin/hearth), "
        f"e.g. ./hearth check-config -c {tmp_path}"
    ) in lines
    assert (
        "configuration.yaml:2: hearth: 'nmae' is not an option here; did you mean 'name'?" in lines
    )
