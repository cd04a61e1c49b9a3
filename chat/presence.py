"""Who is in which room, kept in Django's cache so every process shares it.

The cache is local memory by default (one process) and Redis when
`REDIS_URL` is set (shared by all processes). Each room holds
`{user_id: [sockets, name, staff]}` under one key, changed under a short
lock taken with the atomic `cache.add`. Limit: a process that dies without
closing its sockets leaves their users listed until the key expires
(`PRESENCE_TTL`, refreshed on every join and leave).
"""

import logging
import time

from django.core.cache import cache

logger = logging.getLogger(__name__)

PRESENCE_TTL = 6 * 3600
LOCK_TTL = 2
LOCK_WAIT = 2.0


def _key(room_id: int) -> str:
    return f"chat:presence:{room_id}"


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


def _as_list(state: dict) -> list[dict]:
    users = [
        {"id": int(user_id), "name": name, "staff": staff}
        for user_id, (_count, name, staff) in state.items()
    ]
    users.sort(key=lambda u: (u["name"].casefold(), u["id"]))
    return users


def join(room_id: int, *, user_id: int, name: str, staff: bool) -> tuple[bool, list]:
    """Count one more socket for the user; return (first socket?, users)."""
    with _RoomLock(room_id):
        state = cache.get(_key(room_id)) or {}
        count = state.get(user_id, [0])[0]
        state[user_id] = [count + 1, name, staff]
        cache.set(_key(room_id), state, timeout=PRESENCE_TTL)
    return count == 0, _as_list(state)


def leave(room_id: int, *, user_id: int) -> tuple[bool, list]:
    """Count one socket fewer for the user; return (last socket?, users)."""
    with _RoomLock(room_id):
        state = cache.get(_key(room_id)) or {}
        entry = state.get(user_id)
        last = entry is not None and entry[0] <= 1
        if entry is None:
            pass
        elif last:
            del state[user_id]
        else:
            entry[0] -= 1
        cache.set(_key(room_id), state, timeout=PRESENCE_TTL)
    return last, _as_list(state)


def room_users(room_id: int) -> list[dict]:
    return _as_list(cache.get(_key(room_id)) or {})


def rooms_users(room_ids: list[int]) -> dict[int, list[dict]]:
    """Return {room_id: users} for many rooms in one cache round trip."""
    found = cache.get_many([_key(room_id) for room_id in room_ids])
    return {room_id: _as_list(found.get(_key(room_id)) or {}) for room_id in room_ids}
