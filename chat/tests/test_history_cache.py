"""A crowd joining a room shares one history query, and never a stale one."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat import consumers, presence, realtime
from chat.models import Message, Room
from chat.services import message_delete
from chat.tests.conftest import drain, joined, next_of_type, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def loads(monkeypatch):
    """Count the history queries the consumers make."""
    calls = []
    real = consumers._history_frame

    def counted(room):
        calls.append(room.pk)
        return real(room)

    monkeypatch.setattr(consumers, "_history_frame", counted)
    return calls


async def _history_of(user) -> tuple:
    socket, connected = await open_socket(user)
    assert connected
    history = await socket.receive_json_from()
    assert history["type"] == "history"
    await socket.receive_json_from()  # presence
    return socket, [m["text"] for m in history["messages"]]


async def _post(author, text: str) -> Message:
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    return await sync_to_async(Message.objects.create)(
        room=room, author=author, text=text
    )


async def test_sockets_joining_one_after_another_share_one_query(
    alice, bob, charlie, loads
):
    await _post(alice, "before")
    sockets = []
    for user in (alice, bob, charlie):
        socket, texts = await _history_of(user)
        sockets.append(socket)
        assert texts == ["before"]
    assert len(loads) == 1
    for socket in sockets:
        await socket.disconnect()


async def test_sockets_joining_at_once_share_the_query_in_flight(
    alice, bob, charlie, dana, loads
):
    await _post(alice, "before")
    results = await asyncio.gather(
        *(_history_of(user) for user in (alice, bob, charlie, dana))
    )
    assert [texts for _socket, texts in results] == [["before"]] * 4
    assert len(loads) == 1
    for socket, _texts in results:
        await socket.disconnect()


async def test_a_message_sent_meanwhile_is_in_the_next_joiners_history(
    alice, bob, loads
):
    first = await joined(alice)
    await first.send_json_to({"type": "message", "text": "said while open"})
    await next_of_type(first, "message")

    second, texts = await _history_of(bob)

    assert texts == ["said while open"]
    assert len(loads) == 2
    await first.disconnect()
    await second.disconnect()


async def test_a_deleted_message_is_gone_from_the_next_joiners_history(
    alice, bob, dana
):
    message = await _post(alice, "to delete")
    first, texts = await _history_of(alice)
    assert texts == ["to delete"]

    await sync_to_async(message_delete)(actor=dana, message=message)
    await next_of_type(first, "deleted")

    second, texts = await _history_of(bob)
    assert texts == []
    await first.disconnect()
    await second.disconnect()


async def test_status_lines_do_not_reload_the_history(alice, bob, charlie, loads):
    sockets = [await joined(alice), await joined(bob)]
    await drain(sockets[0], 0.2)  # bob's status line and presence
    sockets.append(await joined(charlie))
    assert len(loads) == 1
    for socket in sockets:
        await socket.disconnect()


async def test_the_shared_history_is_reloaded_once_it_is_old(
    alice, bob, loads, monkeypatch
):
    monkeypatch.setattr(realtime, "HISTORY_MAX_AGE", 0)
    sockets = [await joined(alice), await joined(bob)]
    assert len(loads) == 2
    for socket in sockets:
        await socket.disconnect()


async def test_the_last_socket_leaving_drops_the_rooms_history(alice, loads):
    socket = await joined(alice)
    await socket.disconnect()
    await _post(alice, "written behind the fan-out's back")

    socket, texts = await _history_of(alice)

    assert texts == ["written behind the fan-out's back"]
    await socket.disconnect()


class Member:
    """Stands in for a consumer in the hub."""

    closing = False

    def __init__(self, user_id):
        self.user_id = user_id

    async def deliver(self, frame):
        pass

    async def deliver_presence(self, frame):
        pass

    def unsent_bytes(self):
        return 0


async def test_a_load_that_started_before_a_message_serves_no_later_joiner():
    hub = realtime.hub()
    early, late = Member(1), Member(2)
    version = await hub.join(7, early)
    release = asyncio.Event()

    async def slow_load():
        await release.wait()
        return "old"

    async def fresh_load():
        return "new"

    loading = asyncio.create_task(hub.history(7, version, slow_load))
    await asyncio.sleep(0)
    # A message stored after the query ran reaches the hub, then a socket
    # joins: the load in flight doesn't have it, and the late socket wasn't
    # in the room when it went out.
    await hub.dispatch(
        realtime._fanout(7, "frame", frames=[realtime.encode({"type": "message"})])
    )
    late_version = await hub.join(7, late)
    assert late_version != version
    # (Awaiting the load in flight would wait for ever: it is held.)
    fresh = await asyncio.wait_for(hub.history(7, late_version, fresh_load), 1)
    assert fresh == "new"
    release.set()
    assert await loading == "old"  # right for the early socket
    assert await hub.history(7, late_version, slow_load) == "new"  # cached
    await hub.leave(7, early)
    await hub.leave(7, late)


async def test_a_failed_history_load_closes_the_socket_and_leaves_no_trace(
    alice, monkeypatch
):
    first = await joined(alice)

    def broken(room):
        raise RuntimeError("database went away")

    monkeypatch.setattr(consumers, "_history_frame", broken)
    monkeypatch.setattr(realtime, "HISTORY_MAX_AGE", 0)
    second, connected = await open_socket(alice)
    assert connected  # accepted to say why: 1011, the client reconnects
    output = await second.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": 1011}
    await second.disconnect(1011)

    lobby = await sync_to_async(Room.objects.get)(slug="lobby")
    assert [u["id"] for u in presence.room_users(lobby.pk)] == [alice.pk]
    assert len(realtime.hub().rooms[lobby.pk]) == 1
    assert await drain(first, 0.2) == []  # no "Alice has left the room."
    await first.disconnect()


async def test_a_socket_waiting_on_a_cancelled_load_loads_for_itself():
    hub = realtime.hub()
    first, second = Member(1), Member(2)
    version = await hub.join(7, first)
    assert await hub.join(7, second) == version
    held = asyncio.Event()

    async def held_load():
        await held.wait()
        return "never"

    async def own_load():
        return "own"

    loading = asyncio.create_task(hub.history(7, version, held_load))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(hub.history(7, version, own_load))
    await asyncio.sleep(0)
    loading.cancel()  # e.g. the server shutting the first socket's app down

    assert await asyncio.wait_for(waiting, 1) == "own"
    with pytest.raises(asyncio.CancelledError):
        await loading
    await hub.leave(7, first)
    await hub.leave(7, second)
