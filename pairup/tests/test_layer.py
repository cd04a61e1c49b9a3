"""The process's layer listener: groups joined once, local events at once,
the other processes' through the layer, and recovery from a layer outage."""

import asyncio
import os

import pytest
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer

from pairup import layer as layer_module
from pairup.layer import LayerUnavailable, listener, publish


class Inbox:
    def __init__(self):
        self.events = []
        self.arrived = asyncio.Event()

    async def __call__(self, event):
        self.events.append(event)
        self.arrived.set()

    async def wait(self, count=1, timeout=2.0):
        async with asyncio.timeout(timeout):
            while len(self.events) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.events

    def types(self):
        return [event["type"] for event in self.events]


@pytest.fixture(autouse=True)
def in_memory_layer(settings):
    """The in-memory layer, even where REDIS_URL is set: these tests make it
    fail, and `shared_layer` runs it as a shared one."""
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
    }


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(layer_module, "RETRY_FIRST", 0.01)
    monkeypatch.setattr(layer_module, "RETRY_MAX", 0.05)
    monkeypatch.setattr(layer_module, "CHECK_SECONDS", 0.05)


async def from_another_process(group: str, event: dict) -> None:
    await get_channel_layer().group_send(
        group, {**event, "group": group, "origin": "another-process"}
    )


async def test_one_process_delivers_in_order_without_the_layer(monkeypatch):
    layer = get_channel_layer()

    async def never(*args):
        raise AssertionError("the in-memory layer is not used")

    monkeypatch.setattr(layer, "group_add", never)
    monkeypatch.setattr(layer, "group_send", never)
    inbox = Inbox()
    live = listener()
    await live.subscribe("room-1", "me", inbox)
    for n in range(3):
        await live.publish("room-1", {"type": "test.n", "n": n})
    await sync_to_async(publish)("room-1", {"type": "test.n", "n": 3})
    events = await inbox.wait(4)
    assert [event["n"] for event in events] == [0, 1, 2, 3]
    await live.unsubscribe("room-1", "me")


async def test_only_the_groups_subscribers_get_its_events():
    mine, theirs = Inbox(), Inbox()
    live = listener()
    await live.subscribe("room-1", "a", mine)
    await live.subscribe("room-2", "b", theirs)
    await live.publish("room-1", {"type": "test.hello"})
    await mine.wait()
    await asyncio.sleep(0.05)
    assert theirs.events == []


async def test_a_shared_layer_is_joined_once_per_group(shared_layer, monkeypatch):
    layer = get_channel_layer()
    added = []
    real_add = layer.group_add

    async def spy(group, channel):
        added.append(group)
        await real_add(group, channel)

    monkeypatch.setattr(layer, "group_add", spy)
    live = listener()
    first, second = Inbox(), Inbox()
    await live.subscribe("room-1", "a", first)
    await live.subscribe("room-1", "b", second)
    assert added.count("room-1") == 1
    await from_another_process("room-1", {"type": "test.remote"})
    await first.wait()
    await second.wait()
    await live.unsubscribe("room-1", "a")
    await live.unsubscribe("room-1", "b")


async def test_an_event_published_here_is_not_delivered_twice(shared_layer):
    inbox = Inbox()
    live = listener()
    await live.subscribe("room-1", "a", inbox)
    await live.publish("room-1", {"type": "test.once"})
    await sync_to_async(publish)("room-1", {"type": "test.twice"})
    await inbox.wait(2)
    await asyncio.sleep(0.1)  # the layer's copies came back and were skipped
    assert inbox.types() == ["test.once", "test.twice"]
    assert live.stats["layer_sends"] == 2


async def test_joining_raises_while_the_layer_is_down(shared_layer, monkeypatch):
    async def down(*args):
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr(get_channel_layer(), "group_add", down)
    with pytest.raises(LayerUnavailable):
        await listener().subscribe("room-1", "a", Inbox())


def test_publishing_never_raises_when_the_layer_is_down(shared_layer, monkeypatch):
    async def down(*args):
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr(get_channel_layer(), "group_send", down)
    assert publish("room-1", {"type": "test.lost"}) is False


async def test_the_listener_recovers_from_an_outage_and_rejoins_its_groups(
    shared_layer, quick, monkeypatch
):
    layer = get_channel_layer()
    inbox, came_back = Inbox(), asyncio.Event()
    live = listener()

    async def up_again():
        came_back.set()

    live.on_up.append(up_again)
    await live.subscribe("room-1", "a", inbox)
    await asyncio.sleep(0.05)  # the reader is waiting on the layer

    down = True  # Redis is restarting: every call fails
    real_receive, real_add = layer.receive, layer.group_add

    async def receive(channel):
        if down:
            raise ConnectionError("Redis restarting")
        return await real_receive(channel)

    async def group_add(group, channel):
        if down:
            raise ConnectionError("Redis restarting")
        await real_add(group, channel)

    monkeypatch.setattr(layer, "receive", receive)
    monkeypatch.setattr(layer, "group_add", group_add)
    layer.groups.clear()  # a restarted Redis has forgotten every group
    # Wake the reader waiting on the layer: its next reads fail.
    await layer.send(live.channel, {"type": "test.wake", "group": "nobody's"})
    async with asyncio.timeout(2):
        while live.up:
            await asyncio.sleep(0.005)
    await from_another_process("room-1", {"type": "test.lost"})  # nobody joined
    down = False
    await asyncio.wait_for(came_back.wait(), 2)
    assert live.up
    await from_another_process("room-1", {"type": "test.after"})
    events = await inbox.wait()
    assert events[-1]["type"] == "test.after"


async def test_groups_lost_without_an_error_are_rejoined(shared_layer, quick):
    inbox = Inbox()
    live = listener()
    await live.subscribe("room-1", "a", inbox)
    get_channel_layer().groups.clear()  # Redis restarted between two reads
    await asyncio.sleep(0.3)  # a few checks: one unanswered, then rejoined
    await from_another_process("room-1", {"type": "test.found"})
    assert (await inbox.wait())[0]["type"] == "test.found"


async def test_the_listener_stops_when_nothing_is_subscribed(shared_layer):
    live = listener()
    await live.subscribe("room-1", "a", Inbox())
    assert live.tasks
    await live.unsubscribe("room-1", "a")
    await asyncio.sleep(0.05)
    assert live.tasks == []
    assert live.channel is None


async def test_a_layer_that_hangs_is_noticed_and_left(shared_layer, quick, monkeypatch):
    """A Redis that stops answering (rather than restarting) fails each
    layer call within LAYER_TIMEOUT: the reader recovers, a send gives up."""
    monkeypatch.setattr(layer_module, "LAYER_TIMEOUT", 0.1)
    layer = get_channel_layer()
    live = listener()
    await live.subscribe("room-1", "a", Inbox())
    hung = asyncio.Event()

    async def hang(*args):
        await hung.wait()

    monkeypatch.setattr(layer, "receive", hang)
    monkeypatch.setattr(layer, "group_send", hang)
    monkeypatch.setattr(layer, "group_add", hang)
    assert await live.publish("room-1", {"type": "test.stuck"}) is False
    async with asyncio.timeout(2):
        while live.up:
            await asyncio.sleep(0.01)
    hung.set()
    monkeypatch.undo()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs REDIS_URL (Redis)")
async def test_the_listener_stops_when_cancelled_in_the_middle_of_redis_calls(settings):
    """On Python 3.11 redis-py's socket timeout (asyncio.wait_for) swallowed
    a cancellation that arrived as a write finished, and a cancelled
    listener read Redis forever. Cancel it at many points of its traffic:
    every task ends (this hung the suite on Redis before the fix)."""
    from channels.layers import channel_layers

    from pairup import settings as configured

    settings.CHANNEL_LAYERS = configured.CHANNEL_LAYERS  # Redis, as deployed

    for attempt in range(40):
        channel_layers.backends.clear()
        live = layer_module.Listener(get_channel_layer(), asyncio.get_running_loop())
        await live.subscribe("room-1", "a", Inbox())
        sender = asyncio.create_task(flood(live))
        await asyncio.sleep(attempt * 0.00125)  # 0 to 50 ms into the traffic
        tasks = [*live.tasks, sender]
        for task in tasks:
            task.cancel()
        _, pending = await asyncio.wait(tasks, timeout=5)
        assert not pending, f"attempt {attempt}: {pending}"
        await live.layer.close_pools()


async def flood(live):
    while True:
        await live.publish("room-1", {"type": "test.flood"})
