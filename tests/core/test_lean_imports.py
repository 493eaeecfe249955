"""What a process imports: `hearth version` and `check-config` load no server, and a serving hub
has not loaded the decoders, the picture library or the cryptography it only needs later.

Each import costs start-up time and resident memory for as long as the process lives (PyAV
~16 MB, cryptography ~8 MB, Pillow ~2 MB on a box with 1 GB), so these tests look at a real
process's `sys.modules` and fail when a change imports one of them eagerly again.
"""

from __future__ import annotations

import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from tests import netns
from tests.conftest import core_yaml, write_config
from tests.core.cli_helpers import wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SERVER_MODULES = ("aiohttp", "sqlite_utils", "av", "PIL", "mutagen", "core.hub")

# Runs the CLI and prints the sorted module names when it is done (or, for a server, each time
# it receives SIGUSR1: the event loop wakes for any signal once it handles SIGTERM).
PROBE = """
import json, signal, sys
def report(*_):
    print("MODULES " + json.dumps(sorted(sys.modules)), flush=True)
signal.signal(signal.SIGUSR1, report)
from core.cli import main
code = main(sys.argv[1:])
report()
sys.exit(code)
"""


def _modules_after(args: list[str], cwd: Path) -> set[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("MODULES "))
    return set(json.loads(line.removeprefix("MODULES ")))


def test_version_imports_nothing_of_the_server(tmp_path: Path) -> None:
    loaded = _modules_after(["version"], tmp_path)
    assert loaded.isdisjoint(SERVER_MODULES), loaded & set(SERVER_MODULES)
    assert "core.configuration" not in loaded


def test_check_config_of_the_shipped_configuration_imports_nothing_of_the_server(
    tmp_path: Path,
) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    loaded = _modules_after(["check-config", "-c", str(tmp_path / "config")], tmp_path)
    assert loaded.isdisjoint(SERVER_MODULES), loaded & set(SERVER_MODULES)
    assert "watchfiles" not in loaded  # the folder watcher's, imported to watch
    assert {"plugins.dlna", "plugins.web", "plugins.folders"} <= loaded  # it did check them


# Loaded by the first use, never by starting: decoders and pictures (thumbnails, DLNA icons),
# cryptography (a sealed secret, a backup; a new certificate is made in a child process);
# babelfish not at all (core.media.languages reads its table).
DEFERRED = (
    "av",
    "PIL",
    "mutagen",
    "babelfish",
    "cryptography",
    "core.media.probe",
    "core.backup.nightly",
    "zeroconf",
    "asyncssh",
    "acme",
    "argon2",  # passwords and PINs: the first sign-in with one
    "pyotp",  # two-factor codes
)


def _serving_modules(process: subprocess.Popen[str]) -> set[str]:
    assert process.stdout is not None
    process.send_signal(signal.SIGUSR1)
    line = process.stdout.readline()
    assert line.startswith("MODULES "), line
    return set(json.loads(line.removeprefix("MODULES ")))


def test_a_serving_hub_defers_heavy_modules_until_first_use(tmp_path: Path) -> None:
    movies = tmp_path / "Movies"
    movies.mkdir()
    data = tmp_path / "data"  # a first start: the HTTPS certificate is made by a child process
    plugins = (
        "web:\ndlna:\n  ssdp: false\nnfo:\nembedded:\nfilename:\nlocal_artwork:\n"
        f"folders:\n  libraries:\n    - {{name: Movies, kind: movies, paths: [{movies}]}}\n"
    )
    folder = write_config(tmp_path / "config", core_yaml(data) + plugins)
    process = subprocess.Popen(
        [sys.executable, "-c", PROBE, "run", "-c", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        port = wait_for_port(process)
        assert (data / "tls" / "certificate.pem").is_file()
        loaded = _serving_modules(process)
        assert loaded.isdisjoint(DEFERRED), sorted(loaded & set(DEFERRED))
        # ... and a first use loads what it needs: a TV asking for the device icon
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/dlna/icon/48.png") as reply:
            assert reply.headers["Content-Type"] == "image/png"
            assert reply.read().startswith(b"\x89PNG")
        assert "PIL" in _serving_modules(process)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=20) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _log_lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The server's log, line by line, read in a thread (a full pipe would block the server)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put("")

    threading.Thread(target=read, daemon=True).start()
    return lines


def _until_logged(lines: queue.Queue[str], *texts: str) -> None:
    """Wait until the log has said each of `texts` (in any order)."""
    missing = set(texts)
    while missing:
        line = lines.get(timeout=60)
        assert line, f"the server exited before logging {sorted(missing)}"
        missing = {text for text in missing if text not in line}


NOT_A_TV = (
    "NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nCACHE-CONTROL: max-age=1800\r\n"
    "LOCATION: http://tv.invalid/d.xml\r\nNT: urn:schemas-upnp-org:device:MediaRenderer:1\r\n"
    "NTS: ssdp:alive\r\nUSN: uuid:tv-1::urn:schemas-upnp-org:device:MediaRenderer:1\r\n\r\n"
)
SEND_FROM_PEER = f"""
import socket
peer = "{netns.PEER_ADDRESS}"
with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
    sock.bind((peer, 0))
    sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(peer))
    sock.sendto({NOT_A_TV.encode()!r}, ("239.255.255.250", 1900))
"""


@pytest.mark.skipif(netns.unavailable_reason() is not None, reason=str(netns.unavailable_reason()))
def test_play_to_tv_loads_the_upnp_library_only_once_a_tv_speaks(tmp_path: Path) -> None:
    """Looking for TVs (searching, hearing the DLNA server's own adverts) loads nothing of
    async_upnp_client; the first message naming a MediaRenderer does (here one the trust
    rules then refuse, which is logged)."""
    config = write_config(
        tmp_path / "config",
        f"hearth:\n  data_dir: {tmp_path / 'data'}\n"
        f"  http: {{host: {netns.LAN_ADDRESS}, port: 0, https_port: 0}}\n"
        "  network: {interfaces: [hv0], mdns: false}\n"
        "dlna:\ndlna_renderer:\n",
    )
    with netns.network_namespace() as ns:
        for device in ("hv0", "hv1"):  # both ends are local: each must take the other's packets
            ns.run("sysctl", "-qw", f"net.ipv4.conf.{device}.accept_local=1")
        process = subprocess.Popen(
            [*ns.prefix, sys.executable, "-c", PROBE, "run", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
        )
        try:
            lines = _log_lines(process)
            _until_logged(lines, f"Looking for TVs with SSDP on {netns.LAN_ADDRESS}", "serving on")
            loaded = _serving_modules(process)
            assert "plugins.dlna_renderer" in loaded and "plugins.dlna" in loaded
            upnp = {"async_upnp_client", "plugins.dlna_renderer.discovery", "didl_lite"}
            assert loaded.isdisjoint(upnp), sorted(loaded & upnp)
            ns.run(sys.executable, "-c", SEND_FROM_PEER)
            _until_logged(lines, f"Ignored SSDP from {netns.PEER_ADDRESS} (http://tv.invalid")
            assert upnp - {"didl_lite"} <= _serving_modules(process)
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=20) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def test_a_relay_loads_the_acme_library_only_to_order_a_certificate(tmp_path: Path) -> None:
    """What the relay's setup imports (the link, the certificate keeper, the QR route) holds no
    ACME code: it is ordered every two months or so, while the keeper runs for as long as the
    relay does (~5 MB resident)."""
    script = (
        "import sys\n"
        "import plugins.relay, plugins.relay.api, plugins.relay.certificate, plugins.relay.link\n"
        "print('acme' in sys.modules)\n"
        "import plugins.relay.acme_client\n"
        "print('acme' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert result.stdout.splitlines() == ["False", "True"]
