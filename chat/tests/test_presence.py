"""Presence outlives no process: a crashed process's users drop out."""

import json

import pytest
from django.core.cache import cache

from chat import presence

pytestmark = pytest.mark.django_db


OTHER = "other-host-1-deadbeef"


def _other_process_holds(room_id: int, users: dict) -> None:
    """Publish `users` ({id: name}) as another live process would."""
    cache.set(f"chat:presence-processes:{room_id}", {OTHER})
    cache.set(
        f"chat:presence:{room_id}:{OTHER}",
        {user_id: (name, False) for user_id, name in users.items()},
    )
    cache.set(f"chat:alive:{OTHER}", 1)


def _other_process_dies() -> None:
    cache.delete(f"chat:alive:{OTHER}")  # its ALIVE_TTL ran out


def test_users_of_a_process_that_stopped_its_heartbeat_drop_out():
    _other_process_holds(7, {5: "Gone"})
    presence.join(7, user_id=1, name="Bo", staff=False)
    assert [u["name"] for u in presence.room_users(7)] == ["Bo", "Gone"]

    _other_process_dies()

    assert [u["name"] for u in presence.room_users(7)] == ["Bo"]
    assert [u["name"] for u in presence.rooms_users([7])[7]] == ["Bo"]


def test_a_user_left_behind_by_a_dead_process_counts_as_new_on_joining_again():
    _other_process_holds(7, {5: "Gone"})
    _other_process_dies()

    assert presence.join(7, user_id=5, name="Gone", staff=False) is True
    assert [u["id"] for u in presence.room_users(7)] == [5]
    assert presence.leave(7, user_id=5) is True


def test_a_user_with_sockets_in_two_live_processes_leaves_with_the_last():
    _other_process_holds(7, {5: "Ann"})
    assert presence.join(7, user_id=5, name="Ann", staff=False) is False
    assert presence.leave(7, user_id=5) is False
    assert [u["id"] for u in presence.room_users(7)] == [5]


def test_publishing_shows_this_process_users_to_the_others_until_they_leave():
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.publish(7)
    assert presence.PROCESS in cache.get("chat:presence-processes:7")
    assert cache.get(f"chat:alive:{presence.PROCESS}") == 1  # seen alive at once
    assert cache.get(f"chat:presence:7:{presence.PROCESS}") == {1: ("Bo", False)}

    presence.leave(7, user_id=1)
    presence.publish(7)
    assert cache.get(f"chat:presence:7:{presence.PROCESS}") is None


def test_publishing_drops_dead_processes_from_the_room():
    _other_process_holds(7, {5: "Gone"})
    _other_process_dies()
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.publish(7)
    assert cache.get("chat:presence-processes:7") == {presence.PROCESS}


def test_the_frame_merges_the_other_processes_users_in_name_order():
    _other_process_holds(7, {5: "Cy", 1: "Bo"})
    presence.join(7, user_id=1, name="Bo", staff=False)  # in both: listed once
    presence.join(7, user_id=2, name="Di", staff=True)
    presence.join(7, user_id=3, name="al", staff=False)
    presence.refresh(7)
    frame = json.loads(presence.frame(7))
    assert frame == {
        "type": "presence",
        "users": [
            {"id": 3, "name": "al", "staff": False},
            {"id": 1, "name": "Bo", "staff": False},
            {"id": 5, "name": "Cy", "staff": False},
            {"id": 2, "name": "Di", "staff": True},
        ],
    }
    _other_process_dies()
    presence.refresh(7)
    assert [u["id"] for u in json.loads(presence.frame(7))["users"]] == [3, 1, 2]


def test_the_frame_of_a_room_nobody_is_in_is_an_empty_list():
    assert json.loads(presence.frame(9)) == {"type": "presence", "users": []}


def test_a_user_keeps_their_place_until_their_last_socket_leaves():
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.join(7, user_id=2, name="Al", staff=False)
    assert presence.leave(7, user_id=1) is False
    assert [u["id"] for u in json.loads(presence.frame(7))["users"]] == [2, 1]
    assert presence.leave(7, user_id=1) is True
    assert [u["id"] for u in json.loads(presence.frame(7))["users"]] == [2]


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


def test_a_join_that_cannot_reach_the_cache_is_not_counted(monkeypatch):
    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    with monkeypatch.context() as patched:
        patched.setattr(cache, "get_many", down)
        with pytest.raises(ConnectionError):
            presence.join(7, user_id=1, name="Bo", staff=False)
    assert presence.room_users(7) == []
    assert presence.join(7, user_id=1, name="Bo", staff=False) is True
