"""The per-process fan-out: one layer channel per process and room."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.core.exceptions import ValidationError

from chat import presence, realtime
from chat.models import Room
from chat.tests.conftest import joined, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_room_is_one_group_member_per_process_not_per_socket(
    alice, bob, charlie, monkeypatch
):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    layer = get_channel_layer()
    calls = []
    real_add, real_discard = layer.group_add, layer.group_discard

    async def group_add(group, channel):
        calls.append(("add", group, channel))
        await real_add(group, channel)

    async def group_discard(group, channel):
        calls.append(("discard", group, channel))
        await real_discard(group, channel)

    monkeypatch.setattr(layer, "group_add", group_add)
    monkeypatch.setattr(layer, "group_discard", group_discard)
    sockets = [await joined(user) for user in (alice, bob, charlie, alice)]
    room_calls = [call for call in calls if call[1] == room.group_name]
    assert len(room_calls) == 1  # one process channel joined the room once
    await sockets[0].send_json_to({"type": "message", "text": "once"})
    for socket in sockets:
        assert (await next_of_type(socket, "message"))["text"] == "once"
    for socket in sockets:
        await socket.disconnect()
    room_calls = [call for call in calls if call[1] == room.group_name]
    assert [kind for kind, _group, _channel in room_calls] == ["add", "discard"]
    assert realtime.hub().channel is None


async def test_a_socket_that_fails_to_send_does_not_stop_the_others(alice, bob):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    good = await joined(bob)

    class Broken:
        user_id = alice.pk
        closing = False

        async def deliver(self, frame):
            raise RuntimeError("socket closing")

    broken = Broken()
    await realtime.room_join(room.pk, broken)
    await realtime.room_send_async(room.pk, {"type": "status", "text": "still here"})
    assert (await next_of_type(good, "status"))["text"] == "still here"
    await realtime.room_leave(room.pk, broken)
    await good.disconnect()


def test_presence_counts_sockets_per_user():
    assert presence.join(7, user_id=1, name="Bo", staff=False) is True
    assert presence.room_users(7) == [{"id": 1, "name": "Bo", "staff": False}]
    assert presence.join(7, user_id=1, name="Bo", staff=False) is False
    assert len(presence.room_users(7)) == 1
    assert presence.leave(7, user_id=1) is False
    assert presence.leave(7, user_id=1) is True
    assert presence.room_users(7) == []
    assert presence.leave(7, user_id=1) is False  # already gone


def test_presence_is_sorted_by_name_then_id():
    presence.join(8, user_id=3, name="bea", staff=False)
    presence.join(8, user_id=2, name="Adam", staff=True)
    presence.join(8, user_id=1, name="Bea", staff=False)
    assert [u["id"] for u in presence.room_users(8)] == [2, 1, 3]
    assert presence.rooms_users([8, 9])[9] == []


class SlowReader:
    """A socket whose transport holds more than the limit."""

    closing = False

    def __init__(self, user_id):
        self.user_id = user_id
        self.frames, self.closed = [], []

    async def deliver(self, frame):
        self.frames.append(frame)

    def unsent_bytes(self):
        return realtime.OUTGOING_BUFFER_LIMIT + 1

    async def close(self, code):
        self.closed.append(code)


async def test_a_client_too_slow_to_read_is_closed_with_4413(alice, bob):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    good = await joined(bob)
    slow = SlowReader(alice.pk)
    await realtime.room_join(room.pk, slow)
    for n in range(3):
        await realtime.room_send_async(room.pk, {"type": "status", "text": str(n)})
    for n in range(3):
        assert (await next_of_type(good, "status"))["text"] == str(n)
    assert len(slow.frames) == 1  # nothing more once it is closing
    assert slow.closed == [4413]
    await realtime.room_leave(room.pk, slow)
    await good.disconnect()


def test_unsent_bytes_reads_the_twisted_transport_behind_daphnes_send():
    from functools import partial

    class Transport:
        dataBuffer, offset, _tempDataLen = b"x" * 100, 40, 7

    class Protocol:
        transport = Transport()

    class SessionWrapper:
        def __init__(self, real_send):
            self.real_send = real_send

        async def send(self, message):
            await self.real_send(message)

    async def handle_reply(protocol, message):
        pass

    daphne_send = partial(handle_reply, Protocol())
    send = SessionWrapper(daphne_send).send
    assert realtime.unwrap_send(send) is daphne_send
    transport = realtime.daphne_transport(send)
    assert realtime.unsent_bytes(transport) == 67
    assert realtime.daphne_transport(lambda message: None) is None


# The writer -------------------------------------------------------------


async def test_posts_that_queue_together_are_stored_in_one_batch(
    alice, bob, monkeypatch
):
    from chat import services, writer

    room = await sync_to_async(Room.objects.get)(slug="lobby")
    batches = []
    real = services.message_post_many

    def spy(*, posts):
        batches.append(len(posts))
        return real(posts=posts)

    monkeypatch.setattr(writer, "message_post_many", spy)
    listener = await joined(bob)
    stored = await asyncio.gather(
        *(writer.post(author=alice, room=room, text=f"m{n}") for n in range(5))
    )
    assert [m.text for m in stored] == [f"m{n}" for n in range(5)]
    assert batches == [5]  # one transaction, one broadcast
    for n in range(5):
        assert (await next_of_type(listener, "message"))["text"] == f"m{n}"
    await listener.disconnect()


async def test_a_failed_batch_stores_its_posts_one_by_one(alice, monkeypatch):
    from chat import writer

    room = await sync_to_async(Room.objects.get)(slug="lobby")

    def broken(*, posts):
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(writer, "message_post_many", broken)
    message = await writer.post(author=alice, room=room, text="  kept ")
    assert message.text == "kept"
    with pytest.raises(ValidationError) as caught:
        await writer.post(author=alice, room=room, text=" ")
    assert caught.value.code == "empty"


async def test_a_stalled_writer_refuses_with_rate_limited(alice, monkeypatch):
    from chat import writer

    monkeypatch.setattr(writer, "QUEUE_MAX", 0)
    socket = await joined(alice)
    await socket.send_json_to({"type": "message", "text": "hi"})
    error = await next_of_type(socket, "error")
    assert (error["code"], error["retry_after"]) == ("rate_limited", 1)
    await socket.disconnect()


def test_presence_lists_gather_longer_in_a_big_room(monkeypatch):
    monkeypatch.setattr(realtime, "PRESENCE_INTERVAL", 0.25)
    assert realtime.presence_interval(2) == 0.25
    assert realtime.presence_interval(1000) == 1.0  # still one a second
    assert realtime.presence_interval(50_000) == 2.0
