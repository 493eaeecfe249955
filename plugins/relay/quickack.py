"""Acknowledge promptly what the relay sends down the link, so its sshd never waits on us.

Measured (bench/relay.py, and a capture on the relay's home link): the relay's sshd sends
small SSH packets with Nagle on (it sets TCP_NODELAY only for sessions with a terminal, which
a relay never grants), so a small packet it has ready waits until its last one is
acknowledged, and the box's kernel holds that acknowledgement back 40 ms (delayed ACK) when ssh
has nothing to send. That stood between HAProxy's PROXY header and the phone's ClientHello,
and between one channel's close and the next phone's channel open: +40 ms on a third of the
fresh connections. Linux acknowledges at once only when asked (TCP_QUICKACK), and only for
what has arrived by then (the flag does not stay), and ssh reads the socket before the box
could see that bytes came; so while phones' connections are open or have just been, the box
asks every `TICK_SECONDS`, and not at all when the link is idle.

It works on its own duplicate of the socket's descriptor and never reads or writes on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import Callable

TICK_SECONDS = 0.004  # the longest a relay's small packet waits on the box's ACK
LINGER_SECONDS = 1.0  # after the last connection's activity: the next phone's open


class QuickAck:
    """Started on the socket ssh carries the link on; `poke` on any connection activity;
    stopped when ssh has ended."""

    def __init__(self, link: socket.socket, busy: Callable[[], bool]) -> None:
        # the loop's paused transport owns the descriptor: a duplicate of our own
        self._sock = socket.socket(fileno=os.dup(link.fileno()))
        self._busy = busy
        self._loop = asyncio.get_running_loop()
        self._tick: asyncio.TimerHandle | None = None
        self._poked = 0.0

    def poke(self) -> None:
        self._poked = time.monotonic()
        if self._tick is None and self._sock.fileno() >= 0:
            self._ack()

    def _ack(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
        if self._busy() or time.monotonic() - self._poked < LINGER_SECONDS:
            self._tick = self._loop.call_later(TICK_SECONDS, self._ack)
        else:
            self._tick = None

    def stop(self) -> None:
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self._sock.close()
