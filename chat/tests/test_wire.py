"""Frames written straight to daphne's transport, and batched status lines."""

import asyncio

import pytest
from asgiref.sync import sync_to_async

from chat import realtime
from chat.consumers import ChatConsumer
from chat.models import Room
from chat.tests.conftest import joined, next_of_type

pytestmark = pytest.mark.django_db(transaction=True)


def parse_server_frames(data: bytes) -> list[tuple[int, str]]:
    """Decode unmasked frames: [(opcode, text)], failing on leftovers."""
    frames, pos = [], 0
    while pos < len(data):
        first, size, pos = data[pos], data[pos + 1], pos + 2
        assert size & 0x80 == 0, "server frames are never masked"
        if size == 126:
            size, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif size == 127:
            size, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        assert first & 0xF0 == 0x80, "FIN set, no extension bits"
        frames.append((first & 0x0F, data[pos : pos + size].decode()))
        pos += size
    assert pos == len(data)
    return frames


def test_wire_frames_are_whole_text_frames_of_every_length():
    texts = ["", "é" * 10, "x" * 125, "y" * 126, "z" * 65535, "w" * 65536]
    assert parse_server_frames(realtime.wire_frames(texts)) == [
        (0x1, text) for text in texts
    ]


class FakeTransport:
    def __init__(self):
        self.written = []

    def write(self, data):
        self.written.append(data)


class FakeProtocol:
    STATE_OPEN, STATE_CLOSING = 1, 2

    def __init__(self, state=1):
        self.state = state
        self.transport = FakeTransport()


def consumer_on(protocol, backlog=None) -> ChatConsumer:
    consumer = ChatConsumer()
    consumer.protocol, consumer.transport = protocol, protocol.transport
    consumer.backlog = backlog
    return consumer


def test_write_wire_writes_to_an_open_daphne_socket_only():
    data = realtime.wire_frames(['{"type":"status","text":"hi"}'])
    open_socket = consumer_on(FakeProtocol())
    assert open_socket.write_wire(data) is True
    assert open_socket.transport.written == [data]

    closing = consumer_on(FakeProtocol(state=FakeProtocol.STATE_CLOSING))
    waiting_for_history = consumer_on(FakeProtocol(), backlog=[])
    for consumer in (closing, waiting_for_history, ChatConsumer()):
        assert consumer.write_wire(data) is False
    assert closing.transport.written == []


async def test_status_lines_queued_together_go_out_as_one_layer_message(
    alice, bob, charlie
):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    watcher = await joined(charlie)
    await asyncio.sleep(realtime.PRESENCE_INTERVAL * 3)  # its presence list
    sends = realtime.STATS["layer_sends"]
    realtime.room_status(room.pk, "one")
    realtime.room_status(room.pk, "two", skip_user=charlie.pk)
    realtime.room_status(room.pk, "three")
    await asyncio.sleep(realtime.STATUS_INTERVAL * 3)
    assert realtime.STATS["layer_sends"] == sends + 1
    assert (await next_of_type(watcher, "status"))["text"] == "one"
    assert (await next_of_type(watcher, "status"))["text"] == "three"
    await watcher.disconnect()


async def test_a_socket_gets_no_status_line_queued_before_it_joined(alice, bob):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    realtime.room_status(room.pk, "before you came")
    late = await joined(bob)
    realtime.room_status(room.pk, "after")
    assert (await next_of_type(late, "status"))["text"] == "after"
    await late.disconnect()
