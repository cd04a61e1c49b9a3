"""The process's hub: one subscription per room, frames encoded once, the
shared history, batched status lines, the writer, slow readers."""

import asyncio
import json
import time

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from chat import hub as hub_module
from chat.broadcast import encode, room_group
from chat.hub import hub
from chat.models import Message, Room
from chat.services import message_delete
from chat.tests.conftest import drain, joined, next_of_type, open_socket

pytestmark = pytest.mark.django_db(transaction=True)


class Member:
    """Stands in for a consumer in the hub."""

    closing = False
    present = False
    presence = None

    def __init__(self, user, room, *, unsent=0):
        self.user, self.room = user, room
        self.frames, self.closed = [], []
        self._unsent = unsent

    async def deliver(self, frames, wire=None):
        self.frames.extend(json.loads(frame) for frame in frames)

    def unsent(self):
        return self._unsent

    async def close(self, code):
        self.closed.append(code)

    async def close_slow(self, code):
        self.closed.append(code)


async def lobby_room() -> Room:
    return await sync_to_async(Room.objects.get)(slug="lobby")


async def publish_status(room: Room, text: str) -> None:
    await hub().live.publish(
        room_group(room.pk),
        {
            "type": "chat.frames",
            "room": room.pk,
            "frames": [encode({"type": "status", "text": text})],
        },
    )


# Fan-out ----------------------------------------------------------------------


async def test_a_room_is_one_subscription_per_process_not_per_socket(
    alice, bob, charlie, shared_layer, monkeypatch
):
    room = await lobby_room()
    layer = get_channel_layer()
    calls = []
    real_add, real_discard = layer.group_add, layer.group_discard

    async def group_add(group, channel):
        calls.append(("add", group))
        await real_add(group, channel)

    async def group_discard(group, channel):
        calls.append(("discard", group))
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(layer, "group_discard", group_discard)
    sockets = [await joined(user) for user in (alice, bob, charlie, alice)]
    room_calls = [kind for kind, group in calls if group == room_group(room.pk)]
    assert room_calls == ["add"]  # once, whatever the number of sockets
    await sockets[0].send_json_to({"type": "message", "text": "once"})
    for socket in sockets:
        assert (await next_of_type(socket, "message"))["text"] == "once"
    for socket in sockets:
        await socket.disconnect()
    room_calls = [kind for kind, group in calls if group == room_group(room.pk)]
    assert room_calls == ["add", "discard"]
    assert hub().rooms == {}


async def test_a_socket_that_fails_to_send_does_not_stop_the_others(alice, bob):
    room = await lobby_room()
    good = await joined(bob)

    class Broken(Member):
        async def deliver(self, frames, wire=None):
            raise RuntimeError("socket closing")

    hub().rooms[room.pk][Broken(alice, room)] = time.time()
    await publish_status(room, "still here")
    assert (await next_of_type(good, "status"))["text"] == "still here"
    await good.disconnect()


async def test_a_client_too_slow_to_read_is_closed_with_4413(alice, bob):
    room = await lobby_room()
    good = await joined(bob)
    slow = Member(alice, room, unsent=hub_module.OUTGOING_BUFFER_LIMIT + 1)
    hub().rooms[room.pk][slow] = time.time()
    for n in range(3):
        await publish_status(room, str(n))
    for n in range(3):
        assert (await next_of_type(good, "status"))["text"] == str(n)
    assert len(slow.frames) == 1  # nothing more once it is closing
    assert slow.closed == [4413]
    await good.disconnect()


async def test_frames_go_to_the_wire_framed_once_for_every_socket(alice, bob):
    room = await lobby_room()
    wires = []

    class OnDaphne(Member):
        async def deliver(self, frames, wire=None):
            wires.append(wire())

    first, second = OnDaphne(alice, room), OnDaphne(bob, room)
    hub().rooms[room.pk] = {first: time.time(), second: time.time()}
    hub().live.subscribe_nowait(room_group(room.pk), hub(), hub()._on_event)
    await publish_status(room, "hi")
    await asyncio.sleep(0.05)
    assert len(wires) == 2
    assert wires[0] is wires[1]  # the same bytes object: framed once
    await hub().live.unsubscribe(room_group(room.pk), hub())
    hub().rooms.clear()


# Status lines -----------------------------------------------------------------


async def test_status_lines_queued_together_go_out_as_one_event(alice, bob, charlie):
    room = await lobby_room()
    watcher = await joined(charlie)
    await asyncio.sleep(hub_module.PRESENCE_INTERVAL * 3)  # its presence list
    events = []
    real_publish = hub().live.publish

    async def spy(group, event):
        events.append(event["type"])
        return await real_publish(group, event)

    hub().live.publish = spy
    hub().status(room.pk, "one")
    hub().status(room.pk, "two", charlie.pk)
    hub().status(room.pk, "three")
    await asyncio.sleep(hub_module.STATUS_INTERVAL * 3)
    assert events == ["chat.frames"]
    assert (await next_of_type(watcher, "status"))["text"] == "one"
    assert (await next_of_type(watcher, "status"))["text"] == "three"
    await watcher.disconnect()


async def test_a_socket_gets_no_status_line_queued_before_it_joined(alice, bob):
    room = await lobby_room()
    hub().status(room.pk, "before you came")
    late = await joined(bob)
    hub().status(room.pk, "after")
    assert (await next_of_type(late, "status"))["text"] == "after"
    await late.disconnect()


def test_presence_lists_gather_longer_in_a_big_room(monkeypatch):
    monkeypatch.setattr(hub_module, "PRESENCE_INTERVAL", 0.25)
    assert hub_module.presence_interval(2) == 0.25
    assert hub_module.presence_interval(1000) == 1.0  # still one a second
    assert hub_module.presence_interval(50_000) == 2.0


# The writer -------------------------------------------------------------------


async def test_posts_that_queue_together_are_stored_in_one_batch(
    alice, bob, monkeypatch
):
    room = await lobby_room()
    batches = []
    real = hub_module.message_post_many

    def spy(*, posts):
        batches.append(len(posts))
        return real(posts=posts)

    monkeypatch.setattr(hub_module, "message_post_many", spy)
    listener = await joined(bob)
    stored = await asyncio.gather(
        *(hub().post(author=alice, room=room, text=f"m{n}") for n in range(5))
    )
    assert [m.text for m in stored] == [f"m{n}" for n in range(5)]
    assert batches == [5]  # one transaction, one broadcast
    for n in range(5):
        assert (await next_of_type(listener, "message"))["text"] == f"m{n}"
    await listener.disconnect()


async def test_a_database_that_is_away_refuses_the_batch_and_stores_nothing(
    alice, monkeypatch
):
    room = await lobby_room()

    def away(*, posts):
        raise ConnectionError("database went away")

    monkeypatch.setattr(hub_module, "message_post_many", away)
    results = await asyncio.gather(
        *(hub().post(author=alice, room=room, text=f"m{n}") for n in range(3)),
        return_exceptions=True,
    )
    assert [error.code for error in results] == ["unavailable"] * 3
    assert await sync_to_async(Message.objects.count)() == 0


async def test_a_stalled_writer_refuses_with_rate_limited(alice, monkeypatch):
    monkeypatch.setattr(hub_module, "QUEUE_MAX", 0)
    socket = await joined(alice)
    await socket.send_json_to({"type": "message", "text": "hi"})
    error = await next_of_type(socket, "error")
    assert (error["code"], error["retry_after"]) == ("rate_limited", 1)
    await socket.disconnect()


async def test_while_the_layer_is_down_a_send_is_refused_and_not_stored(alice):
    socket = await joined(alice)
    hub().live.up = False
    await socket.send_json_to({"type": "message", "text": "lost?"})
    error = await next_of_type(socket, "error")
    assert error["code"] == "unavailable"
    assert "not sent" in error["detail"]
    assert error["retry_after"] >= 1
    assert await sync_to_async(Message.objects.count)() == 0
    hub().live.up = True
    await socket.send_json_to({"type": "message", "text": "now"})
    assert (await next_of_type(socket, "message"))["text"] == "now"
    await socket.disconnect()


# The shared history ----------------------------------------------------------


@pytest.fixture
def loads(monkeypatch):
    """Count the history queries the hub makes."""
    calls = []
    real = hub_module.load_history

    def counted(room):
        calls.append(room.pk)
        return real(room)

    monkeypatch.setattr(hub_module, "load_history", counted)
    return calls


async def _history_of(user) -> tuple:
    socket, connected = await open_socket(user)
    assert connected
    history = await socket.receive_json_from()
    assert history["type"] == "history"
    await socket.receive_json_from()  # presence
    return socket, [m["text"] for m in history["messages"]]


async def _post(author, text: str) -> Message:
    room = await lobby_room()
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


async def test_sockets_joining_at_once_share_one_query(
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
    monkeypatch.setattr(hub_module, "HISTORY_MAX_AGE", 0)
    sockets = [await joined(alice), await joined(bob)]
    assert len(loads) == 2
    for socket in sockets:
        await socket.disconnect()


async def test_the_last_socket_leaving_drops_the_rooms_history(alice, loads):
    socket = await joined(alice)
    await socket.disconnect()
    await _post(alice, "written behind the hub's back")

    socket, texts = await _history_of(alice)

    assert texts == ["written behind the hub's back"]
    await socket.disconnect()


async def test_a_load_that_started_before_a_message_serves_no_later_joiner(
    alice, bob, monkeypatch
):
    room = await lobby_room()
    the_hub = hub()
    release = asyncio.Event()
    answers = iter(["old", "new"])

    async def held(room):
        answer = next(answers)
        if answer == "old":
            await release.wait()
        return answer

    monkeypatch.setattr(hub_module, "database_sync_to_async", lambda f: held)
    the_hub.rooms[room.pk] = {}
    early = asyncio.create_task(the_hub._history(room.pk, 0, room))
    await asyncio.sleep(0)
    # A message stored after the query ran reaches the hub, then a socket
    # joins: the load in flight doesn't have it.
    the_hub._history_changed(room.pk)
    late = asyncio.create_task(
        the_hub._history(room.pk, the_hub.versions[room.pk], room)
    )
    await asyncio.sleep(0)
    assert not late.done()  # waits for the load in flight (one at a time)
    release.set()
    assert await early == "old"  # right for the early socket
    assert await late == "new"  # loaded again for the late one
    assert await the_hub._history(room.pk, the_hub.versions[room.pk], room) == "new"
    the_hub.rooms.clear()


async def test_a_socket_waiting_on_a_cancelled_load_loads_for_itself(
    alice, monkeypatch
):
    room = await lobby_room()
    the_hub = hub()
    held = asyncio.Event()
    calls = []

    async def load(room):
        calls.append(room.pk)
        if len(calls) == 1:
            await held.wait()
        return "own"

    monkeypatch.setattr(hub_module, "database_sync_to_async", lambda f: load)
    loading = asyncio.create_task(the_hub._history(room.pk, 0, room))
    await asyncio.sleep(0)
    waiting = asyncio.create_task(the_hub._history(room.pk, 0, room))
    await asyncio.sleep(0)
    loading.cancel()  # e.g. the server shutting the first socket's app down

    assert await asyncio.wait_for(waiting, 1) == "own"
    with pytest.raises(asyncio.CancelledError):
        await loading


async def test_a_failed_history_load_refuses_the_handshake_and_leaves_no_trace(
    alice, monkeypatch
):
    first = await joined(alice)

    def broken(room):
        raise RuntimeError("database went away")

    monkeypatch.setattr(hub_module, "load_history", broken)
    monkeypatch.setattr(hub_module, "HISTORY_MAX_AGE", 0)
    second, connected = await open_socket(alice)
    assert connected is False  # refused: the page retries the handshake
    await second.disconnect()

    lobby = await lobby_room()
    present = json.loads(hub().presence.frame(lobby.pk))["users"]
    assert [user["id"] for user in present] == [alice.pk]
    assert len(hub().rooms[lobby.pk]) == 1
    assert await drain(first, 0.2) == []  # no "Alice has left the room."
    await first.disconnect()
