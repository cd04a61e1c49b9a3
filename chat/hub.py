"""This process's chat sockets, and everything live about them.

One `Hub` per process (`hub()`, the only registry) owns the chat's live
state: the sockets by room, each room's shared history frame, who is
present, the status lines and presence lists waiting to go out, and the
writer that stores messages in batches. It subscribes to a room's group
once, whatever the number of sockets (`pairup/layer.py`), and writes each
event of `chat/broadcast.py` to its sockets, the frames encoded once.

A socket's way in (`ChatConsumer.connect` calls `join`; docs/live.md walks
through it):
1. The socket goes into its room's local set first, so nothing broadcast
   after its history can be missed (frames wait in its backlog until the
   history is sent), and the hub makes sure the room's group is joined.
2. `history`: the room's history frame, shared by the sockets that join
   while nothing is stored or deleted (one query for a crowd).
3. `Presence.join` counts the socket; a user's first socket in the room
   (in any process) queues "... has entered the room." for the others and
   schedules the room's presence list. A socket whose client is gone by
   then (daphne gives up on a handshake after 5 s, as when a crowd
   reconnects after a restart, and the page retries) is not counted.
Anything failing on the way (the database, the cache, the layer) undoes the
steps before it and raises: the consumer refuses the handshake and the page
retries.

Several processes (Redis): each counts its own sockets and publishes a
snapshot of its users per room to the cache; a presence event tells every
process in the room to rebuild the list from the snapshots. A process keeps
a key alive while it runs; when it dies, the others drop its users within
`ALIVE_TTL` + `HEARTBEAT_SECONDS` and tell their open sockets. When the
channel layer comes back after an outage, the hub republishes its snapshots
and sends every local socket its room's history and presence again.
"""

import asyncio
import bisect
import contextlib
import json
import logging
import os
import sys
import threading
import time

from asgiref.sync import sync_to_async
from channels.db import database_sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError

from chat.broadcast import CLOSE_TOO_SLOW, encode, room_group
from chat.selectors import message_frame, message_history
from chat.services import message_post_many
from pairup.internals import wire_frames
from pairup.layer import PROCESS, LayerUnavailable, Listener, listener

logger = logging.getLogger(__name__)

# Presence lists go out at most this often per room (longer in big rooms).
PRESENCE_INTERVAL = 0.25
# Status lines that queue within this long go out as one event.
STATUS_INTERVAL = 0.05
# A room's history frame is shared by joining sockets for this long at most
# (author names may change).
HISTORY_MAX_AGE = 5.0
# A client whose unsent frames pass this is closed (4413): daphne applies no
# backpressure, so a reader that stops would grow memory for ever.
OUTGOING_BUFFER_LIMIT = 1024 * 1024
# Write a batch of frames straight to daphne's transport (pairup/internals.py).
WIRE = os.environ.get("PAIRUP_CHAT_WIRE", "1") != "0"

# The writer: posts that queue while a batch is stored go in the next one.
BATCH_MAX = 500
QUEUE_MAX = 5000  # past this many waiting posts the database is stalled
NOT_LIVE = (
    "Live chat lost its link to the other servers: your message was not sent. "
    "Try again in a few seconds."
)
NOT_STORED = "That message could not be stored: try again in a moment."

# Several processes: see the module docstring.
ALIVE_TTL = 20
HEARTBEAT_SECONDS = 5.0
SNAPSHOT_TTL = 6 * 3600
REGISTRY_KEY = "chat:processes"
# One user's arrival or departure in a room is checked by one process at a
# time (`_user_claim`): a claim held this long by a process that died lapses,
# and a process waits this long for one before it checks anyway.
CLAIM_TTL = 2
CLAIM_WAIT = 1.0

# `PAIRUP_CHAT_STATS=<seconds>` prints this process's counters to stderr.
STATS_INTERVAL = float(os.environ.get("PAIRUP_CHAT_STATS") or 0)

PRESENCE_START = '{"type":"presence","users":['
PRESENCE_END = "]}"


def presence_interval(users: int) -> float:
    """Return how long a room's presence changes gather before going out:
    longer in a big room, where every list is long and goes to everyone (a
    second for 1,000 users)."""
    return max(PRESENCE_INTERVAL, min(users / 1000, 2.0))


def load_history(room) -> str:
    """Return the room's `history` frame, encoded (database thread)."""
    messages = [message_frame(m) for m in message_history(room=room)]
    return encode({"type": "history", "messages": messages})


class ClientGone(Exception):
    """The socket's client left before it was counted in the room."""


# Presence ------------------------------------------------------------------


def _alive_key(process: str) -> str:
    return f"chat:alive:{process}"


def _snapshot_key(room_id: int, process: str) -> str:
    return f"chat:presence:{room_id}:{process}"


def _claim_key(room_id: int, user_id: int) -> str:
    return f"chat:presence-claim:{room_id}:{user_id}"


@contextlib.contextmanager
def _user_claim(room_id: int, user_id: int, process: str):
    """Hold, across processes, the right to decide whether the user just
    arrived in or left the room: the check reads the other processes'
    snapshots and then writes this one's, and two processes doing that at
    the same instant (two tabs landing on two processes, as after a restart)
    would each miss the other: "has entered" twice, or "has left" never."""
    key = _claim_key(room_id, user_id)
    token = f"{process}:{threading.get_ident()}:{time.monotonic_ns()}"
    deadline = time.monotonic() + CLAIM_WAIT
    held = cache.add(key, token, timeout=CLAIM_TTL)
    while not held and time.monotonic() < deadline:
        time.sleep(0.005)
        held = cache.add(key, token, timeout=CLAIM_TTL)
    try:
        yield
    finally:
        if held and cache.get(key) == token:
            cache.delete(key)


def _entry(user_id: int, name: str, staff: bool) -> tuple:
    """Return (sort key, encoded user) for a room's sorted list."""
    encoded = json.dumps(
        {"id": user_id, "name": name, "staff": staff},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return (name.casefold(), user_id), encoded


class _Room:
    """Who this process holds in one room, and what the others hold."""

    def __init__(self):
        self.counts: dict[int, int] = {}  # user -> sockets here
        self.users: dict[int, tuple] = {}  # user -> (name, staff)
        self.order: list[tuple] = []  # sorted entries of `users`
        self.remote: dict[int, tuple] = {}  # the other processes' users
        self.frame: str | None = None
        self.published: dict | None = None  # the snapshot last published
        self.published_at = 0.0

    def add(self, user_id: int, name: str, staff: bool) -> bool:
        count = self.counts.get(user_id, 0)
        self.counts[user_id] = count + 1
        if count:
            return False
        self.users[user_id] = (name, staff)
        bisect.insort(self.order, _entry(user_id, name, staff))
        self.frame = None
        return True

    def rename(self, user_id: int, name: str) -> bool:
        entry = self.users.get(user_id)
        if entry is None or entry[0] == name:
            return False
        old, staff = entry
        del self.order[bisect.bisect_left(self.order, _entry(user_id, old, staff))]
        self.users[user_id] = (name, staff)
        bisect.insort(self.order, _entry(user_id, name, staff))
        self.frame = None
        return True

    def remove(self, user_id: int) -> bool:
        count = self.counts.get(user_id, 0)
        if count != 1:
            if count:
                self.counts[user_id] = count - 1
            return False
        del self.counts[user_id]
        name, staff = self.users.pop(user_id)
        del self.order[bisect.bisect_left(self.order, _entry(user_id, name, staff))]
        self.frame = None
        return True


class Presence:
    """Who is in which room: counted in memory, shared through the cache
    only when there are other processes (`shared`).

    Thread-safe: the hub calls it from its loop (one process) or from worker
    threads (cache I/O), and the `/chat/` page from request threads.
    """

    def __init__(self, *, shared: bool, process: str = PROCESS):
        self.shared = shared
        self.process = process  # another name only in tests: two in one
        self.lock = threading.Lock()
        self.publishing = threading.Lock()  # snapshots are written in order
        self.rooms: dict[int, _Room] = {}
        self.others: set[str] | None = None  # live processes, by the heartbeat

    def join(self, room_id: int, *, user_id: int, name: str, staff: bool) -> bool:
        """Count one more socket; return whether it is the user's first in
        the room (in any process)."""
        with self.lock:
            room = self.rooms.setdefault(room_id, _Room())
            first_here = room.add(user_id, name, staff)
        if not first_here or not self.shared:
            return first_here
        try:
            return not self._changed_here(room_id, user_id)
        except Exception:
            with self.lock:  # not counted after all: the caller sees the error
                room.remove(user_id)
            raise

    def leave(self, room_id: int, *, user_id: int) -> bool:
        """Count one socket fewer; return whether it was the user's last in
        the room (in any process)."""
        with self.lock:
            room = self.rooms.get(room_id)
            last_here = room is not None and room.remove(user_id)
            if room is not None and not room.counts and not self.shared:
                del self.rooms[room_id]
        if not last_here or not self.shared:
            return last_here
        return not self._changed_here(room_id, user_id)

    def rename(self, room_id: int, *, user_id: int, name: str) -> bool:
        """List a user of this process under a new name; return whether the
        list changed."""
        with self.lock:
            room = self.rooms.get(room_id)
            return room is not None and room.rename(user_id, name)

    def frame(self, room_id: int) -> str:
        """Return the room's `presence` frame, encoded: this process's users
        and the other processes' as last read."""
        with self.lock:
            room = self.rooms.get(room_id)
            if room is None:
                return PRESENCE_START + PRESENCE_END
            if room.frame is None:
                order = room.order
                extra = [
                    _entry(user_id, name, staff)
                    for user_id, (name, staff) in room.remote.items()
                    if user_id not in room.counts
                ]
                if extra:
                    order = sorted(order + extra)
                room.frame = PRESENCE_START + ",".join(e[1] for e in order)
                room.frame += PRESENCE_END
            return room.frame

    def users(self, room_ids: list[int]) -> dict[int, dict[int, tuple]]:
        """Return {room: {user: (name, staff)}} of this process's sockets."""
        with self.lock:
            return {
                room_id: dict(room.users) if (room := self.rooms.get(room_id)) else {}
                for room_id in room_ids
            }

    # Several processes (cache I/O: call from a worker thread) -------------

    def _changed_here(self, room_id: int, user_id: int) -> bool:
        """After the user's first socket here joined or last one left:
        publish at once (a user who joins the room in another process a
        moment later must find this one in the list that comes with the
        history), and return whether another live process holds a socket of
        the user in the room."""
        with _user_claim(room_id, user_id, self.process):
            remote = self.refresh(room_id)
            self.publish(room_id)
        return user_id in remote

    def refresh(self, room_id: int) -> dict:
        """Read the other live processes' users in the room (before
        `frame`) and return them."""
        if self.others is None:
            self.heartbeat()
        others = sorted(self.others or ())
        remote = {}
        if others:
            found = cache.get_many(
                [_snapshot_key(room_id, p) for p in others]
                + [_alive_key(p) for p in others]
            )
            for process in others:
                snapshot = found.get(_snapshot_key(room_id, process))
                if snapshot and _alive_key(process) in found:
                    remote.update(snapshot)
        with self.lock:
            room = self.rooms.get(room_id)
            if room is not None and room.remote != remote:
                room.remote, room.frame = remote, None
        return remote

    def publish(self, room_id: int) -> None:
        """Write this process's users in the room for the other processes."""
        with self.publishing:
            with self.lock:
                room = self.rooms.get(room_id)
                snapshot = dict(room.users) if room is not None else {}
                if room is not None and not room.counts:
                    del self.rooms[room_id]
                if room is not None and room.published == snapshot:
                    room.published_at = time.monotonic()
                    return
            key = _snapshot_key(room_id, self.process)
            if snapshot:
                cache.set(key, snapshot, timeout=SNAPSHOT_TTL)
            else:
                cache.delete(key)
            if room is not None:
                with self.lock:
                    room.published, room.published_at = snapshot, time.monotonic()

    def republish(self) -> None:
        """Write every snapshot again (the cache lost them: Redis restarted)."""
        with self.lock:
            for room in self.rooms.values():
                room.published = None
            room_ids = list(self.rooms)
        for room_id in room_ids:
            self.publish(room_id)

    def heartbeat(self) -> set[str]:
        """Keep this process alive for `ALIVE_TTL`, keep the registry of
        processes current, and return the processes that died since the
        last beat. The registry has no lock: a lost update heals at the next
        beat, and a new process is known at once from its presence events.
        """
        cache.set(_alive_key(self.process), 1, timeout=ALIVE_TTL)
        registry = set(cache.get(REGISTRY_KEY) or ())
        others = registry - {self.process}
        alive = cache.get_many([_alive_key(p) for p in others]) if others else {}
        live = {p for p in others if _alive_key(p) in alive}
        if registry != live | {self.process}:
            cache.set(REGISTRY_KEY, sorted(live | {self.process}), timeout=None)
        now = time.monotonic()
        with self.lock:
            gone = (self.others or set()) - live
            self.others = live
            stale = [
                room_id
                for room_id, room in self.rooms.items()
                if room.published and now - room.published_at > SNAPSHOT_TTL / 2
            ]
        for room_id in stale:
            with self.lock:
                if room_id in self.rooms:
                    self.rooms[room_id].published = None
            self.publish(room_id)
        return gone

    def met(self, process: str) -> None:
        """Note a process seen in an event (it may not be registered yet)."""
        if process and process != self.process:
            with self.lock:
                if self.others is not None:
                    self.others.add(process)


def rooms_users(room_ids: list[int]) -> dict[int, list[dict]]:
    """Return {room: users, sorted by name} for many rooms, from every live
    process (the `/chat/` page; any thread)."""
    running = current_hub()
    local = running.presence.users(room_ids) if running else {}
    merged = {room_id: dict(local.get(room_id, {})) for room_id in room_ids}
    if settings.REDIS_URL:
        processes = [p for p in cache.get(REGISTRY_KEY) or () if p != PROCESS]
        if processes:
            found = cache.get_many(
                [_alive_key(p) for p in processes]
                + [_snapshot_key(r, p) for r in room_ids for p in processes]
            )
            for room_id in room_ids:
                for process in processes:
                    snapshot = found.get(_snapshot_key(room_id, process))
                    if snapshot and _alive_key(process) in found:
                        for user_id, entry in snapshot.items():
                            merged[room_id].setdefault(user_id, entry)
    result = {}
    for room_id, users in merged.items():
        listed = [
            {"id": int(user_id), "name": name, "staff": staff}
            for user_id, (name, staff) in users.items()
        ]
        listed.sort(key=lambda user: (user["name"].casefold(), user["id"]))
        result[room_id] = listed
    return result


# The hub -------------------------------------------------------------------


class Hub:
    """This process's chat sockets by room, fed by the layer listener.

    A consumer in the hub has `room`, `user`, `closing`, `present`,
    `presence` (the list it has), `deliver(frames, wire)`, `unsent()`,
    `gone()`, `close(code)` and `close_slow(code)` (see ChatConsumer).
    """

    def __init__(self, live: Listener):
        self.live = live
        self.loop = live.loop
        self.presence = Presence(shared=live.shared)
        self.rooms: dict[int, dict] = {}  # room -> {consumer: joined at}
        self.versions: dict[int, int] = {}  # bumped by every history change
        self.histories: dict[int, tuple] = {}  # room -> (version, at, frame)
        self.history_locks: dict[int, asyncio.Lock] = {}
        self.statuses: dict[int, list] = {}  # room -> status lines queued
        self.flushes: set[int] = set()  # rooms whose presence is scheduled
        self.queue: list[tuple] = []  # posts waiting for the writer
        self.writing: asyncio.Task | None = None
        self.tasks: set[asyncio.Task] = set()
        self.background: list[asyncio.Task] = []
        self.stats = {"frames": 0, "deliveries": 0}
        live.on_up.append(self._resync)

    def _spawn(self, coroutine) -> asyncio.Task:
        task = self.loop.create_task(coroutine)
        self.tasks.add(task)  # a task nobody references may vanish
        task.add_done_callback(self.tasks.discard)
        return task

    # Joining and leaving ----------------------------------------------------

    async def join(self, consumer) -> tuple[str, str]:
        """Put the socket in its room; return its history and presence frames.

        Raise if the room can't be joined; nothing is left behind then.
        """
        if not self.live.up:
            raise LayerUnavailable("the channel layer is away")
        room_id, user = consumer.room.pk, consumer.user
        members = self.rooms.setdefault(room_id, {})
        members[consumer] = time.time()
        version = self.versions.get(room_id, 0)
        try:
            group = room_group(room_id)
            self.live.subscribe_nowait(group, self, self._on_event)
            self._start()
            await self.live.join(group)
            history = await self._history(room_id, version, consumer.room)
            if consumer.gone():
                # The wait outlasted daphne's handshake timeout: the page
                # retries, and this socket must not come and go in the room.
                raise ClientGone("the client left during the handshake")
            first = await self._presence(
                self.presence.join,
                room_id,
                user_id=user.pk,
                name=user.display_name,
                staff=user.is_staff or user.is_superuser,
            )
        except BaseException:
            await self.leave(consumer)
            raise
        consumer.present = True
        consumer.presence = self.presence.frame(room_id)
        if first:
            self.status(room_id, f"{user.display_name} has entered the room.", user.pk)
            self.presence_changed(room_id)
        return history, consumer.presence

    async def leave(self, consumer) -> None:
        """Take the socket out of its room (and its presence, if counted)."""
        room_id, user = consumer.room.pk, consumer.user
        members = self.rooms.get(room_id)
        if not members or members.pop(consumer, None) is None:
            return
        if not members:
            del self.rooms[room_id]
            self.histories.pop(room_id, None)
            lock = self.history_locks.get(room_id)
            if lock is not None and not lock.locked():
                del self.history_locks[room_id]
            await self.live.unsubscribe(room_group(room_id), self)
            if not self.rooms:
                self._stop()
        if not consumer.present:
            return
        consumer.present = False
        try:
            last = await self._presence(self.presence.leave, room_id, user_id=user.pk)
        except Exception:
            logger.exception("presence of room %s: a leave was not counted", room_id)
            return
        if last:
            self.status(room_id, f"{user.display_name} has left the room.")
            self.presence_changed(room_id)

    async def renamed(self, consumer) -> None:
        """The socket's user has a new display name: send the room's list
        (once for all of the user's sockets in the room)."""
        room_id, user = consumer.room.pk, consumer.user
        if self.presence.rename(room_id, user_id=user.pk, name=user.display_name):
            self.presence_changed(room_id)

    async def _presence(self, method, *args, **kwargs):
        """Call a Presence method: inline when alone, in a thread otherwise
        (it reads and writes the cache)."""
        if not self.presence.shared:
            return method(*args, **kwargs)
        return await sync_to_async(method, thread_sensitive=False)(*args, **kwargs)

    # History ---------------------------------------------------------------

    async def _history(self, room_id: int, version: int, room) -> str:
        """Return the room's history frame for a socket that joined at
        `version`: the cached one if it was loaded since, else a new load.

        The lock makes a crowd wait for one load. A frame loaded from version
        v serves the sockets that joined at v or earlier: no message was
        stored or deleted between the load's start and their join, and
        anything after a join reaches the socket through the fan-out.
        """
        async with self.history_locks.setdefault(room_id, asyncio.Lock()):
            cached = self.histories.get(room_id)
            if (
                cached is not None
                and cached[0] >= version
                and time.monotonic() - cached[1] < HISTORY_MAX_AGE
            ):
                return cached[2]
            start, at = self.versions.get(room_id, 0), time.monotonic()
            frame = await database_sync_to_async(load_history)(room)
            if self.versions.get(room_id, 0) == start and room_id in self.rooms:
                self.histories[room_id] = (start, at, frame)
            return frame

    def _history_changed(self, room_id: int) -> None:
        self.versions[room_id] = self.versions.get(room_id, 0) + 1
        self.histories.pop(room_id, None)

    # Status lines and presence lists ---------------------------------------

    def status(self, room_id: int, text: str, skip_user: int | None = None) -> None:
        """Queue a status line for the room's sockets, except `skip_user`'s
        and those that join after it was queued."""
        queued = self.statuses.get(room_id)
        if queued is None:
            queued = self.statuses[room_id] = []
            self._spawn(self._send_statuses(room_id))
        queued.append(
            (encode({"type": "status", "text": text}), skip_user, time.time())
        )

    async def _send_statuses(self, room_id: int) -> None:
        try:
            await asyncio.sleep(STATUS_INTERVAL)
        finally:
            queued = self.statuses.pop(room_id, [])
        frames, skips, times = zip(*queued, strict=True) if queued else ((), (), ())
        await self.live.publish(
            room_group(room_id),
            {
                "type": "chat.frames",
                "room": room_id,
                "frames": list(frames),
                "skip_users": list(skips),
                "queued_at": list(times),
            },
        )

    def presence_changed(self, room_id: int) -> None:
        """Send the room's presence list soon, once per burst of changes:
        the only place presence is coalesced."""
        if room_id in self.flushes:
            return
        self.flushes.add(room_id)
        self._spawn(self._send_presence(room_id))

    async def _send_presence(self, room_id: int) -> None:
        try:
            await asyncio.sleep(presence_interval(len(self.rooms.get(room_id, ()))))
        finally:
            self.flushes.discard(room_id)
        if self.presence.shared:
            try:
                await self._presence(self.presence.publish, room_id)
            except Exception:
                logger.exception("publishing presence of room %s failed", room_id)
        await self.live.publish(
            room_group(room_id), {"type": "chat.presence", "room": room_id}
        )

    async def _show_presence(self, room_id: int) -> None:
        """Write the room's presence list to the local sockets that don't
        have this very list yet. A socket still joining gets its list with
        its history: this one may have been taken before it was counted, and
        would reach it after its own."""
        if self.presence.shared:
            await self._presence(self.presence.refresh, room_id)
        frame = self.presence.frame(room_id)
        members = [
            c for c in self.rooms.get(room_id, ()) if c.present and c.presence != frame
        ]
        await self._deliver(room_id, [frame], members=members)
        for consumer in members:
            consumer.presence = frame

    # Events ----------------------------------------------------------------

    async def _on_event(self, event: dict) -> None:
        room_id = event["room"]
        kind = event["type"]
        if kind == "chat.frames":
            if event.get("history_changed"):
                self._history_changed(room_id)
            await self._deliver(
                room_id,
                event["frames"],
                event.get("skip_users"),
                event.get("queued_at"),
            )
        elif kind == "chat.presence":
            self.presence.met(event.get("origin", ""))
            await self._show_presence(room_id)
        elif kind == "chat.close":
            self._history_changed(room_id)
            for consumer in list(self.rooms.get(room_id, ())):
                if event.get("user") in (None, consumer.user.pk):
                    consumer.closing = True
                    with contextlib.suppress(Exception):
                        await consumer.close(code=event["code"])

    async def _deliver(
        self, room_id, frames, skips=None, queued_at=None, *, members=None
    ) -> None:
        """Write frames to every local socket in the room (or to `members`),
        framed for the wire once; batched status lines skip their subject's
        sockets and sockets that joined after they were queued."""
        joined = self.rooms.get(room_id, {})
        if members is not None:
            members = {c: joined[c] for c in members if c in joined}
        else:
            members = joined
        if not members or not frames:
            return
        self.stats["frames"] += len(frames)
        self.stats["deliveries"] += len(frames) * len(members)
        framed: list[bytes] = []

        def wire() -> bytes:
            if not framed:
                framed.append(wire_frames(frames))
            return framed[0]

        for consumer, since in list(members.items()):
            if consumer.closing:
                continue
            try:
                if skips and (
                    consumer.user.pk in skips or since > min(queued_at or [0])
                ):
                    mine = [
                        frame
                        for frame, skip, at in zip(
                            frames, skips, queued_at, strict=True
                        )
                        if skip != consumer.user.pk and at >= since
                    ]
                    await consumer.deliver(mine, None)
                else:
                    await consumer.deliver(frames, wire if WIRE else None)
            except Exception:
                logger.debug("dropped frames to a closing socket", exc_info=True)
                continue
            if consumer.unsent() > OUTGOING_BUFFER_LIMIT:
                logger.warning(
                    "closing a socket of user %s: it fell %d bytes behind (4413)",
                    consumer.user.pk,
                    consumer.unsent(),
                )
                consumer.closing = True
                with contextlib.suppress(Exception):
                    await consumer.close_slow(CLOSE_TOO_SLOW)

    # Writing messages ------------------------------------------------------

    async def post(self, *, author, room, text):
        """Store a message through the writer; return it, or raise
        ValidationError (empty, too_long, bad_request, muted, rate_limited,
        unavailable)."""
        if not self.live.up:
            raise ValidationError(
                NOT_LIVE, code="unavailable", params={"retry_after": 5}
            )
        if len(self.queue) >= QUEUE_MAX:
            raise ValidationError(
                "The chat is busy: try again in a moment.",
                code="rate_limited",
                params={"retry_after": 1},
            )
        future = self.loop.create_future()
        self.queue.append((author, room, text, future))
        if self.writing is None:
            self.writing = self._spawn(self._write())
        return await future

    async def _write(self) -> None:
        """Store what queued while the last batch was stored, in one go."""
        try:
            while self.queue:
                batch, self.queue = self.queue[:BATCH_MAX], self.queue[BATCH_MAX:]
                try:
                    results = await database_sync_to_async(message_post_many)(
                        posts=[(author, room, text) for author, room, text, _ in batch]
                    )
                except Exception:
                    # The database is away: nothing of the batch was stored.
                    logger.exception("storing %d messages failed", len(batch))
                    error = ValidationError(NOT_STORED, code="unavailable")
                    results = [error] * len(batch)
                for (*_post, future), result in zip(batch, results, strict=True):
                    if future.done():
                        continue
                    if isinstance(result, ValidationError):
                        future.set_exception(result)
                    else:
                        future.set_result(result)
        finally:
            self.writing = None

    # Background: heartbeat, resync after an outage, stats --------------------

    def _start(self) -> None:
        if self.background:
            return
        if self.presence.shared:
            self.background.append(self.loop.create_task(self._heartbeat()))
        if STATS_INTERVAL:
            self.background.append(self.loop.create_task(self._print_stats()))

    def _stop(self) -> None:
        for task in self.background:
            task.cancel()
        self.background = []

    async def _heartbeat(self) -> None:
        """Keep this process's presence alive, and drop dead processes'
        users from the lists of open sockets."""
        while True:
            try:
                gone = await self._presence(self.presence.heartbeat)
            except Exception:
                logger.warning("presence heartbeat failed", exc_info=True)
                gone = set()
            if gone:
                logger.warning("processes gone: %s", ", ".join(sorted(gone)))
                for room_id in list(self.rooms):
                    with contextlib.suppress(Exception):
                        await self._show_presence(room_id)
            await asyncio.sleep(HEARTBEAT_SECONDS)

    async def _resync(self) -> None:
        """After a layer outage: publish presence again and give every local
        socket its room's history and presence (anything may have been
        missed meanwhile)."""
        try:
            await self._presence(self.presence.heartbeat)
            await self._presence(self.presence.republish)
        except Exception:
            logger.warning("republishing presence failed", exc_info=True)
        for room_id, members in list(self.rooms.items()):
            if not members:
                continue
            self._history_changed(room_id)
            room = next(iter(members)).room
            try:
                history = await self._history(room_id, self.versions[room_id], room)
            except Exception:
                logger.warning("resync of room %s failed", room_id, exc_info=True)
                continue
            await self._deliver(room_id, [history])
            for consumer in members:
                consumer.presence = None
            self.presence_changed(room_id)

    async def _print_stats(self) -> None:
        last = None
        while True:
            await asyncio.sleep(STATS_INTERVAL)
            counters = {**self.live.stats, **self.stats}
            if counters != last:
                last = counters
                fields = " ".join(f"{name}={value}" for name, value in counters.items())
                print(f"chat-stats pid={os.getpid()} {fields}", file=sys.stderr)
                sys.stderr.flush()


_hub: Hub | None = None


def hub() -> Hub:
    """Return this process's hub (one per event loop: tests run several)."""
    global _hub
    live = listener()
    if _hub is None or _hub.live is not live:
        _hub = Hub(live)
    return _hub


def current_hub() -> Hub | None:
    """Return the hub if its event loop is running (from any thread)."""
    found = _hub
    if found is None or found.loop.is_closed() or not found.loop.is_running():
        return None
    return found
