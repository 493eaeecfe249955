"""How the server talks with its scan child processes (the probe workers, the walk child):
length-prefixed pickles over a pipe, and how a child is started.

A frame is a 4-byte big-endian length and a pickle; only our own processes are at either end,
so pickle is safe. It never decides what is sent; the two sides of each child do.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import struct
from pathlib import Path
from typing import Any, BinaryIO

HEADER = struct.Struct(">I")
SOURCE = str(Path(__file__).resolve().parents[2])  # where `core` is importable from


def frame(value: Any) -> bytes:
    """One message: its length, then its pickle."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(data)) + data


def read_frame_blocking(stream: BinaryIO) -> Any:
    """The next message on a blocking stream; EOFError at its end."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        raise EOFError
    (size,) = HEADER.unpack(header)
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


async def read_frame(stream: asyncio.StreamReader) -> Any:
    """The next message from a child; asyncio.IncompleteReadError when it has ended."""
    (size,) = HEADER.unpack(await stream.readexactly(HEADER.size))
    return pickle.loads(await stream.readexactly(size))


def child_environment() -> dict[str, str]:
    """The server's environment, with `core` importable whatever the working directory."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [SOURCE, env.get("PYTHONPATH")]))
    return env
