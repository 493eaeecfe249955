"""A DLNA MediaRenderer peer for the tests, built on async_upnp_client's server side: a Samsung-
like TV with AVTransport, RenderingControl and ConnectionManager that records every action it
is asked and moves its transport state as a TV would.

No `from __future__ import annotations` here: async_upnp_client's `callable_action` compares the
handlers' annotations with real types.
"""

import asyncio
import socket
import xml.etree.ElementTree as ET
from functools import partial
from typing import Any

from aiohttp import web
from async_upnp_client.aiohttp import AiohttpRequester
from async_upnp_client.client import UpnpRequester, UpnpStateVariable
from async_upnp_client.const import DeviceInfo, ServiceInfo
from async_upnp_client.server import (
    UpnpServerDevice,
    UpnpServerService,
    action_handler,
    callable_action,
    create_state_var,
    to_xml,
)

UDN = "uuid:5d1e3c2a-7b6f-4e1d-9a0c-2f8b7e6d5c4b"
SINK = (
    "http-get:*:video/mp4:DLNA.ORG_PN=AVC_MP4_HP_HD_AAC,http-get:*:video/mpeg:*,"
    "http-get:*:audio/mpeg:DLNA.ORG_PN=MP3,http-get:*:image/jpeg:*"
)
Vars = dict[str, UpnpStateVariable]


def _service(name: str, short: str) -> ServiceInfo:
    return ServiceInfo(
        service_id=f"urn:upnp-org:serviceId:{name}",
        service_type=f"urn:schemas-upnp-org:service:{name}:1",
        control_url=f"/upnp/control/{short}",
        event_sub_url=f"/upnp/event/{short}",
        scpd_url=f"/{short}.xml",
        xml=ET.Element("server_service"),
    )


class Recording(UpnpServerService):
    """A service that keeps (action, arguments) for each call."""

    def __init__(self, requester: UpnpRequester) -> None:
        super().__init__(requester)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def set(self, **values: Any) -> None:
        for name, value in values.items():
            self.state_variable(name).value = value


class AVTransport(Recording):
    SERVICE_DEFINITION = _service("AVTransport", "AVT")
    STATE_VARIABLE_DEFINITIONS = {
        "A_ARG_TYPE_InstanceID": create_state_var("ui4"),
        "AVTransportURI": create_state_var("string", default=""),
        "AVTransportURIMetaData": create_state_var("string", default=""),
        "TransportState": create_state_var(
            "string",
            allowed=["STOPPED", "PLAYING", "PAUSED_PLAYBACK", "TRANSITIONING", "NO_MEDIA_PRESENT"],
            default="NO_MEDIA_PRESENT",
        ),
        "TransportStatus": create_state_var("string", default="OK"),
        "TransportPlaySpeed": create_state_var("string", default="1"),
        "CurrentTrack": create_state_var("ui4", default="0"),
        "CurrentTrackURI": create_state_var("string", default=""),
        "CurrentTrackMetaData": create_state_var("string", default=""),
        "CurrentTrackDuration": create_state_var("string", default="0:00:00"),
        "RelativeTimePosition": create_state_var("string", default="0:00:00"),
        "AbsoluteTimePosition": create_state_var("string", default="0:00:00"),
        "RelativeCounterPosition": create_state_var("i4", default="0"),
        "AbsoluteCounterPosition": create_state_var("i4", default="0"),
        "A_ARG_TYPE_SeekMode": create_state_var("string", allowed=["REL_TIME", "ABS_TIME"]),
        "A_ARG_TYPE_SeekTarget": create_state_var("string"),
    }

    @callable_action(
        name="SetAVTransportURI",
        in_args={
            "InstanceID": "A_ARG_TYPE_InstanceID",
            "CurrentURI": "AVTransportURI",
            "CurrentURIMetaData": "AVTransportURIMetaData",
        },
        out_args={},
    )
    async def set_uri(self, InstanceID: int, CurrentURI: str, CurrentURIMetaData: str) -> Vars:
        self.calls.append(
            ("SetAVTransportURI", {"uri": CurrentURI, "metadata": CurrentURIMetaData})
        )
        self.set(
            AVTransportURI=CurrentURI,
            CurrentTrackURI=CurrentURI,
            TransportState="STOPPED",
            CurrentTrackDuration="0:01:40",
            RelativeTimePosition="0:00:00",
        )
        return {}

    @callable_action(
        name="Play",
        in_args={"InstanceID": "A_ARG_TYPE_InstanceID", "Speed": "TransportPlaySpeed"},
        out_args={},
    )
    async def play(self, InstanceID: int, Speed: str) -> Vars:
        self.calls.append(("Play", {"speed": Speed}))
        self.set(TransportState="PLAYING", RelativeTimePosition="0:00:01")
        return {}

    @callable_action(name="Pause", in_args={"InstanceID": "A_ARG_TYPE_InstanceID"}, out_args={})
    async def pause(self, InstanceID: int) -> Vars:
        self.calls.append(("Pause", {}))
        self.set(TransportState="PAUSED_PLAYBACK")
        return {}

    @callable_action(name="Stop", in_args={"InstanceID": "A_ARG_TYPE_InstanceID"}, out_args={})
    async def stop(self, InstanceID: int) -> Vars:
        self.calls.append(("Stop", {}))
        self.set(TransportState="STOPPED", RelativeTimePosition="0:00:00")
        return {}

    @callable_action(
        name="Seek",
        in_args={
            "InstanceID": "A_ARG_TYPE_InstanceID",
            "Unit": "A_ARG_TYPE_SeekMode",
            "Target": "A_ARG_TYPE_SeekTarget",
        },
        out_args={},
    )
    async def seek(self, InstanceID: int, Unit: str, Target: str) -> Vars:
        self.calls.append(("Seek", {"unit": Unit, "target": Target}))
        self.set(RelativeTimePosition=Target)
        return {}

    @callable_action(
        name="GetTransportInfo",
        in_args={"InstanceID": "A_ARG_TYPE_InstanceID"},
        out_args={
            "CurrentTransportState": "TransportState",
            "CurrentTransportStatus": "TransportStatus",
            "CurrentSpeed": "TransportPlaySpeed",
        },
    )
    async def transport_info(self, InstanceID: int) -> Vars:
        names = ("TransportState", "TransportStatus", "TransportPlaySpeed")
        keys = ("CurrentTransportState", "CurrentTransportStatus", "CurrentSpeed")
        return {key: self.state_variable(name) for key, name in zip(keys, names, strict=True)}

    @callable_action(
        name="GetPositionInfo",
        in_args={"InstanceID": "A_ARG_TYPE_InstanceID"},
        out_args={
            "Track": "CurrentTrack",
            "TrackDuration": "CurrentTrackDuration",
            "TrackMetaData": "CurrentTrackMetaData",
            "TrackURI": "CurrentTrackURI",
            "RelTime": "RelativeTimePosition",
            "AbsTime": "AbsoluteTimePosition",
            "RelCount": "RelativeCounterPosition",
            "AbsCount": "AbsoluteCounterPosition",
        },
    )
    async def position_info(self, InstanceID: int) -> Vars:
        self.calls.append(("GetPositionInfo", {}))
        pairs = {
            "Track": "CurrentTrack",
            "TrackDuration": "CurrentTrackDuration",
            "TrackMetaData": "CurrentTrackMetaData",
            "TrackURI": "CurrentTrackURI",
            "RelTime": "RelativeTimePosition",
            "AbsTime": "AbsoluteTimePosition",
            "RelCount": "RelativeCounterPosition",
            "AbsCount": "AbsoluteCounterPosition",
        }
        return {key: self.state_variable(name) for key, name in pairs.items()}


class RenderingControl(Recording):
    SERVICE_DEFINITION = _service("RenderingControl", "RC")
    STATE_VARIABLE_DEFINITIONS = {
        "Volume": create_state_var("ui2", allowed_range={"min": "0", "max": "100"}, default="30"),
        "A_ARG_TYPE_InstanceID": create_state_var("ui4"),
        "A_ARG_TYPE_Channel": create_state_var("string", allowed=["Master"]),
    }

    @callable_action(
        name="GetVolume",
        in_args={"InstanceID": "A_ARG_TYPE_InstanceID", "Channel": "A_ARG_TYPE_Channel"},
        out_args={"CurrentVolume": "Volume"},
    )
    async def get_volume(self, InstanceID: int, Channel: str) -> Vars:
        return {"CurrentVolume": self.state_variable("Volume")}

    @callable_action(
        name="SetVolume",
        in_args={
            "InstanceID": "A_ARG_TYPE_InstanceID",
            "Channel": "A_ARG_TYPE_Channel",
            "DesiredVolume": "Volume",
        },
        out_args={},
    )
    async def set_volume(self, InstanceID: int, Channel: str, DesiredVolume: int) -> Vars:
        self.calls.append(("SetVolume", {"volume": DesiredVolume}))
        self.set(Volume=DesiredVolume)
        return {}


class ConnectionManager(Recording):
    SERVICE_DEFINITION = _service("ConnectionManager", "CM")
    STATE_VARIABLE_DEFINITIONS = {
        "SourceProtocolInfo": create_state_var("string", default=""),
        "SinkProtocolInfo": create_state_var("string", default=SINK),
    }

    @callable_action(
        name="GetProtocolInfo",
        in_args={},
        out_args={"Source": "SourceProtocolInfo", "Sink": "SinkProtocolInfo"},
    )
    async def protocol_info(self) -> Vars:
        return {
            "Source": self.state_variable("SourceProtocolInfo"),
            "Sink": self.state_variable("SinkProtocolInfo"),
        }


class FakeTv(UpnpServerDevice):
    DEVICE_DEFINITION = DeviceInfo(
        device_type="urn:schemas-upnp-org:device:MediaRenderer:1",
        friendly_name="[TV] Living Room",
        manufacturer="Samsung Electronics",
        manufacturer_url=None,
        model_description="Samsung TV DMR",
        model_name="QE55Q7",
        model_number="1.0",
        model_url=None,
        serial_number="0001",
        udn=UDN,
        upc=None,
        presentation_url=None,
        url="/device.xml",
        icons=[],
        xml=ET.Element("server_device"),
    )
    EMBEDDED_DEVICES = []
    SERVICES = [AVTransport, RenderingControl, ConnectionManager]

    def recorded(self, short: str) -> Recording:
        kinds = {"AVT": AVTransport, "RC": RenderingControl, "CM": ConnectionManager}
        return next(s for s in self.services.values() if isinstance(s, kinds[short]))  # type: ignore[return-value]


class LoopbackTv:
    """The fake TV served over HTTP on 127.0.0.1 only: no SSDP, so it is added by LOCATION."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.device: FakeTv | None = None
        self.location = ""

    async def start(self, host: str = "127.0.0.1") -> FakeTv:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((host, 0))
        port = sock.getsockname()[1]
        device = FakeTv(AiohttpRequester(), f"http://{host}:{port}", 1, 1)
        app = web.Application()
        app.router.add_get(device.device_url, partial(to_xml, device))
        for service in device.all_services:
            definition = service.SERVICE_DEFINITION  # type: ignore[attr-defined]
            app.router.add_get(definition.scpd_url, partial(to_xml, service))
            app.router.add_post(definition.control_url, partial(action_handler, service))
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.SockSite(self._runner, sock).start()
        self.device, self.location = device, f"http://{host}:{port}/device.xml"
        return device

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            await asyncio.sleep(0)
