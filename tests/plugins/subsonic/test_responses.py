"""The envelope alone: the same payload as XML (attributes, children, text) and as JSON."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

from plugins.subsonic import responses

NS = "{http://subsonic.org/restapi}"


def test_xml_and_json_carry_the_same_payload() -> None:
    payload = {
        "lyrics": {"artist": "A & B", "title": 'Say "hi"\x07', "value": "line <1>\nline 2"},
        "genres": {"genre": [{"songCount": 2, "value": "Rock"}, {"songCount": 1, "value": "Pop"}]},
    }
    root = ET.fromstring(responses.ok("xml", payload).text or "")
    assert root.tag == NS + "subsonic-response"
    assert root.attrib == {
        "status": "ok",
        "version": "1.16.1",
        "type": "hearth",
        "serverVersion": root.attrib["serverVersion"],
        "openSubsonic": "true",
    }
    lyrics = root.find(NS + "lyrics")
    assert lyrics is not None and lyrics.text == "line <1>\nline 2"
    assert lyrics.attrib == {"artist": "A & B", "title": 'Say "hi"'}  # the bell cannot be XML
    assert [(g.text, g.attrib["songCount"]) for g in root.iter(NS + "genre")] == [
        ("Rock", "2"),
        ("Pop", "1"),
    ]
    body = json.loads(responses.ok("json", payload).text or "")["subsonic-response"]
    assert body["status"] == "ok" and body["openSubsonic"] is True
    assert body["genres"]["genre"][0] == {"songCount": 2, "value": "Rock"}


def test_a_failure_has_the_spec_shape() -> None:
    root = ET.fromstring(responses.failed("xml", 40, "Wrong username or password.").text or "")
    assert root.attrib["status"] == "failed"
    error = root.find(NS + "error")
    assert error is not None
    assert error.attrib == {"code": "40", "message": "Wrong username or password."}
    body = json.loads(responses.failed("json", 10, "Required parameter is missing: u").text or "")
    assert body["subsonic-response"]["error"] == {
        "code": 10,
        "message": "Required parameter is missing: u",
    }
