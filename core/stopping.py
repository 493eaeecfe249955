"""Ending background work in bounded time: cancel, wait a while, cancel again, then give up and
say by name what is still running.

A task can outlive one cancellation. Python 3.11's `asyncio.wait_for` returns the inner result
instead of raising when the cancellation arrives in the same turn of the loop as that result
(fixed in 3.12), and the task goes on to its next wait; cleanup in a `finally` can also wait on
something that never comes. Stopping the server must not hang on either: a task still running
`grace` seconds after it was cancelled is cancelled again, and one still running after a second
`grace` is left behind and named in the log. A step of the stop (a part's `close`) gets a limit
the same way. Nothing here kills a process or a thread: their owners do that in their close.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

_LOGGER = logging.getLogger("hearth.stopping")
GRACE = 5.0  # seconds a cancelled task has to end; twice that at most, then it is left behind


async def cancel_and_wait(
    tasks: Iterable[asyncio.Task[Any]], what: str, grace: float = GRACE
) -> list[str]:
    """Cancel `tasks` and wait until they end, cancelling again those that outlive `grace`;
    the names of any still running after a second `grace` (logged as an error)."""
    pending = {task for task in tasks if not task.done()}
    for _ in range(2):
        if not pending:
            return []
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=grace)
    if not pending:
        return []
    names = sorted(task.get_name() for task in pending)
    _LOGGER.error(
        "%s: %s did not end within %.1f s of being cancelled", what, ", ".join(names), 2 * grace
    )
    return names


async def within(step: Coroutine[Any, Any, None], what: str, limit: float) -> None:
    """Run one step of a stop (a part's `close`) for at most `limit` seconds, as its own task
    named `stopping:<what>`; its exception, if it raised. A step still running then is logged
    with the name of every task still running, cancelled, and left behind."""
    task = asyncio.get_running_loop().create_task(step, name=f"stopping:{what}")
    try:
        done, _ = await asyncio.wait({task}, timeout=limit)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if done:
        return task.result()
    current = asyncio.current_task()
    running = sorted(t.get_name() for t in asyncio.all_tasks() if t is not current)
    _LOGGER.error(
        "Stopping: %s did not finish within %.0f s (tasks still running: %s)",
        what,
        limit,
        ", ".join(running),
    )
    task.cancel()  # its own waits end (a gather cancels what it gathers); not waited for again
    await asyncio.wait({task}, timeout=min(limit, 1.0))
