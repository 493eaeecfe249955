"""The playback engine's transcode calibration: measured once and kept, so it must not run
beside a scan that keeps every core busy (the speed would be kept too low for good)."""

from __future__ import annotations

import asyncio

from tests.conftest import StartServer


async def test_calibration_waits_until_no_scan_runs(start_server: StartServer) -> None:
    server = await start_server()
    hub = server.hub
    assert hub.playback is not None
    await hub.scans.wait_idle()
    report = await hub.machine.wait()
    if any(e.verified for e in report.hardware_encoders):  # nothing to measure on such a box
        await asyncio.wait_for(hub.playback.calibrate(), 30)
        assert hub.playback.capacity.source.endswith("(verified)")
        return
    hub.playback.capacity.source = "until calibrated"
    hub.scans._idle.clear()  # as while a scan is queued or running
    calibrating = asyncio.get_running_loop().create_task(hub.playback.calibrate())
    await asyncio.sleep(0.3)
    assert not calibrating.done() and hub.playback.capacity.source == "until calibrated"
    hub.scans._idle.set()  # the scan finished
    await asyncio.wait_for(calibrating, 30)
    assert hub.playback.capacity.source.startswith("libx264")
