"""Who is in which room: counted in memory per process, shared via the cache.

Each process counts its own sockets per room and user in memory, and keeps
each room's users sorted by name with every entry already encoded, so a join
or a leave costs the same in a room of 1,000 as in a room of two, and a
joiner's list is one string join.

Several processes (daphne on Redis) see each other through Django's cache:
a process lists itself under the room (`chat:presence-processes:<room>`,
changed under a short lock taken with the atomic `cache.add`, once per
process and room) and publishes a snapshot of its users
(`chat:presence:<room>:<process>`): at once when a user's first socket joins
or last socket leaves while another process shares the room, and otherwise
with the room's coalesced presence update (`publish`), so a process alone in
a room pays one small cache read per join. A user's first and last socket count across
processes: a join or leave that is first or last here asks the other
processes' snapshots. Each process keeps a key of its own alive
(`ALIVE_TTL`, refreshed by `heartbeat()` from the process's fan-out); the
snapshots of a process whose key has expired (it crashed without closing
its sockets) are ignored, so its users drop out within `ALIVE_TTL` seconds.

The in-memory state is shared by the event loop and the request threads
(`rooms_users` for the room list), under one lock.
"""

import bisect
import json
import logging
import os
import socket
import threading
import time
import uuid

from django.core.cache import cache

logger = logging.getLogger(__name__)

PRESENCE_TTL = 6 * 3600
# A process that stops refreshing its key this long is taken for dead.
ALIVE_TTL = 30
HEARTBEAT_SECONDS = 10
LOCK_TTL = 2
LOCK_WAIT = 2.0

PROCESS = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"

FRAME_START = '{"type":"presence","users":['
FRAME_END = "]}"


def _key(room_id: int) -> str:
    return f"chat:presence-processes:{room_id}"


def _snapshot_key(room_id: int, process: str) -> str:
    return f"chat:presence:{room_id}:{process}"


def _alive_key(process: str) -> str:
    return f"chat:alive:{process}"


def heartbeat() -> None:
    """Mark this process alive for another `ALIVE_TTL` seconds, and keep its
    snapshots from expiring."""
    cache.set(_alive_key(PROCESS), 1, timeout=ALIVE_TTL)
    now = time.monotonic()
    with _lock:
        stale = [
            room_id
            for room_id, room in _rooms.items()
            if room.published_at and now - room.published_at > PRESENCE_TTL / 2
        ]
    for room_id in stale:
        publish(room_id)


class _RoomLock:
    def __init__(self, room_id: int):
        self.key = f"chat:presence-lock:{room_id}"
        self.held = False

    def __enter__(self):
        deadline = time.monotonic() + LOCK_WAIT
        while not cache.add(self.key, 1, timeout=LOCK_TTL):
            if time.monotonic() > deadline:
                logger.warning("presence lock %s not taken; going ahead", self.key)
                return self
            time.sleep(0.002)
        self.held = True
        return self

    def __exit__(self, *exc):
        if self.held:
            cache.delete(self.key)


def _entry(user_id: int, name: str, staff: bool) -> tuple:
    """Return (sort key, encoded user) for the sorted list."""
    encoded = json.dumps(
        {"id": user_id, "name": name, "staff": staff},
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return (name.casefold(), user_id), encoded


class _Room:
    """This process's sockets in one room."""

    def __init__(self):
        self.counts: dict[int, int] = {}
        self.users: dict[int, tuple] = {}  # user_id -> (name, staff)
        self.order: list[tuple] = []  # sorted (sort key, encoded)
        self.remote: dict[int, tuple] = {}  # other processes' users, last read
        self.frame: str | None = None
        self.published: dict | None = None  # the snapshot last published
        self.published_at = 0.0
        self.shared = False  # listed under the room's processes

    def add(self, user_id: int, name: str, staff: bool) -> bool:
        count = self.counts.get(user_id, 0)
        self.counts[user_id] = count + 1
        if count:
            return False
        self.users[user_id] = (name, staff)
        bisect.insort(self.order, _entry(user_id, name, staff))
        self.frame = None
        return True

    def remove(self, user_id: int) -> bool:
        count = self.counts.get(user_id, 0)
        if count > 1:
            self.counts[user_id] = count - 1
            return False
        if not count:
            return False
        del self.counts[user_id]
        name, staff = self.users.pop(user_id)
        entry = _entry(user_id, name, staff)
        index = bisect.bisect_left(self.order, entry)
        del self.order[index]
        self.frame = None
        return True


_lock = threading.Lock()
_publish_lock = threading.Lock()  # one publish at a time, in order
_rooms: dict[int, _Room] = {}


def reset() -> None:
    """Forget this process's sockets (tests)."""
    with _lock:
        _rooms.clear()


def _dead_processes(processes) -> set[str]:
    """Return the processes among `processes` whose alive key has expired."""
    others = {process for process in processes if process != PROCESS}
    if not others:
        return set()
    alive = cache.get_many([_alive_key(process) for process in others])
    return {process for process in others if _alive_key(process) not in alive}


def _remote(room_ids: list[int]) -> dict[int, tuple[dict, bool]]:
    """Return {room_id: (users, shared)}: the other live processes' users in
    the room ({user_id: (name, staff)}) and whether any other live process
    is listed there (one cache round trip when none is)."""
    listed = cache.get_many([_key(room_id) for room_id in room_ids])
    processes = {
        room_id: [p for p in listed.get(_key(room_id), ()) if p != PROCESS]
        for room_id in room_ids
    }
    wanted = {p for found in processes.values() for p in found}
    if not wanted:
        return {room_id: ({}, False) for room_id in room_ids}
    dead = _dead_processes(wanted)
    snapshots = cache.get_many(
        [
            _snapshot_key(room_id, p)
            for room_id, found in processes.items()
            for p in found
            if p not in dead
        ]
    )
    result = {}
    for room_id, found in processes.items():
        users: dict[int, tuple] = {}
        for p in found:
            users.update(snapshots.get(_snapshot_key(room_id, p)) or {})
        result[room_id] = (users, any(p not in dead for p in found))
    return result


def _changed_here(room_id: int, user_id: int) -> bool:
    """After the user's first socket here joined or their last one left:
    publish at once if other processes share the room (or this process is
    not listed in it yet), refresh the view of them, and return whether
    another live process holds a socket of the user in the room."""
    remote, shared = refresh(room_id)
    with _lock:
        room = _rooms.get(room_id)
        listed = room is not None and room.shared
    if shared or not listed:
        publish(room_id)
    return user_id in remote


def join(room_id: int, *, user_id: int, name: str, staff: bool) -> bool:
    """Count one more socket for the user; return whether it is their first
    in the room (in any process)."""
    with _lock:
        room = _rooms.get(room_id)
        if room is None:
            room = _rooms[room_id] = _Room()
        first_here = room.add(user_id, name, staff)
    if not first_here:
        return False
    try:
        return not _changed_here(room_id, user_id)
    except Exception:
        with _lock:  # not counted after all: the caller sees the error
            room.remove(user_id)
        raise


def leave(room_id: int, *, user_id: int) -> bool:
    """Count one socket fewer for the user; return whether it was their last
    in the room (in any process)."""
    with _lock:
        room = _rooms.get(room_id)
        last_here = room is not None and room.remove(user_id)
    return last_here and not _changed_here(room_id, user_id)


def publish(room_id: int) -> None:
    """Write this process's users in the room for the other processes."""
    with _publish_lock:
        _publish(room_id)


def _publish(room_id: int) -> None:
    with _lock:
        room = _rooms.get(room_id)
        snapshot = dict(room.users) if room is not None else {}
        if room is not None and not room.counts:
            del _rooms[room_id]
        if room is not None and room.published == snapshot:
            room.published_at = time.monotonic()
            return
        shared = room is not None and room.shared
    key = _snapshot_key(room_id, PROCESS)
    if snapshot:
        cache.set(key, snapshot, timeout=PRESENCE_TTL)
    else:
        cache.delete(key)
    if snapshot and not shared:
        _list_process(room_id)
    with _lock:
        if room is not None:
            room.published = snapshot
            room.published_at = time.monotonic()
            room.shared = room.shared or bool(snapshot)


def _list_process(room_id: int) -> None:
    """Add this process to the room's processes, dropping dead ones."""
    cache.set(_alive_key(PROCESS), 1, timeout=ALIVE_TTL)  # before it's seen
    with _RoomLock(room_id):
        processes = set(cache.get(_key(room_id)) or ())
        processes -= _dead_processes(processes)
        processes.add(PROCESS)
        cache.set(_key(room_id), processes, timeout=PRESENCE_TTL)


def refresh(room_id: int) -> tuple[dict, bool]:
    """Read the other processes' users in the room (before `frame()`);
    return them and whether another live process is listed there."""
    remote, shared = _remote([room_id])[room_id]
    with _lock:
        room = _rooms.get(room_id)
        if room is not None and room.remote != remote:
            room.remote, room.frame = remote, None
    return remote, shared


def frame(room_id: int) -> str:
    """Return the room's presence frame, encoded: this process's users and
    the other processes' as last read."""
    with _lock:
        room = _rooms.get(room_id)
        if room is None:
            return FRAME_START + FRAME_END
        if room.frame is None:
            order = room.order
            extra = [
                _entry(user_id, name, staff)
                for user_id, (name, staff) in room.remote.items()
                if user_id not in room.counts
            ]
            if extra:
                order = sorted(order + extra)
            room.frame = FRAME_START + ",".join(e[1] for e in order) + FRAME_END
        return room.frame


def _as_list(users: dict[int, tuple]) -> list[dict]:
    found = [
        {"id": int(user_id), "name": name, "staff": staff}
        for user_id, (name, staff) in users.items()
    ]
    found.sort(key=lambda u: (u["name"].casefold(), u["id"]))
    return found


def room_users(room_id: int) -> list[dict]:
    return rooms_users([room_id])[room_id]


def rooms_users(room_ids: list[int]) -> dict[int, list[dict]]:
    """Return {room_id: users} for many rooms, from every live process."""
    remote = _remote(room_ids)
    result = {}
    with _lock:
        for room_id in room_ids:
            users = dict(remote[room_id][0])
            room = _rooms.get(room_id)
            if room is not None:
                users.update(room.users)
            result[room_id] = _as_list(users)
    return result
