"""The server's certificate is made in a short-lived child Python (so cryptography's x509 does
not stay loaded); where that interpreter cannot be started again by the server's user (scripts/run
as root runs the server as `hearth`, and a Python installed under /root cannot be executed by
it), the certificate is made in the server itself instead of leaving HTTPS off."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from core.http import tls


def test_a_certificate_is_made_even_when_the_child_python_cannot_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    unrunnable = tmp_path / "python"
    unrunnable.write_text("not a program")
    unrunnable.chmod(0o600)  # exec fails with PermissionError, as under a 0700 /root
    monkeypatch.setattr(sys, "executable", str(unrunnable))
    made = tls.generate_in_child_blocking(tmp_path / "tls", ["hearth.local"], ["127.0.0.1"])
    assert (tmp_path / "tls" / tls.CERT_FILE).is_file()
    assert (tmp_path / "tls" / tls.KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert made.fingerprint_sha256
