"""setup without --root, as on a real relay: the `hearth-relay` system user (no shell, password
'*' so sshd lets it in by key although it runs without PAM), /etc/hearth-relay, and a box that
logs in as that user, may hold its forward and may run nothing.

It runs in a private mount and network namespace (`unshare -m -n`) whose /etc is an overlay
(every change lands in tmp_path and vanishes with the namespace) and whose /run is a tmpfs, so
this machine's users and files are never touched. Needs root, unshare and overlayfs.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.relay.world import SCRIPTS, unavailable_reason

MISSING = unavailable_reason() or (None if shutil.which("unshare") else "unshare is missing")
pytestmark = pytest.mark.skipif(MISSING is not None, reason=str(MISSING))

INSIDE = r"""
set -eu
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$T/up,workdir=$T/work" /etc
mount -t tmpfs tmpfs /run
ip link set lo up
umask 077  # as on a hardened server (and in a test worker after a Hearth server started)
"$S/setup" --domain relay.example.net > "$T/setup.out"
getent passwd hearth-relay > "$T/passwd"
grep '^hearth-relay:' /etc/shadow | cut -d: -f2 > "$T/password"
ssh-keygen -q -t ed25519 -N "" -f "$T/box"
"$S/enrol" smith "$T/box.pub" > "$T/enrol.out"
"$S/run" > "$T/run.out" 2> "$T/run.err" &
trap 'kill $! 2>/dev/null; wait' EXIT
until grep -q ready "$T/run.out"; do sleep 0.05; done
echo "[127.0.0.1]:2222 $(cut -d' ' -f1,2 /etc/hearth-relay/ssh_host_ed25519_key.pub)" > "$T/kh"
ssh="ssh -F /dev/null -i $T/box -o IdentitiesOnly=yes -o UserKnownHostsFile=$T/kh
     -o BatchMode=yes -p 2222"
# a forward held for 2 s (timeout ends it: 124), then a command refused (255)
set +e
timeout 2 $ssh -N -o ExitOnForwardFailure=yes -R 127.0.0.1:20000:127.0.0.1:9 \
    hearth-relay@127.0.0.1 2> "$T/forward.err"
echo $? > "$T/forward.status"
$ssh hearth-relay@127.0.0.1 id > "$T/id.out" 2> "$T/id.err"
echo $? > "$T/id.status"
"""


def test_setup_makes_a_system_user_that_logs_in_by_key_only(tmp_path: Path) -> None:
    for folder in ("up", "work"):
        (tmp_path / folder).mkdir()
        # the upper folder is the merged /etc's root: 0755 like /etc, whatever this worker's
        # umask (077 once a Hearth server started in it made /etc unreadable to hearth-relay)
        (tmp_path / folder).chmod(0o755)
    done = subprocess.run(
        ["unshare", "-m", "-n", "--fork", "--kill-child", "bash", "-c", INSIDE],
        env={"T": str(tmp_path), "S": str(SCRIPTS), "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr

    def read(name: str) -> str:
        return (tmp_path / name).read_text()

    assert read("passwd").strip().endswith(":/nonexistent:/usr/sbin/nologin")
    assert read("password").strip() == "*"  # no password, and not locked ('!')
    assert "  boxes dial:  relay.example.net port 2222 as hearth-relay\n" in read("setup.out")
    assert "  port: 20000" in read("enrol.out")
    assert read("forward.status").strip() == "124", read("forward.err")  # held until ended
    assert read("id.status").strip() == "255" and read("id.out") == ""
    assert "Accepted publickey for hearth-relay" in read("run.err")
    assert not Path("/etc/hearth-relay").exists()  # the machine itself is untouched
