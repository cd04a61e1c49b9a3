"""A channel-layer outage (a Redis restart), in one process: open sockets
stay open, sends are refused clearly and stored at most once, joins wait for
the layer, and everything resumes and resyncs when it is back. The same with
real Redis and two daphne processes: pairup/tests/faults/."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from chat.broadcast import encode, room_group
from chat.hub import hub
from chat.models import Message, Room
from chat.tests.conftest import drain, joined, next_of_type, open_socket
from pairup import layer as layer_module

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def outage(settings, shared_layer, monkeypatch):
    """Control an in-memory layer run as a shared one: `await outage.start()`
    makes every layer call fail, `outage.end()` brings it back empty."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }
    monkeypatch.setattr(layer_module, "RETRY_FIRST", 0.02)
    monkeypatch.setattr(layer_module, "RETRY_MAX", 0.1)

    class Outage:
        down = False

        def patch(self):
            layer = get_channel_layer()
            for name in ("receive", "group_add", "group_send"):
                real = getattr(layer, name)

                async def failing(*args, _real=real):
                    if self.down:
                        raise ConnectionError("Redis is restarting")
                    return await _real(*args)

                monkeypatch.setattr(layer, name, failing)

        async def start(self):
            self.patch()
            self.down = True
            live = hub().live
            # Wake the reader: its next read fails, as a reset connection.
            await get_channel_layer().send(
                live.channel, {"type": "test.wake", "group": "nobody's"}
            )
            async with asyncio.timeout(2):
                while live.up:
                    await asyncio.sleep(0.01)

        def end(self):
            get_channel_layer().groups.clear()  # a restarted Redis is empty
            self.down = False

    return Outage()


async def from_another_process(room, text, message_id=10**6):
    frame = {"type": "message", "id": message_id, "author": "Remote", "text": text}
    await get_channel_layer().group_send(
        room_group(room.pk),
        {
            "type": "chat.frames",
            "group": room_group(room.pk),
            "origin": "another-process",
            "room": room.pk,
            "frames": [encode(frame)],
            "history_changed": True,
        },
    )


async def test_open_sockets_survive_an_outage_and_resume(alice, bob, outage):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    alice_socket, bob_socket = await joined(alice), await joined(bob)
    await drain(alice_socket, 0.3)

    await outage.start()
    await alice_socket.send_json_to({"type": "message", "text": "during"})
    error = await next_of_type(alice_socket, "error")
    assert error["code"] == "unavailable"
    assert await sync_to_async(Message.objects.count)() == 0

    outage.end()
    for socket in (alice_socket, bob_socket):  # resynced: history again
        assert (await next_of_type(socket, "history", timeout=2))["messages"] == []
    await from_another_process(room, "from the other process")
    for socket in (alice_socket, bob_socket):
        frame = await next_of_type(socket, "message", timeout=2)
        assert frame["text"] == "from the other process"
    await alice_socket.send_json_to({"type": "message", "text": "after"})
    assert (await next_of_type(bob_socket, "message"))["text"] == "after"
    assert await sync_to_async(Message.objects.count)() == 1  # stored once
    await alice_socket.disconnect()
    await bob_socket.disconnect()


async def test_a_join_during_an_outage_is_refused_and_served_once_it_is_back(
    alice, bob, outage
):
    staying = await joined(alice)
    await outage.start()
    refused, connected = await open_socket(bob)
    assert connected is False  # the page retries
    await refused.disconnect()
    outage.end()
    async with asyncio.timeout(2):
        while not hub().live.up:
            await asyncio.sleep(0.01)
    again = await joined(bob)
    await again.disconnect()
    await staying.disconnect()
