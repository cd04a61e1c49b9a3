"""Presence outlives no process: a crashed process's users drop out."""

import pytest
from django.core.cache import cache

from chat import presence

pytestmark = pytest.mark.django_db


def _crashed_process_joins(room_id: int, user_id: int, name: str) -> None:
    """Join as another process that then dies without leaving."""
    real = presence.PROCESS
    presence.PROCESS = "other-host-1-deadbeef"
    try:
        presence.join(room_id, user_id=user_id, name=name, staff=False)
    finally:
        presence.PROCESS = real


def test_users_of_a_process_that_stopped_its_heartbeat_drop_out():
    _crashed_process_joins(7, 5, "Gone")
    presence.join(7, user_id=1, name="Bo", staff=False)
    assert [u["name"] for u in presence.room_users(7)] == ["Bo", "Gone"]

    cache.delete("chat:alive:other-host-1-deadbeef")  # its ALIVE_TTL ran out

    assert [u["name"] for u in presence.room_users(7)] == ["Bo"]
    assert [u["name"] for u in presence.rooms_users([7])[7]] == ["Bo"]


def test_a_user_left_behind_by_a_dead_process_counts_as_new_on_joining_again():
    _crashed_process_joins(7, 5, "Gone")
    cache.delete("chat:alive:other-host-1-deadbeef")

    first, users = presence.join(7, user_id=5, name="Gone", staff=False)

    assert first is True
    assert [u["id"] for u in users] == [5]
    assert presence.leave(7, user_id=5) == (True, [])


def test_a_user_with_sockets_in_two_live_processes_leaves_with_the_last():
    _crashed_process_joins(7, 5, "Ann")  # alive: its key has not expired
    first, _users = presence.join(7, user_id=5, name="Ann", staff=False)
    assert first is False
    last, users = presence.leave(7, user_id=5)
    assert last is False
    assert [u["id"] for u in users] == [5]


def test_the_heartbeat_keeps_a_process_alive_for_a_short_ttl(monkeypatch):
    timeouts = []
    real_set = cache.set
    monkeypatch.setattr(
        cache,
        "set",
        lambda key, *a, **kw: timeouts.append((key, kw)) or real_set(key, *a, **kw),
    )
    presence.heartbeat()
    key = f"chat:alive:{presence.PROCESS}"
    assert cache.get(key) == 1
    assert timeouts == [(key, {"timeout": presence.ALIVE_TTL})]
    assert presence.ALIVE_TTL <= 60
    assert presence.HEARTBEAT_SECONDS * 2 < presence.ALIVE_TTL


@pytest.mark.django_db(transaction=True)
async def test_a_process_with_open_sockets_keeps_refreshing_its_heartbeat(
    alice, monkeypatch
):
    import asyncio

    from asgiref.sync import sync_to_async

    from chat.tests.conftest import joined

    monkeypatch.setattr(presence, "HEARTBEAT_SECONDS", 0.02)
    socket = await joined(alice)
    key = f"chat:alive:{presence.PROCESS}"
    await sync_to_async(cache.delete)(key)  # as if its TTL ran out
    await asyncio.sleep(0.1)
    assert await sync_to_async(cache.get)(key) == 1
    await socket.disconnect()
