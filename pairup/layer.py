"""This process's one channel on the channel layer, shared by every socket.

Consumers don't read the channel layer themselves (they set
`channel_layer_alias = None`): a process holds one `Listener`, which joins
each group once, however many local sockets want it, and calls the local
subscribers of a group with each event published to it. An event published
in this process reaches the local subscribers at once, without a round trip
through the layer, and the other processes through the layer (the listener
skips its own events when they come back).

With the in-memory layer (no `REDIS_URL`) this process is the only one, so
nothing goes through the layer at all. With Redis, a layer outage (a Redis
restart) doesn't stop the listener: `up` turns False, it retries with
backoff, rejoins every group its subscribers want, and turns `up` again,
calling the `on_up` callbacks so that the apps can resync. A check every few
seconds sends the listener an event through its own group, so groups lost
without an error (memberships vanish with a Redis restart) are rejoined too.

Every layer call is bounded here with `asyncio.timeout` (`LAYER_TIMEOUT`),
not with redis-py's `socket_timeout`: on Python 3.11 redis-py applies that
timeout to writes with `asyncio.wait_for`, which can swallow a task's
cancellation (CPython issue 86296, fixed in 3.12), and a cancelled listener
then reads the layer forever (it hung the test suite on Redis).

Events are dicts with a namespaced `type` ("chat.frames", "socket.close")
and the `group` they were published to; callbacks are coroutines, called in
publishing order, one event at a time.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer

logger = logging.getLogger(__name__)

# This process, in events it publishes and in other apps' shared state.
PROCESS = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

RETRY_FIRST = 0.25  # seconds before the first retry after a layer failure
RETRY_MAX = 4.0
CHECK_SECONDS = 5.0  # how often the listener proves its groups still reach it
# Layer group memberships expire (channels' group_expiry, a day by default).
REFRESH_SECONDS = 3600.0
# A layer call that takes longer fails (a Redis that hangs rather than
# restarts). The listener's own check event arrives every CHECK_SECONDS, so
# a read that waits this long means the layer is away, not idle.
LAYER_TIMEOUT = 15.0

Callback = Callable[[dict], Awaitable[None]]


class LayerUnavailable(Exception):
    """The channel layer can't be reached (e.g. Redis is restarting)."""


async def bounded(call: Awaitable):
    """Await a layer call, raising TimeoutError after LAYER_TIMEOUT."""
    async with asyncio.timeout(LAYER_TIMEOUT):
        return await call


class Listener:
    """This process's subscriptions to layer groups, on one event loop."""

    def __init__(self, layer, loop: asyncio.AbstractEventLoop):
        self.layer = layer
        self.loop = loop
        # Other processes exist only behind a shared layer (Redis).
        self.shared = layer is not None and not isinstance(layer, InMemoryChannelLayer)
        self.up = True
        self.subscribers: dict[str, dict[Any, Callback]] = {}
        self.joined: set[str] = set()  # groups this process's channel is in
        self.locks: dict[str, asyncio.Lock] = {}
        self.queue: asyncio.Queue = asyncio.Queue()
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.on_up: list[Callable[[], Awaitable[None]]] = []
        self.outbox: list[tuple[str, dict]] = []  # for the other processes
        self.sending: asyncio.Task | None = None
        self.check_group = f"process.{uuid.uuid4().hex}"
        self.checked = True  # the last check event came back
        # Events this process sent to the layer, and received from it.
        self.stats = {"layer_sends": 0, "layer_messages": 0}

    # Subscribing --------------------------------------------------------

    def subscribe_nowait(self, group: str, key, callback: Callback) -> None:
        """Call `callback` with the group's events published in this process
        from now on (the other processes' once `join(group)` returned)."""
        self.subscribers.setdefault(group, {})[key] = callback
        self._start()

    async def join(self, group: str) -> None:
        """Make sure this process receives the group's events from the
        other processes; raise LayerUnavailable when the layer is down."""
        await self._sync(group)

    async def subscribe(self, group: str, key, callback: Callback) -> None:
        self.subscribe_nowait(group, key, callback)
        await self.join(group)

    async def unsubscribe(self, group: str, key) -> None:
        members = self.subscribers.get(group)
        if members is None or members.pop(key, None) is None:
            return
        if not members:
            del self.subscribers[group]
            with contextlib.suppress(LayerUnavailable):
                await self._sync(group)
        if not self.subscribers:
            # In a task of its own: the caller may be the dispatcher.
            self.loop.create_task(self._stop())

    async def _sync(self, group: str) -> None:
        """Join or leave the group on the layer as the subscribers want."""
        if not self.shared:
            return
        async with self.locks.setdefault(group, asyncio.Lock()):
            wanted = bool(self.subscribers.get(group))
            if wanted == (group in self.joined):
                return
            try:
                channel = await self._channel()
                if wanted:
                    await bounded(self.layer.group_add(group, channel))
                    self.joined.add(group)
                else:
                    self.joined.discard(group)
                    await bounded(self.layer.group_discard(group, channel))
            except Exception as error:
                raise LayerUnavailable(str(error)) from error

    async def _channel(self) -> str:
        if self.channel is None:
            name = await self.layer.new_channel()  # no I/O: a name
            if self.channel is None:
                self.channel = name
        return self.channel

    # Publishing ---------------------------------------------------------

    def deliver_here(self, event: dict) -> None:
        """Queue an event for this process's subscribers (any thread)."""
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self.queue.put_nowait(event)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def send_soon(self, group: str, event: dict) -> None:
        """Send an event to the other processes from this loop, in order,
        without making the caller (any thread) wait for it."""
        if self.loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self.loop:
            self._queue_send(group, event)
        else:
            self.loop.call_soon_threadsafe(self._queue_send, group, event)

    def _queue_send(self, group: str, event: dict) -> None:
        self.outbox.append((group, event))
        if self.sending is None:
            self.sending = self.loop.create_task(self._send_all())

    async def _send_all(self) -> None:
        try:
            while self.outbox:
                group, event = self.outbox.pop(0)
                self.stats["layer_sends"] += 1
                try:
                    await bounded(self.layer.group_send(group, event))
                except Exception:
                    logger.warning("layer send to %s failed", group, exc_info=True)
        finally:
            self.sending = None

    async def publish(self, group: str, event: dict) -> bool:
        """Publish from this loop; return False if the other processes
        could not be told (the local subscribers always are)."""
        event = {**event, "group": group, "origin": PROCESS}
        self.deliver_here(event)
        if not self.shared:
            return True
        self.stats["layer_sends"] += 1
        try:
            await bounded(self.layer.group_send(group, event))
        except Exception:
            logger.warning("layer send to %s failed", group, exc_info=True)
            return False
        return True

    # The tasks ----------------------------------------------------------

    def _start(self) -> None:
        if self.tasks:
            return
        self.tasks = [self.loop.create_task(self._dispatch())]
        if self.shared:
            self.tasks.append(self.loop.create_task(self._listen()))

    async def _stop(self) -> None:
        """Stop reading once nobody in this process subscribes to anything."""
        if self.subscribers or not self.tasks:
            return
        tasks, self.tasks = self.tasks, []
        channel, self.channel = self.channel, None
        joined, self.joined = self.joined, set()
        for task in tasks:
            task.cancel()
        if channel is not None:
            for group in [*joined, self.check_group]:
                with contextlib.suppress(Exception):
                    await bounded(self.layer.group_discard(group, channel))

    async def _dispatch(self) -> None:
        while True:
            event = await self.queue.get()
            members = self.subscribers.get(event.get("group"))
            if not members:
                continue
            for callback in list(members.values()):
                try:
                    await callback(event)
                except Exception:
                    logger.exception("handling %s failed", event.get("type"))

    async def _listen(self) -> None:
        """Read the layer, and recover from its failures (shared layer only)."""
        await self._recover(first=True)
        checker = self.loop.create_task(self._check())
        try:
            while True:
                try:
                    channel = await self._channel()
                    event = await bounded(self.layer.receive(channel))
                except asyncio.CancelledError:
                    raise
                except Exception:
                    logger.warning("the channel layer failed; retrying", exc_info=True)
                    await self._recover()
                    continue
                if event.get("type") == "layer.check":
                    self.checked = True
                elif event.get("origin") != PROCESS:
                    self.stats["layer_messages"] += 1
                    self.queue.put_nowait(event)
        finally:
            checker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await checker

    async def _recover(self, *, first: bool = False) -> None:
        """Rejoin every group, retrying with backoff until the layer answers."""
        if not first:
            self.up = False
        delay = RETRY_FIRST
        while True:
            try:
                await self._rejoin()
            except Exception:
                if first:
                    self.up = False
                    first = False
                logger.info(
                    "the channel layer is still away; next try in %.1f s", delay
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX)
                continue
            break
        if not self.up:
            self.up = True
            logger.warning("the channel layer is back; groups rejoined")
            for callback in list(self.on_up):
                self.loop.create_task(callback())

    async def _rejoin(self) -> None:
        channel = await self._channel()
        groups = [self.check_group, *self.subscribers]
        for group in groups:
            await bounded(self.layer.group_add(group, channel))
        self.joined = set(groups[1:])
        self.checked = True

    async def _check(self) -> None:
        """Prove every few seconds that this process's groups reach it: a
        Redis restart forgets memberships, and may do so without an error."""
        refreshed = time.monotonic()
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            if not self.up:
                continue
            stale = time.monotonic() - refreshed > REFRESH_SECONDS
            if not self.checked or stale:
                if not self.checked:
                    logger.warning("layer check unanswered: rejoining groups")
                with contextlib.suppress(Exception):
                    await self._rejoin()
                    refreshed = time.monotonic()
            self.checked = False
            with contextlib.suppress(Exception):
                await bounded(
                    self.layer.group_send(
                        self.check_group,
                        {"type": "layer.check", "group": self.check_group},
                    )
                )


_listener: Listener | None = None


def listener() -> Listener:
    """Return this process's listener (one per event loop: tests run several)."""
    global _listener
    loop = asyncio.get_running_loop()
    if _listener is None or _listener.loop is not loop:
        _listener = Listener(get_channel_layer(), loop)
    return _listener


def running_listener() -> Listener | None:
    """Return the listener if its event loop is running (from any thread)."""
    found = _listener
    if found is None or found.loop.is_closed() or not found.loop.is_running():
        return None
    return found


def publish(group: str, event: dict) -> bool:
    """Publish an event to a group from synchronous code (a service's
    on-commit callback, a signal): this process's subscribers get it at
    once, the other processes through the layer, and the caller never waits
    for the layer when this process has a listener. Return False if the
    other processes could not be told; never raise for that.
    """
    local = running_listener()
    event = {**event, "group": group, "origin": PROCESS if local else ""}
    if local is not None:
        local.deliver_here(event)
        if local.shared:
            local.send_soon(group, event)
        return True
    try:
        layer = get_channel_layer()
        if layer is None or isinstance(layer, InMemoryChannelLayer):
            return True  # no other process to tell

        async def send():
            await bounded(layer.group_send(group, event))

        async_to_sync(send)()
    except Exception:
        logger.warning("layer send to %s failed", group, exc_info=True)
        return False
    return True
