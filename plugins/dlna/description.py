"""The root device description (`/dlna/description.xml`) and the icons it lists.

A MediaServer:1 with DLNA DMS-1.50, the three services of `scpd.py`, and Samsung's product
capabilities (so Samsung TVs ask for subtitles). URLs in it are relative to where it was fetched
from, so one document serves every interface. Icons are drawn once with Pillow at start. It
never includes anything about the libraries, the people or the machine beyond a version.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from xml.sax.saxutils import escape

from plugins.dlna.scpd import SERVICES

DEVICE_TYPE = "urn:schemas-upnp-org:device:MediaServer:1"
ICON_SIZES = (48, 120)
ICON_FORMATS = {"png": ("PNG", "image/png"), "jpg": ("JPEG", "image/jpeg")}


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    friendly_name: str
    udn: str
    version: str
    serial: str


def description_xml(device: DeviceInfo) -> str:
    """The device description document."""
    icons = "".join(
        f"<icon><mimetype>{mime}</mimetype><width>{size}</width><height>{size}</height>"
        f"<depth>24</depth><url>/dlna/icon/{size}.{ext}</url></icon>"
        for ext, (_, mime) in ICON_FORMATS.items()
        for size in ICON_SIZES
    )
    services = "".join(
        f"<service><serviceType>{s.service_type}</serviceType><serviceId>{s.service_id}</serviceId>"
        f"<controlURL>/dlna/control/{s.short}</controlURL>"
        f"<eventSubURL>/dlna/event/{s.short}</eventSubURL>"
        f"<SCPDURL>/dlna/scpd/{s.short}.xml</SCPDURL></service>"
        for s in SERVICES
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<root xmlns="urn:schemas-upnp-org:device-1-0" '
        'xmlns:dlna="urn:schemas-dlna-org:device-1-0" xmlns:sec="http://www.sec.co.kr/dlna">'
        "<specVersion><major>1</major><minor>0</minor></specVersion>"
        "<device>"
        f"<deviceType>{DEVICE_TYPE}</deviceType>"
        f"<friendlyName>{escape(device.friendly_name)}</friendlyName>"
        "<manufacturer>Hearth</manufacturer>"
        "<modelDescription>Hearth home media server</modelDescription>"
        "<modelName>Hearth</modelName>"
        f"<modelNumber>{escape(device.version)}</modelNumber>"
        f"<serialNumber>{escape(device.serial)}</serialNumber>"
        f"<UDN>{escape(device.udn)}</UDN>"
        "<dlna:X_DLNADOC>DMS-1.50</dlna:X_DLNADOC>"
        "<sec:ProductCap>smi,getMediaInfo.sec,getCaptionInfo.sec</sec:ProductCap>"
        "<sec:X_ProductCap>smi,getMediaInfo.sec,getCaptionInfo.sec</sec:X_ProductCap>"
        "<presentationURL>/</presentationURL>"
        f"<iconList>{icons}</iconList>"
        f"<serviceList>{services}</serviceList>"
        "</device></root>"
    )


def draw_icons_blocking() -> dict[str, bytes]:
    """`"48.png"` -> bytes, for every listed icon: an ember on a dark tile."""
    from PIL import Image, ImageDraw  # drawn when a TV first asks: Pillow stays out until then

    icons: dict[str, bytes] = {}
    for size in ICON_SIZES:
        image = Image.new("RGB", (size, size), (32, 28, 26))
        draw = ImageDraw.Draw(image)
        s = size / 48
        draw.polygon(
            [
                (24 * s, 6 * s),
                (36 * s, 26 * s),
                (34 * s, 38 * s),
                (14 * s, 38 * s),
                (12 * s, 26 * s),
            ],
            fill=(235, 110, 40),
        )
        draw.ellipse((18 * s, 24 * s, 30 * s, 38 * s), fill=(250, 200, 80))
        for ext, (pil_format, _) in ICON_FORMATS.items():
            out = io.BytesIO()
            image.save(out, pil_format)
            icons[f"{size}.{ext}"] = out.getvalue()
    return icons
