"""Stopping the server ends in bounded time, whatever its background tasks do.

A task can outlive its cancellation (Python 3.11's asyncio.wait_for swallows one that arrives
with its result; the stills job then waited for the next scan and the server's stop waited for
it, until the test timed out). Each stop step now cancels again, then names what it leaves.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from core.library.frame_worker import FrameWorkerClient
from core.library.roots import LibraryRoot, LibraryRoots
from tests.conftest import StartServer
from tests.core.media.mediagen import make_video


async def test_stop_ends_a_plugin_task_that_outlives_its_first_cancellation(
    start_server: StartServer,
) -> None:
    server = await start_server("stubborn:\n", plugins=("stubborn",))
    hub = server.hub
    hub.stop_grace = 0.05
    task, _ = hub.records["stubborn"].context.state  # type: ignore[union-attr]
    await hub.stop()  # waited for the task forever
    assert task.cancelled()
    assert hub.records["stubborn"].state == "stopped"


@pytest.mark.allow_errors
async def test_stop_leaves_behind_and_names_a_task_that_never_ends(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = await start_server("stubborn:\n  never: true\n", plugins=("stubborn",))
    hub = server.hub
    hub.stop_grace = 0.05
    task, let_go = hub.records["stubborn"].context.state  # type: ignore[union-attr]
    with caplog.at_level(logging.INFO):
        await hub.stop()
    assert (
        "Plugin stubborn: stubborn:holdout did not end within 0.1 s of being cancelled"
        in caplog.messages
    )
    assert hub.records["stubborn"].state == "stopped"
    assert caplog.messages[-1] == "Hearth stopped"
    assert not task.done()
    let_go.set()  # the test leaves no task behind
    await task


async def test_a_cancellation_that_comes_with_the_frame_workers_answer_is_not_lost(
    tmp_path: Path,
) -> None:
    """The stills job is cancelled in the very turn of the loop the worker's answer arrives
    in: the job must end, not go on to wait for the next scan."""
    clip = make_video(tmp_path / "clip.mp4", 3.0)
    client = FrameWorkerClient()
    roots = LibraryRoots([LibraryRoot(str(tmp_path))])
    try:
        await client.make(str(clip), 3.0, tmp_path / "0.jpg", tmp_path / "0-poster.jpg", roots)

        async def job() -> None:
            await client.make(str(clip), 3.0, tmp_path / "1.jpg", tmp_path / "1-poster.jpg", roots)
            await asyncio.Event().wait()  # as the stills job waits for the next scan

        task = asyncio.get_running_loop().create_task(job(), name="stills-like job")
        process = client._process  # the real worker; its answer is what the race is about
        assert process is not None and process.stdout is not None
        stdout = process.stdout
        feed = stdout.feed_data

        def answer_then_stop(data: bytes) -> None:
            feed(data)
            task.cancel()  # the server stops just as the answer arrives

        stdout.feed_data = answer_then_stop  # type: ignore[method-assign]
        with pytest.raises(asyncio.CancelledError):
            await task  # waited for a scan that never came
    finally:
        await client.close()
