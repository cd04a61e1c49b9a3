"""The one path from services to open sockets, and the per-process fan-out.

Everything that reaches a chat socket goes through here, as a frame encoded
once (not once per listener). Each process keeps `{room: its local
consumers}` in a `Hub`, joins each room's channel-layer group once with one
process channel, and a reader task writes every frame to the local sockets.
A broadcast is then one layer message per process, not one per listener,
and with channels_redis it reaches every process.

Contract for other apps' consumers (the lab board joins it too): a consumer
that joins `user_group_name(user_id)` must handle the event
`{"type": "socket.close", "code": 4401}` (method `socket_close`) by closing
with that code. `revoke_user_sockets(user_id)` sends it.

A hub's consumer needs `user_id`, `closing`, `deliver(frame)`,
`deliver_presence(frame)`, `unsent_bytes()` and `close(code)`, and may have
`write_wire(data) -> bool`: write a batch of frames already framed for the
wire (`wire_frames`) in one go, or return False to get them one by one.
"""

import asyncio
import contextlib
import json
import logging
import os
import sys
import time
import weakref
from functools import partial

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer

logger = logging.getLogger(__name__)

CLOSE_REVOKED = 4401  # signed out, password changed or deactivated
CLOSE_GONE = 4404  # the room (its team) was deleted
CLOSE_TOO_SLOW = 4413  # outgoing buffer past its limit

# Presence lists go out at most this often per room and process.
PRESENCE_INTERVAL = 0.25
# A client whose unsent frames pass this is closed (4413): daphne never
# applies backpressure, so a reader that stops would grow memory for ever.
OUTGOING_BUFFER_LIMIT = 1024 * 1024
# A room's history frame is shared by joining sockets for this long at most.
HISTORY_MAX_AGE = 5.0
STATUS_PREFIX = '{"type":"status"'
# Layer group membership expires (channels' group_expiry, a day by default).
GROUP_REFRESH_SECONDS = 3600

# Counters for the load benchmark and for operators (not a product surface):
# layer messages this process sent to room groups, layer messages its hub
# received, and frames those carried. With N processes in a room, each
# batch is one send and N receipts, whatever the number of listeners.
# `PAIRUP_CHAT_STATS=<seconds>` prints them to stderr that often.
STATS = {"layer_sends": 0, "layer_messages": 0, "frames": 0, "deliveries": 0}
STATS_INTERVAL = float(os.environ.get("PAIRUP_CHAT_STATS") or 0)


def encode(frame: dict) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def wire_frames(frames: list[str]) -> bytes:
    """Return `frames` as unmasked WebSocket text frames (RFC 6455), joined.

    Built once per batch and process, then written whole to every local
    socket: one transport write per socket per batch instead of one ASGI
    send (and one UTF-8 encode and frame header) per frame per socket.
    """
    parts = []
    for frame in frames:
        data = frame.encode()
        size = len(data)
        if size < 126:
            parts.append(bytes((0x81, size)))
        elif size < 65536:
            parts.append(b"\x81\x7e" + size.to_bytes(2, "big"))
        else:
            parts.append(b"\x81\x7f" + size.to_bytes(8, "big"))
        parts.append(data)
    return b"".join(parts)


_last_wire: list = [None, b""]


def wire_frame(frame: str) -> bytes:
    """Return `wire_frames([frame])`, reusing the last result for the same
    string object (one presence list goes to every socket of a process)."""
    if _last_wire[0] is not frame:
        _last_wire[:] = [frame, wire_frames([frame])]
    return _last_wire[1]


def room_group_name(room_id: int) -> str:
    return f"room-{room_id}"


def user_group_name(user_id: int) -> str:
    return f"user-{user_id}"


def _fanout(room_id: int, kind: str, **fields) -> dict:
    return {"type": "chat.fanout", "room": room_id, "kind": kind, **fields}


def room_send(room_id: int, frame: dict) -> None:
    """Send one frame to every socket in the room (from sync code)."""
    room_send_many(room_id, [frame])


def room_send_many(room_id: int, frames: list[dict]) -> None:
    """Send frames, in order, to every socket in the room: one layer message."""
    STATS["layer_sends"] += 1
    async_to_sync(get_channel_layer().group_send)(
        room_group_name(room_id),
        _fanout(room_id, "frame", frames=[encode(frame) for frame in frames]),
    )


async def room_send_async(
    room_id: int, frame: dict, *, skip_user: int | None = None
) -> None:
    """Send one frame to the room, except to `skip_user`'s sockets."""
    STATS["layer_sends"] += 1
    await get_channel_layer().group_send(
        room_group_name(room_id),
        _fanout(room_id, "frame", frames=[encode(frame)], skip_user=skip_user),
    )


# Status lines ("... has entered the room.") that queue within this long go
# out as one layer message: a crowd joining costs one fan-out per interval,
# not one per join.
STATUS_INTERVAL = 0.05
_statuses: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = (
    weakref.WeakKeyDictionary()
)


_status_tasks: set = set()


def room_status(room_id: int, text: str, *, skip_user: int | None = None) -> None:
    """Queue a status line for the room, except for `skip_user`'s sockets."""
    loop = asyncio.get_running_loop()
    pending = _statuses.setdefault(loop, {})
    queued = pending.get(room_id)
    if queued is None:
        queued = pending[room_id] = []
        task = loop.create_task(_status_flush(room_id, pending))
        _status_tasks.add(task)  # a task nobody references may vanish
        task.add_done_callback(_status_tasks.discard)
    queued.append((encode({"type": "status", "text": text}), skip_user, time.time()))


async def _status_flush(room_id: int, pending: dict) -> None:
    try:
        await asyncio.sleep(STATUS_INTERVAL)
    finally:
        queued = pending.pop(room_id, [])
    STATS["layer_sends"] += 1
    await get_channel_layer().group_send(
        room_group_name(room_id),
        _fanout(
            room_id,
            "frame",
            frames=[frame for frame, _skip, _at in queued],
            skip_users=[skip for _frame, skip, _at in queued],
            queued_at=[at for _frame, _skip, at in queued],
        ),
    )


def room_close(room_id: int, code: int = CLOSE_GONE) -> None:
    """Close every socket in the room with `code`."""
    STATS["layer_sends"] += 1
    async_to_sync(get_channel_layer().group_send)(
        room_group_name(room_id), _fanout(room_id, "close", code=code)
    )


def room_close_user(room_id: int, user_id: int, code: int = CLOSE_GONE) -> None:
    """Close one user's sockets in the room (e.g. they left the team)."""
    async_to_sync(get_channel_layer().group_send)(
        room_group_name(room_id), _fanout(room_id, "close", code=code, user=user_id)
    )


def revoke_user_sockets(user_id: int) -> None:
    """Close every socket the user holds, in every process (code 4401)."""
    async_to_sync(get_channel_layer().group_send)(
        user_group_name(user_id), {"type": "socket.close", "code": CLOSE_REVOKED}
    )


# Presence coalescing: one pending flush per (event loop, room). The flush
# publishes this process's users and tells every process in the room (one
# layer message); each process's hub then builds the list once, reading the
# others' snapshots, and writes it to its sockets. Built by each receiver
# after the publish it was told of, the last list is never a stale one.
_pending: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict]" = (
    weakref.WeakKeyDictionary()
)


def presence_interval(users: int) -> float:
    """Return how long a room's presence changes gather before going out:
    `PRESENCE_INTERVAL`, and longer in a big room, where every list is long
    and goes to everyone (a second for 1,000 users)."""
    return max(PRESENCE_INTERVAL, min(users / 1000, 2.0))


def presence_changed(room_id: int) -> None:
    """Schedule the room's presence list to go out soon, once per burst."""
    loop = asyncio.get_running_loop()
    pending = _pending.setdefault(loop, {})
    if room_id in pending:
        return
    pending[room_id] = loop.create_task(_presence_flush(room_id, pending))


async def _presence_flush(room_id: int, pending: dict) -> None:
    from chat import presence

    try:
        await asyncio.sleep(presence_interval(len(hub().rooms.get(room_id, ()))))
    finally:
        pending.pop(room_id, None)
    await sync_to_async(presence.publish, thread_sensitive=False)(room_id)
    STATS["layer_sends"] += 1
    await get_channel_layer().group_send(
        room_group_name(room_id), _fanout(room_id, "presence")
    )


# The per-process fan-out ---------------------------------------------------


class Hub:
    """This process's sockets by room, fed by one layer channel."""

    def __init__(self, layer):
        self.layer = layer
        self.rooms: dict[int, set] = {}
        self.channel: str | None = None
        self.tasks: list[asyncio.Task] = []
        self.lock = asyncio.Lock()  # joins and leaves change groups in order
        self.joined_at: dict = {}  # consumer -> time.time() it joined
        # Each room's history frame, shared by the sockets that join while
        # no message is stored or deleted (see `history`).
        self.versions: dict[int, int] = {}  # bumped by every such change
        self.histories: dict[int, tuple] = {}  # room -> (version, at, frame)
        self.loading: dict[int, tuple] = {}  # room -> (version, future)
        self.presence_tasks: dict[int, asyncio.Task] = {}
        self.presence_again: set[int] = set()

    async def join(self, room_id: int, consumer) -> int:
        """Add a socket to the room; return the room's history version (for
        `history`)."""
        async with self.lock:
            if self.channel is None:
                # The layer's own prefix: channels_redis reads every
                # process-local channel through one "specific." key.
                self.channel = await self.layer.new_channel()
                self.tasks = [
                    asyncio.create_task(self._read(self.channel)),
                    asyncio.create_task(self._refresh_groups(self.channel)),
                    asyncio.create_task(self._heartbeat()),
                ]
                if STATS_INTERVAL:
                    self.tasks.append(asyncio.create_task(self._print_stats()))
            members = self.rooms.setdefault(room_id, set())
            if not members:
                await self.layer.group_add(room_group_name(room_id), self.channel)
            members.add(consumer)
            self.joined_at[consumer] = time.time()
            return self.versions.get(room_id, 0)

    async def leave(self, room_id: int, consumer) -> None:
        async with self.lock:
            members = self.rooms.get(room_id)
            if not members or consumer not in members:
                return
            members.discard(consumer)
            self.joined_at.pop(consumer, None)
            if not members:
                del self.rooms[room_id]
                self.histories.pop(room_id, None)
                await self.layer.group_discard(room_group_name(room_id), self.channel)
            if not self.rooms:
                for task in self.tasks:
                    task.cancel()
                self.tasks, self.channel = [], None

    async def history(self, room_id: int, version: int, load) -> str:
        """Return the room's history frame for a socket that joined the room
        at `version`: cached, being loaded, or loaded by `load()` (async).

        A frame loaded from version v serves a socket that joined at v: no
        message was stored or deleted between the load's start and the
        join, and everything after the join reaches the socket through the
        fan-out. A crowd joining a room costs one query, not one per
        socket. Kept `HISTORY_MAX_AGE` seconds at most (author names).
        """
        cached = self.histories.get(room_id)
        if (
            cached is not None
            and cached[0] == version
            and time.monotonic() - cached[1] < HISTORY_MAX_AGE
        ):
            return cached[2]
        loading = self.loading.get(room_id)
        if loading is not None and loading[0] == version:
            try:
                return await asyncio.shield(loading[1])
            except asyncio.CancelledError:
                if not loading[1].cancelled():
                    raise  # this socket's connect was cancelled
                # The loading socket's was: load here.
        start = self.versions.get(room_id, 0)
        future = asyncio.get_running_loop().create_future()
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self.loading[room_id] = (start, future)
        at = time.monotonic()
        try:
            frame = await load()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as error:
            future.set_exception(error)
            raise
        else:
            future.set_result(frame)
        finally:
            if self.loading.get(room_id, (None, None))[1] is future:
                del self.loading[room_id]
        if self.versions.get(room_id, 0) == start and room_id in self.rooms:
            self.histories[room_id] = (start, at, frame)
        return frame

    def history_changed(self, room_id: int) -> None:
        self.versions[room_id] = self.versions.get(room_id, 0) + 1
        self.histories.pop(room_id, None)

    def presence_poke(self, room_id: int) -> None:
        """Build the room's presence list and send it to the local sockets;
        pokes that arrive meanwhile make one more round."""
        if room_id in self.presence_tasks:
            self.presence_again.add(room_id)
            return
        task = asyncio.get_running_loop().create_task(self._presence(room_id))
        self.presence_tasks[room_id] = task

    async def _presence(self, room_id: int) -> None:
        from chat import presence

        try:
            while True:
                self.presence_again.discard(room_id)
                await sync_to_async(presence.refresh, thread_sensitive=False)(room_id)
                frame = presence.frame(room_id)
                for consumer in list(self.rooms.get(room_id, ())):
                    if consumer.closing:
                        continue
                    try:
                        await consumer.deliver_presence(frame)
                    except Exception:
                        logger.debug("dropped presence to a closing socket")
                if room_id not in self.presence_again:
                    return
        except Exception:
            logger.exception("presence update failed for room %s", room_id)
        finally:
            self.presence_tasks.pop(room_id, None)

    async def _read(self, channel: str) -> None:
        while True:
            event = await self.layer.receive(channel)
            STATS["layer_messages"] += 1
            try:
                await self.dispatch(event)
            except Exception:
                logger.exception("chat fan-out failed for %r", event.get("room"))

    async def _refresh_groups(self, channel: str) -> None:
        while True:
            await asyncio.sleep(GROUP_REFRESH_SECONDS)
            for room_id in list(self.rooms):
                await self.layer.group_add(room_group_name(room_id), channel)

    async def _heartbeat(self) -> None:
        """Keep this process's presence counts alive while it holds sockets."""
        from chat import presence

        while True:
            try:
                await sync_to_async(presence.heartbeat, thread_sensitive=False)()
            except Exception:
                logger.exception("presence heartbeat failed")
            await asyncio.sleep(presence.HEARTBEAT_SECONDS)

    async def _print_stats(self) -> None:
        last = None
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            if last != STATS:
                last = dict(STATS)
                fields = " ".join(f"{name}={value}" for name, value in STATS.items())
                print(f"chat-stats pid={os.getpid()} {fields}", file=sys.stderr)
                sys.stderr.flush()

    async def dispatch(self, event: dict) -> None:
        """Write one event to every local socket in its room, without yielding
        between sockets unless a send has to wait."""
        room_id = event["room"]
        kind, skip, only = event["kind"], event.get("skip_user"), event.get("user")
        if kind == "close" or (
            kind == "frame"
            and not all(f.startswith(STATUS_PREFIX) for f in event["frames"])
        ):
            self.history_changed(room_id)
        members = self.rooms.get(room_id)
        if not members:
            return
        if kind == "presence":
            self.presence_poke(room_id)
            return
        wire = None
        if kind == "frame":
            frames = event["frames"]
            # Batched status lines skip their subject's own sockets, and
            # sockets that joined after the line was queued.
            skips = event.get("skip_users") or ()
            skip_set = set(skips)
            queued_at = event.get("queued_at")
            oldest = min(queued_at) if queued_at else float("inf")
            STATS["frames"] += len(frames)
            STATS["deliveries"] += len(frames) * len(members)
        for consumer in list(members):
            if consumer.closing:
                continue
            if skip is not None and consumer.user_id == skip:
                continue
            if only is not None and consumer.user_id != only:
                continue
            # A socket that is closing raises here; the others still get it.
            try:
                if kind == "frame":
                    since = self.joined_at.get(consumer, 0)
                    if consumer.user_id in skip_set or since > oldest:
                        for frame, skipped, at in zip(
                            frames, skips, queued_at, strict=True
                        ):
                            if skipped != consumer.user_id and at >= since:
                                await consumer.deliver(frame)
                        continue
                    write_wire = getattr(consumer, "write_wire", None)
                    if write_wire is not None:
                        if wire is None:
                            wire = wire_frames(frames)
                        written = write_wire(wire)
                    else:
                        written = False
                    if not written:
                        for frame in frames:
                            await consumer.deliver(frame)
                elif kind == "close":
                    await consumer.close(code=event["code"])
            except Exception:
                logger.debug("dropped a frame to a closing socket", exc_info=True)
                continue
            if consumer.unsent_bytes() > OUTGOING_BUFFER_LIMIT:
                consumer.closing = True
                with contextlib.suppress(Exception):
                    await consumer.close(code=CLOSE_TOO_SLOW)


_hubs: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub]" = (
    weakref.WeakKeyDictionary()
)


def hub() -> Hub:
    """Return this process's hub (one per event loop: tests run several)."""
    loop = asyncio.get_running_loop()
    found = _hubs.get(loop)
    if found is None:
        found = _hubs[loop] = Hub(get_channel_layer())
    return found


def unwrap_send(send):
    """Return the server's own send callable behind Channels' middleware.

    Channels' session middleware wraps every send (keeping the original as
    `real_send`) though it only acts on HTTP responses; skipping it is most
    of the cost of a fan-out loop.
    """
    for _ in range(5):
        inner = getattr(getattr(send, "__self__", None), "real_send", None)
        if inner is None:
            return send
        send = inner
    return send


def daphne_protocol(send):
    """Return daphne's WebSocket protocol behind an ASGI send callable, or None.

    daphne's send is `partial(server.handle_reply, protocol)`.
    """
    send = unwrap_send(send)
    if isinstance(send, partial) and send.args:
        return send.args[0]
    return None


def daphne_transport(send):
    """Return the TCP transport behind an ASGI send callable, or None."""
    return getattr(daphne_protocol(send), "transport", None)


def unsent_bytes(transport) -> int:
    """Return bytes a Twisted transport still holds (0 when unknown)."""
    try:
        return len(transport.dataBuffer) - transport.offset + transport._tempDataLen
    except AttributeError:
        return 0


async def room_join(room_id: int, consumer) -> int:
    """Add the consumer to the room's local sockets; return the version to
    pass to `room_history`."""
    return await hub().join(room_id, consumer)


async def room_history(room_id: int, version: int, load) -> str:
    """Return the room's encoded history frame (see `Hub.history`)."""
    return await hub().history(room_id, version, load)


async def room_leave(room_id: int, consumer) -> None:
    with contextlib.suppress(RuntimeError):  # the loop is shutting down
        await hub().leave(room_id, consumer)
