"""Who is in which room, kept in Django's cache so every process shares it.

The cache is local memory by default (one process) and Redis when
`REDIS_URL` is set (shared by all processes). Each room holds
`{user_id: [{process: sockets}, name, staff]}` under one key, changed under a
short lock taken with the atomic `cache.add`. Every process keeps a key of
its own alive (`ALIVE_TTL`, refreshed by `heartbeat()` from the process's
fan-out and on every join and leave); counts held by a process whose key has
expired (it crashed without closing its sockets) are ignored when read and
pruned on the next write, so a dead process's users drop out of presence
within `ALIVE_TTL` seconds.
"""

import logging
import os
import socket
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


def _key(room_id: int) -> str:
    return f"chat:presence:{room_id}"


def _alive_key(process: str) -> str:
    return f"chat:alive:{process}"


def heartbeat() -> None:
    """Mark this process alive for another `ALIVE_TTL` seconds."""
    cache.set(_alive_key(PROCESS), 1, timeout=ALIVE_TTL)


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


def _dead_processes(states: list[dict]) -> set[str]:
    """Return the processes named in `states` whose alive key has expired."""
    others = {
        process
        for state in states
        for counts, _name, _staff in state.values()
        for process in counts
        if process != PROCESS
    }
    if not others:
        return set()
    alive = cache.get_many([_alive_key(process) for process in others])
    return {process for process in others if _alive_key(process) not in alive}


def _live(state: dict, dead: set[str]) -> dict:
    """Return `state` without the counts of dead processes (and empty users)."""
    if not dead:
        return state
    live = {}
    for user_id, (counts, name, staff) in state.items():
        kept = {p: n for p, n in counts.items() if p not in dead}
        if kept:
            live[user_id] = [kept, name, staff]
    return live


def _as_list(state: dict) -> list[dict]:
    users = [
        {"id": int(user_id), "name": name, "staff": staff}
        for user_id, (_counts, name, staff) in state.items()
    ]
    users.sort(key=lambda u: (u["name"].casefold(), u["id"]))
    return users


def _load(room_id: int) -> dict:
    state = cache.get(_key(room_id)) or {}
    return _live(state, _dead_processes([state]))


def join(room_id: int, *, user_id: int, name: str, staff: bool) -> tuple[bool, list]:
    """Count one more socket for the user; return (first socket?, users)."""
    heartbeat()
    with _RoomLock(room_id):
        state = _load(room_id)
        counts = state.get(user_id, [{}])[0]
        first = not counts
        counts[PROCESS] = counts.get(PROCESS, 0) + 1
        state[user_id] = [counts, name, staff]
        cache.set(_key(room_id), state, timeout=PRESENCE_TTL)
    return first, _as_list(state)


def leave(room_id: int, *, user_id: int) -> tuple[bool, list]:
    """Count one socket fewer for the user; return (last socket?, users)."""
    heartbeat()
    with _RoomLock(room_id):
        state = _load(room_id)
        entry = state.get(user_id)
        last = False
        if entry is not None and entry[0].get(PROCESS):
            counts = entry[0]
            counts[PROCESS] -= 1
            if not counts[PROCESS]:
                del counts[PROCESS]
            if not counts:
                del state[user_id]
                last = True
        cache.set(_key(room_id), state, timeout=PRESENCE_TTL)
    return last, _as_list(state)


def room_users(room_id: int) -> list[dict]:
    return _as_list(_load(room_id))


def rooms_users(room_ids: list[int]) -> dict[int, list[dict]]:
    """Return {room_id: users} for many rooms in two cache round trips."""
    found = cache.get_many([_key(room_id) for room_id in room_ids])
    states = {room_id: found.get(_key(room_id)) or {} for room_id in room_ids}
    dead = _dead_processes(list(states.values()))
    return {room_id: _as_list(_live(state, dead)) for room_id, state in states.items()}
