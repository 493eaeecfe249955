"""The ACME client's one error, kept apart from the client so that catching it loads no ACME.

certificate.py retries on it for as long as the relay runs, but the ACME library (acme, ~5 MB
resident) is needed only while a certificate is ordered, every two months or so: acme_client.py
is imported then. It never does anything but name the error.
"""

from __future__ import annotations


class AcmeError(Exception):
    """The CA said no, or answered something this client cannot use; the message says what."""
