"""Shared fixtures: a real server from a YAML string, and the leak and error-log guards."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import textwrap
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import aiohttp
import pytest

from core.configuration import load_configuration
from core.hub import Hub
from tests import egress_guard  # noqa: F401  (installs the no-egress audit hook)

FIXTURE_PLUGINS = Path(__file__).parent / "fixtures" / "plugins"
# The suite runs as root (CI does): its `hearth run` processes have the owner's consent to.
os.environ.setdefault("HEARTH_ALLOW_ROOT", "1")


def write_config(folder: Path, yaml_text: str, plugins: tuple[str, ...] = ()) -> Path:
    """A config folder with configuration.yaml and the named test plugins as custom plugins."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "configuration.yaml").write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    for name in plugins:
        shutil.copytree(FIXTURE_PLUGINS / name, folder / "custom_plugins" / name)
    return folder


def core_yaml(data_dir: Path, extra: str = "", mdns: bool = False) -> str:
    """A `hearth:` section for tests: loopback only, any free port, discovery off unless asked."""
    return (
        "hearth:\n"
        f"  data_dir: {data_dir}\n"
        "  http: {host: 127.0.0.1, port: 0, https_port: 0}\n"
        f"  network: {{interfaces: [127.0.0.1], mdns: {str(mdns).lower()}}}\n"
        + textwrap.dedent(extra)
    )


class RunningServer:
    """A started hub and an HTTP client pointed at it."""

    def __init__(self, hub: Hub, session: aiohttp.ClientSession) -> None:
        self.hub = hub
        self.session = session

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.hub.port}"

    async def get_json(self, path: str, status: int = 200) -> dict[str, object]:
        async with self.session.get(self.url + path) as response:
            assert response.status == status, await response.text()
            data: dict[str, object] = await response.json()
            return data


StartServer = Callable[..., Awaitable[RunningServer]]
PASSWORD = "correct horse battery"


async def make_user(
    hub: Hub,
    username: str,
    role: str,
    libraries: list[int] | None = None,
    max_rating: str | None = None,
) -> str:
    """An account and a session token for it, made straight in the catalog."""
    from core.people.accounts import create_session_blocking, create_user_blocking

    def create(db: object) -> str:
        user_id = create_user_blocking(db, username, role, PASSWORD, libraries, max_rating)  # type: ignore[arg-type]
        return create_session_blocking(db, user_id, "session", "tests", None, None).token  # type: ignore[arg-type]

    token: str = await hub.catalog.write(create)
    return token


@pytest.fixture(scope="session")
def measured(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hardware detection and the transcode calibration, measured once per test process:
    every server a test starts would otherwise run the same test encodes again."""
    import shutil as _shutil

    from core.machine import detect_for_blocking
    from core.playback.capacity import cached_calibration_blocking
    from core.playback.engine import _preset

    folder = tmp_path_factory.mktemp("measured")
    detect_for_blocking(folder, None)
    ffmpeg = _shutil.which("ffmpeg")
    if ffmpeg:
        cached_calibration_blocking(folder / "transcode-calibration.json", Path(ffmpeg), _preset())
    return folder


def seed_measurements(measured: Path, data_dir: Path) -> None:
    """Give a new data folder the measurements (as a second start of the same box has)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for file in measured.iterdir():
        if file.is_file() and not (data_dir / file.name).exists():
            shutil.copy2(file, data_dir / file.name)


@pytest.fixture
async def start_server(tmp_path: Path, measured: Path) -> AsyncIterator[StartServer]:
    """Start real servers from YAML; every one is stopped at the end of the test."""
    started: list[RunningServer] = []

    async def start(
        extra_yaml: str = "", plugins: tuple[str, ...] = (), folder: Path | None = None
    ) -> RunningServer:
        config_dir = write_config(
            folder or tmp_path / f"config{len(started)}",
            core_yaml(tmp_path / "data", extra_yaml),
            plugins,
        )
        seed_measurements(measured, tmp_path / "data")
        hub = Hub(load_configuration(config_dir))
        hub.retry_delays = (0.05,)
        await hub.start()
        token = await make_user(hub, "owner", "owner")
        server = RunningServer(
            hub, aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"})
        )
        started.append(server)
        return server

    yield start
    for server in reversed(started):
        await server.session.close()
        await server.hub.stop()


@pytest.fixture(autouse=True)
async def no_leaked_tasks() -> AsyncIterator[None]:
    """Fail a test that leaves tasks running on its loop."""
    before = asyncio.all_tasks()
    yield
    await asyncio.sleep(0)
    leaked = [
        t for t in asyncio.all_tasks() - before if t is not asyncio.current_task() and not t.done()
    ]
    for task in leaked:
        task.cancel()
    assert not leaked, f"tasks leaked: {[t.get_name() for t in leaked]}"


@pytest.fixture(autouse=True)
def keep_umask() -> Iterator[None]:
    """A server started in-process sets umask 077 for its whole process (its data folder is
    private); put the worker's back, so later tests' files are made as they expect."""
    before = os.umask(0o022)
    os.umask(before)
    yield
    os.umask(before)


@pytest.fixture(autouse=True)
def keep_logging_handlers() -> Iterator[None]:
    """`hearth` commands called in-process point the root logger at the captured stderr; put
    it back, so later records are not written to a stream pytest has closed."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(autouse=True)
def no_unexpected_errors(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Fail a test that logs an ERROR it did not declare with @pytest.mark.allow_errors."""
    caplog.set_level(logging.INFO)
    yield
    if request.node.get_closest_marker("allow_errors"):
        return
    errors = [r for r in caplog.get_records("call") if r.levelno >= logging.ERROR]
    assert not errors, "unexpected ERROR logs: " + "; ".join(r.getMessage() for r in errors)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "allow_errors: the test expects ERROR log records")
