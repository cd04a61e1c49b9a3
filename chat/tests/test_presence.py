"""Presence: counted in memory; with other processes, shared through the
cache, and a crashed process's users drop out."""

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from types import SimpleNamespace

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.core.cache import cache

from chat import hub as hub_module
from chat.hub import Presence, rooms_users
from chat.tests.conftest import (
    HOST,
    ORIGIN,
    drain,
    joined,
    next_of_type,
    open_socket,
)
from pairup.layer import PROCESS
from pairup.tests.helpers import session_cookie

OTHER = "other-host-1-deadbeef"
ENGINE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")


def names(frame: str) -> list[str]:
    return [user["name"] for user in json.loads(frame)["users"]]


# One process ------------------------------------------------------------------


def test_presence_counts_sockets_per_user():
    presence = Presence(shared=False)
    assert presence.join(7, user_id=1, name="Bo", staff=False) is True
    assert names(presence.frame(7)) == ["Bo"]
    assert presence.join(7, user_id=1, name="Bo", staff=False) is False
    assert presence.leave(7, user_id=1) is False
    assert presence.leave(7, user_id=1) is True
    assert names(presence.frame(7)) == []
    assert presence.leave(7, user_id=1) is False  # already gone


def test_presence_is_sorted_by_name_then_id():
    presence = Presence(shared=False)
    presence.join(8, user_id=3, name="bea", staff=False)
    presence.join(8, user_id=2, name="Adam", staff=True)
    presence.join(8, user_id=1, name="Bea", staff=False)
    assert [u["id"] for u in json.loads(presence.frame(8))["users"]] == [2, 1, 3]
    assert presence.users([8, 9])[9] == {}


def test_a_user_keeps_their_place_until_their_last_socket_leaves():
    presence = Presence(shared=False)
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.join(7, user_id=2, name="Al", staff=False)
    assert presence.leave(7, user_id=1) is False
    assert names(presence.frame(7)) == ["Al", "Bo"]
    assert presence.leave(7, user_id=1) is True
    assert names(presence.frame(7)) == ["Al"]


def test_one_process_never_touches_the_cache(monkeypatch):
    def no_cache(*args, **kwargs):
        raise AssertionError("the cache was used")

    for method in ("get", "get_many", "set", "delete", "add"):
        monkeypatch.setattr(cache, method, no_cache)
    presence = Presence(shared=False)
    assert presence.join(7, user_id=1, name="Bo", staff=False) is True
    assert presence.leave(7, user_id=1) is True


# Several processes (the cache stands for Redis) ------------------------------


def _other_process_holds(room_id: int, users: dict) -> None:
    """Publish `users` ({id: name}) as another live process would."""
    cache.set(hub_module.REGISTRY_KEY, [OTHER])
    cache.set(
        f"chat:presence:{room_id}:{OTHER}",
        {user_id: (name, False) for user_id, name in users.items()},
    )
    cache.set(f"chat:alive:{OTHER}", 1)


def _other_process_dies() -> None:
    cache.delete(f"chat:alive:{OTHER}")  # its ALIVE_TTL ran out


def test_users_of_a_process_that_stopped_its_heartbeat_drop_out():
    _other_process_holds(7, {5: "Gone"})
    presence = Presence(shared=True)
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.refresh(7)
    assert names(presence.frame(7)) == ["Bo", "Gone"]

    _other_process_dies()

    assert presence.heartbeat() == {OTHER}
    presence.refresh(7)
    assert names(presence.frame(7)) == ["Bo"]
    assert cache.get(hub_module.REGISTRY_KEY) == [PROCESS]  # pruned


def test_a_user_left_behind_by_a_dead_process_counts_as_new_on_joining_again():
    _other_process_holds(7, {5: "Gone"})
    _other_process_dies()
    presence = Presence(shared=True)
    assert presence.join(7, user_id=5, name="Gone", staff=False) is True
    assert presence.leave(7, user_id=5) is True


def test_a_user_with_sockets_in_two_live_processes_leaves_with_the_last():
    _other_process_holds(7, {5: "Ann"})
    presence = Presence(shared=True)
    assert presence.join(7, user_id=5, name="Ann", staff=False) is False
    assert presence.leave(7, user_id=5) is False  # no "has left the room."
    assert cache.get(f"chat:presence:7:{PROCESS}") is None


@pytest.mark.parametrize("moving", ["joins", "leaves"])
def test_a_user_moving_in_two_processes_at_one_instant_is_announced_once(
    monkeypatch, moving
):
    """Two tabs of one user land on two processes at the same moment, as
    after a restart. Each process reads the other's users, then writes its
    own; when both read first, both announced "has entered" (or neither
    "has left"). Forced here: each waits after reading for the other to
    read too (half a second at most)."""
    here, there = Presence(shared=True), Presence(shared=True, process=OTHER)
    for presence in (here, there, here):  # each knows the other
        presence.heartbeat()
    if moving == "leaves":
        here.join(7, user_id=5, name="Ann", staff=False)
        there.join(7, user_id=5, name="Ann", staff=False)

    both_read = threading.Barrier(2, timeout=0.5)
    refresh = Presence.refresh

    def refresh_then_wait(self, room_id):
        remote = refresh(self, room_id)
        with contextlib.suppress(threading.BrokenBarrierError):
            both_read.wait()
        return remote

    monkeypatch.setattr(Presence, "refresh", refresh_then_wait)

    def move(presence):
        if moving == "joins":
            return presence.join(7, user_id=5, name="Ann", staff=False)
        return presence.leave(7, user_id=5)

    with ThreadPoolExecutor(2) as pool:
        announced = list(pool.map(move, (here, there)))

    assert sorted(announced) == [False, True]  # once, by one of them
    assert cache.get(hub_module._claim_key(7, 5)) is None  # let go


def test_publishing_shows_this_process_users_to_the_others_until_they_leave():
    presence = Presence(shared=True)
    presence.join(7, user_id=1, name="Bo", staff=False)
    presence.publish(7)
    assert PROCESS in cache.get(hub_module.REGISTRY_KEY)
    assert cache.get(f"chat:alive:{PROCESS}") == 1  # seen alive at once
    assert cache.get(f"chat:presence:7:{PROCESS}") == {1: ("Bo", False)}

    presence.leave(7, user_id=1)
    presence.publish(7)
    assert cache.get(f"chat:presence:7:{PROCESS}") is None


def test_a_process_shares_a_room_with_another_at_once():
    _other_process_holds(7, {5: "Ann"})
    presence = Presence(shared=True)
    presence.join(7, user_id=1, name="Bo", staff=False)
    # Not waiting for the coalesced update: the other process counts on it.
    assert cache.get(f"chat:presence:7:{PROCESS}") == {1: ("Bo", False)}


def test_the_first_process_in_a_room_shows_its_user_to_the_others_at_once():
    """No other process is in the room (or alive) yet: a user who joins in
    one a moment later must still find this one in the list they get."""
    presence = Presence(shared=True)
    presence.join(7, user_id=1, name="Bo", staff=False)
    assert cache.get(f"chat:presence:7:{PROCESS}") == {1: ("Bo", False)}
    presence.leave(7, user_id=1)
    assert cache.get(f"chat:presence:7:{PROCESS}") is None


def test_the_frame_merges_the_other_processes_users_in_name_order():
    _other_process_holds(7, {5: "Cy", 1: "Bo"})
    presence = Presence(shared=True)
    presence.join(7, user_id=1, name="Bo", staff=False)  # in both: listed once
    presence.join(7, user_id=2, name="Di", staff=True)
    presence.join(7, user_id=3, name="al", staff=False)
    presence.refresh(7)
    assert json.loads(presence.frame(7)) == {
        "type": "presence",
        "users": [
            {"id": 3, "name": "al", "staff": False},
            {"id": 1, "name": "Bo", "staff": False},
            {"id": 5, "name": "Cy", "staff": False},
            {"id": 2, "name": "Di", "staff": True},
        ],
    }


def test_the_frame_of_a_room_nobody_is_in_is_an_empty_list():
    assert json.loads(Presence(shared=True).frame(9)) == {
        "type": "presence",
        "users": [],
    }


def test_the_heartbeat_keeps_a_process_alive_for_a_short_ttl(monkeypatch):
    timeouts = {}
    real_set = cache.set

    def spy(key, value, timeout=None, **kwargs):
        timeouts[key] = timeout
        return real_set(key, value, timeout=timeout, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    Presence(shared=True).heartbeat()
    assert cache.get(f"chat:alive:{PROCESS}") == 1
    assert timeouts[f"chat:alive:{PROCESS}"] == hub_module.ALIVE_TTL
    # A dead process drops out of open sockets' lists within 40 s.
    assert hub_module.ALIVE_TTL + hub_module.HEARTBEAT_SECONDS <= 30


def test_a_join_that_cannot_reach_the_cache_is_not_counted(monkeypatch):
    presence = Presence(shared=True)

    def down(*args, **kwargs):
        raise ConnectionError("cache unreachable")

    with monkeypatch.context() as patched:
        for method in ("get", "get_many", "set"):
            patched.setattr(cache, method, down)
        with pytest.raises(ConnectionError):
            presence.join(7, user_id=1, name="Bo", staff=False)
    assert presence.users([7])[7] == {}
    assert presence.join(7, user_id=1, name="Bo", staff=False) is True


def test_the_rooms_page_lists_the_other_processes_users(settings):
    settings.REDIS_URL = "redis://stands-for-the-cache"
    _other_process_holds(7, {5: "Ann"})
    assert rooms_users([7, 8]) == {
        7: [{"id": 5, "name": "Ann", "staff": False}],
        8: [],
    }
    _other_process_dies()
    assert rooms_users([7]) == {7: []}


@pytest.mark.django_db(transaction=True)
async def test_open_sockets_lose_a_dead_processes_users_without_anyone_joining(
    alice, lobby, shared_layer, monkeypatch
):
    monkeypatch.setattr(hub_module, "HEARTBEAT_SECONDS", 0.05)
    await sync_to_async(_other_process_holds)(lobby.pk, {99: "Ghost"})
    # The registry has no lock: a heartbeat of an earlier test's hub still
    # finishing in a worker thread could write it without the other process
    # (a real one heals that at its next beat, a fake one doesn't). So it
    # registers again once any such write is done, just before the join.
    await asyncio.sleep(0.1)
    await sync_to_async(_other_process_holds)(lobby.pk, {99: "Ghost"})
    socket, connected = await open_socket(alice)
    assert connected
    assert (await socket.receive_json_from())["type"] == "history"
    first = await socket.receive_json_from()
    assert [u["name"] for u in first["users"]] == ["Alice", "Ghost"]

    await sync_to_async(_other_process_dies)()

    presence = await next_of_type(socket, "presence", timeout=2)
    assert [u["name"] for u in presence["users"]] == ["Alice"]
    await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_process_with_open_sockets_keeps_refreshing_its_heartbeat(
    alice, shared_layer, monkeypatch
):
    monkeypatch.setattr(hub_module, "HEARTBEAT_SECONDS", 0.02)
    socket = await joined(alice)
    key = f"chat:alive:{PROCESS}"
    await sync_to_async(cache.delete)(key)  # as if its TTL ran out
    await asyncio.sleep(0.1)
    assert await sync_to_async(cache.get)(key) == 1
    await socket.disconnect()


def test_a_test_without_a_database_mark_runs_on_its_own():
    """Selected alone, an unmarked test still gets the database that the
    lobby fixture reaches (it found no tables before). On SQLite: the
    outer run may hold PostgreSQL's test database."""
    env = {k: v for k, v in os.environ.items() if k not in ENGINE_VARIABLES}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:xdist",
            f"{__file__}::test_presence_counts_sockets_per_user",
        ],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout[-2000:]
    assert "1 passed" in result.stdout


# Renaming ---------------------------------------------------------------------


def _rename(user, preferred_name: str) -> None:
    from accounts.services import profile_update

    profile_update(
        user=type(user).objects.get(pk=user.pk),
        preferred_name=preferred_name,
        email=user.email,
        looking_for_partner=False,
        please_assign_me=False,
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", ["one", "several"])
async def test_a_user_renamed_while_in_a_room_is_listed_writes_and_leaves_as_renamed(
    alice, bob, lobby, processes, request
):
    if processes == "several":
        request.getfixturevalue("shared_layer")
    alice_socket = await joined(alice)
    bob_socket = await joined(bob)
    await drain(alice_socket, 0.3)

    await sync_to_async(_rename)(alice, "Ally")

    presence = await next_of_type(bob_socket, "presence", timeout=2)
    assert [u["name"] for u in presence["users"]] == ["Ally", "Bob"]
    presence = await next_of_type(alice_socket, "presence", timeout=2)
    assert [u["name"] for u in presence["users"]] == ["Ally", "Bob"]
    listed = await sync_to_async(rooms_users)([lobby.pk])  # the /chat/ page
    assert [u["name"] for u in listed[lobby.pk]] == ["Ally", "Bob"]

    await alice_socket.send_json_to({"type": "message", "text": "new name"})
    assert (await next_of_type(bob_socket, "message"))["author"] == "Ally"

    await alice_socket.disconnect()
    assert await next_of_type(bob_socket, "status") == {
        "type": "status",
        "text": "Ally has left the room.",
    }
    await bob_socket.disconnect()


# Handshakes daphne gave up on ---------------------------------------------------


class DaphneConnection:
    """Stands for daphne's protocol behind a socket's send: the server's
    record of the connection, which `give_up` marks disconnected as daphne
    does when a handshake outlasts `--websocket_connect_timeout` (5 s)."""

    def __init__(self):
        self.server = SimpleNamespace(connections={self: {}})

    def give_up(self):
        self.server.connections[self]["disconnected"] = time.time()


def through_daphne(application, connection):
    """Run `application` with daphne's send: `partial(handle_reply, protocol)`."""

    async def app(scope, receive, send):
        async def handle_reply(protocol, message):
            await send(message)

        await application(scope, receive, partial(handle_reply, connection))

    return app


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("processes", ["one", "several"])
async def test_a_list_sent_while_a_user_joins_never_follows_their_own(
    alice, bob, processes, request, monkeypatch
):
    """A presence list that goes out while Bob's history loads was taken
    before he was counted: it must not reach him after the list that came
    with his history, or his page drops him from the room."""
    if processes == "several":
        request.getfixturevalue("shared_layer")
    alice_socket = await joined(alice)
    await drain(alice_socket, 0.3)
    loading, go_on = asyncio.Event(), asyncio.Event()
    real_history = hub_module.Hub._history

    async def slow_history(self, *args):
        loading.set()
        await go_on.wait()
        return await real_history(self, *args)

    monkeypatch.setattr(hub_module.Hub, "_history", slow_history)
    bob_joining = asyncio.ensure_future(open_socket(bob))
    await asyncio.wait_for(loading.wait(), 2)
    await sync_to_async(_rename)(alice, "Ally")  # a list goes out meanwhile
    await next_of_type(alice_socket, "presence", timeout=2)
    go_on.set()
    bob_socket, connected = await bob_joining
    assert connected

    frames = [await bob_socket.receive_json_from(), *await drain(bob_socket, 0.3)]
    lists = [f["users"] for f in frames if f["type"] == "presence"]
    assert [u["name"] for u in lists[-1]] == ["Ally", "Bob"]
    await alice_socket.disconnect()
    await bob_socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_handshake_daphne_gave_up_on_is_not_announced_and_the_retry_once(
    alice, bob, monkeypatch
):
    """After a restart a crowd reconnects and a handshake can outlast
    daphne's 5 s: daphne answers the page, which retries, but still runs the
    consumer, and then reports the disconnect."""
    from pairup.asgi import application

    bob_socket = await joined(bob)
    await drain(bob_socket, 0.3)
    crowd = asyncio.Event()
    real_join = hub_module.Hub.join

    async def behind_a_crowd(self, consumer):
        await crowd.wait()
        return await real_join(self, consumer)

    monkeypatch.setattr(hub_module.Hub, "join", behind_a_crowd)
    cookie = await sync_to_async(session_cookie)(alice)
    connection = DaphneConnection()
    abandoned = WebsocketCommunicator(
        through_daphne(application, connection),
        "/ws/chat/lobby/",
        headers=[
            (b"host", HOST),
            (b"origin", ORIGIN),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    await abandoned.send_input({"type": "websocket.connect"})
    await asyncio.sleep(0.1)
    connection.give_up()
    await abandoned.send_input({"type": "websocket.disconnect", "code": 1006})
    crowd.set()
    await abandoned.wait(timeout=2)

    assert await drain(bob_socket, 0.3) == []  # nobody came or went

    retry = await joined(alice)
    frames = await drain(bob_socket, 0.3)
    assert [f for f in frames if f["type"] == "status"] == [
        {"type": "status", "text": "Alice has entered the room."}
    ]
    await retry.disconnect()
    await bob_socket.disconnect()
