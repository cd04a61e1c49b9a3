"""The live layer under faults, with two daphne processes on one PostgreSQL
and one Redis (issue 13): a Redis restart, a process killed with -9, and the
layer refusing writes while a message is posted."""

import asyncio
import json
import time

import pytest

from pairup.tests.faults.harness import sessions

pytestmark = pytest.mark.faults

ANA, BEN = "10000001", "10000002"


def messages_stored(server, text: str) -> int:
    return int(
        server.shell(
            "from chat.models import Message; "
            f"print(Message.objects.filter(text={text!r}).count())"
        ).strip()
    )


async def open_chat(server, key):
    from websockets.asyncio.client import connect

    return await connect(
        server.url.replace("http://", "ws://") + "/ws/chat/lobby/",
        origin=server.url,
        additional_headers={"Cookie": f"sessionid={key}"},
        open_timeout=10,
    )


async def next_frame(socket, kind: str, *, timeout: float, where=lambda f: True):
    async with asyncio.timeout(timeout):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == kind and where(frame):
                return frame


def names(frame: dict) -> list[str]:
    return [user["name"] for user in frame["users"]]


async def joined(server, key):
    socket = await open_chat(server, key)
    await next_frame(socket, "history", timeout=10)
    return socket


async def first_join_after(server, key, *, within: float):
    """Retry the handshake as the page does until it is served; return the
    socket once it has its history (never an open, silent socket)."""
    from websockets.exceptions import InvalidStatus

    deadline = time.monotonic() + within
    while True:
        try:
            socket = await open_chat(server, key)
        except (InvalidStatus, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
            continue
        await next_frame(socket, "history", timeout=5)
        return socket


async def test_a_redis_restart_keeps_sockets_open_and_chat_resumes_within_20_s(
    servers, redis
):
    from websockets.exceptions import InvalidStatus

    one, two = servers.start(2)
    one.manage("seed_demo", "--force")
    ana_key, ben_key = sessions(one, [ANA, BEN])
    ana, ben = await joined(one, ana_key), await joined(two, ben_key)
    await next_frame(ana, "presence", timeout=10, where=lambda f: len(f["users"]) == 2)

    redis.stop()
    await asyncio.sleep(2)
    # While Redis is away: a send is refused clearly and stored nowhere; a
    # new socket is refused at the handshake (the page retries).
    await ana.send(json.dumps({"type": "message", "text": "during the outage"}))
    error = await next_frame(ana, "error", timeout=10)
    assert error["code"] == "unavailable"
    with pytest.raises(InvalidStatus):
        await open_chat(one, ana_key)
    await asyncio.sleep(3)  # 5 s away in all

    redis.start()
    back = time.monotonic()
    # The sockets that stayed open resync (history again) and chat flows
    # live both ways between the two processes, without restarting daphne.
    await next_frame(ana, "history", timeout=20)
    await next_frame(ben, "history", timeout=20)
    await ana.send(json.dumps({"type": "message", "text": "from one after"}))
    got = await next_frame(ben, "message", timeout=20)
    assert got["text"] == "from one after"
    await ben.send(json.dumps({"type": "message", "text": "from two after"}))
    got = await next_frame(ana, "message", timeout=20, where=lambda f: f["author_id"])
    while got["text"] != "from two after":
        got = await next_frame(ana, "message", timeout=20)
    assert time.monotonic() - back < 20
    # A page that reconnects now is served (history, then live messages).
    again = await first_join_after(two, ana_key, within=20)
    await ben.send(json.dumps({"type": "message", "text": "to the new socket"}))
    got = await next_frame(again, "message", timeout=10)
    assert got["text"] == "to the new socket"

    for socket in (ana, ben, again):
        await socket.close()
    assert messages_stored(one, "during the outage") == 0
    assert messages_stored(one, "from one after") == 1
    assert messages_stored(one, "from two after") == 1


async def test_a_killed_process_leaves_open_sockets_presence_lists_within_40_s(
    servers, redis
):
    one, two = servers.start(2)
    one.manage("seed_demo", "--force")
    ana_key, ben_key = sessions(one, [ANA, BEN])
    ana = await joined(one, ana_key)
    ben = await joined(two, ben_key)
    await next_frame(ana, "presence", timeout=10, where=lambda f: len(f["users"]) == 2)
    ana_name = one.shell(
        "from django.contrib.auth import get_user_model; "
        f"print(get_user_model().objects.get(username={ANA!r}).display_name)"
    ).strip()

    servers.kill(two)  # no goodbye: its sockets and presence just stop
    killed = time.monotonic()
    alone = await next_frame(
        ana, "presence", timeout=40, where=lambda f: len(f["users"]) == 1
    )
    assert time.monotonic() - killed < 40
    assert names(alone) == [ana_name]
    await ana.close()
    await ben.close()


async def test_a_layer_that_refuses_writes_during_posts_stores_each_message_once(
    servers, redis
):
    one, two = servers.start(2, PAIRUP_CHAT_RATE="off")
    one.manage("seed_demo", "--force")
    ana_key, ben_key = sessions(one, [ANA, BEN])
    ana, ben = await joined(one, ana_key), await joined(two, ben_key)

    # Redis full: every write fails (OOM), reads still work.
    redis.cli("config", "set", "maxmemory-policy", "noeviction")
    redis.cli("config", "set", "maxmemory", "1")
    try:
        texts = [f"while full {n}" for n in range(5)]
        for text in texts:
            await ana.send(json.dumps({"type": "message", "text": text}))
        echoed, refused = set(), 0
        try:
            async with asyncio.timeout(10):
                while len(echoed) + refused < len(texts):
                    frame = json.loads(await ana.recv())
                    if frame["type"] == "message" and frame["text"] in texts:
                        echoed.add(frame["text"])
                    elif frame["type"] == "error":
                        refused += 1
        except TimeoutError:
            pass
    finally:
        redis.cli("config", "set", "maxmemory", "0")

    stored = {text: messages_stored(one, text) for text in texts}
    assert all(count <= 1 for count in stored.values()), stored  # never twice
    for text in echoed:  # told it is stored: stored exactly once
        assert stored[text] == 1, (text, stored)
    await ana.close()
    await ben.close()
