import asyncio

from pairup.http_limit import HttpConcurrencyLimit


async def test_at_most_the_limit_of_http_requests_run_at_once_in_order():
    running, peak, order = 0, 0, []

    async def app(scope, receive, send):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        order.append(scope["n"])
        await asyncio.sleep(0.01)
        running -= 1

    limited = HttpConcurrencyLimit(app, limit=2)

    await asyncio.gather(
        *(limited({"type": "http", "n": n}, None, None) for n in range(6))
    )

    assert peak == 2
    assert order == list(range(6))


async def test_websockets_are_not_counted():
    running, peak = 0, 0

    async def app(scope, receive, send):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.01)
        running -= 1

    limited = HttpConcurrencyLimit(app, limit=1)

    await asyncio.gather(
        *(limited({"type": "websocket"}, None, None) for _ in range(3))
    )

    assert peak == 3


class OneAtATime:
    """An app behind a limit of 1, whose request named "first" holds the
    place until `release` is set; `order` is the order requests got in."""

    def __init__(self):
        self.order = []
        self.release = asyncio.Event()
        self.limited = HttpConcurrencyLimit(self.app, limit=1)

    async def app(self, scope, receive, send):
        self.order.append(scope["name"])
        if scope["name"] == "first":
            await self.release.wait()

    def request(self, name, method="GET"):
        scope = {"type": "http", "method": method, "name": name}
        return asyncio.create_task(self.limited(scope, None, None))


async def test_waiting_writes_go_before_waiting_page_loads():
    server = OneAtATime()
    first = server.request("first")
    await asyncio.sleep(0)
    waiting = [
        server.request("board 1", "GET"),
        server.request("booking 1", "POST"),
        server.request("board 2", "HEAD"),
        server.request("release", "DELETE"),
        server.request("booking 2", "POST"),
    ]
    await asyncio.sleep(0)
    server.release.set()
    await asyncio.gather(first, *waiting)

    assert server.order == [
        "first",
        "booking 1",
        "release",
        "booking 2",
        "board 1",
        "board 2",
    ]


async def test_a_request_cancelled_while_waiting_gives_up_its_place():
    server = OneAtATime()
    first = server.request("first")
    await asyncio.sleep(0)
    gone = server.request("gone away", "POST")
    after = server.request("after")
    await asyncio.sleep(0)
    gone.cancel()
    await asyncio.sleep(0)
    server.release.set()
    await asyncio.gather(first, after)

    assert server.order == ["first", "after"]
    assert gone.cancelled()
    assert server.limited.running == 0
    assert not server.limited.writes and not server.limited.reads


async def test_a_request_cancelled_as_its_turn_came_passes_the_turn_on():
    order = []

    async def app(scope, receive, send):
        order.append(scope["name"])

    limited = HttpConcurrencyLimit(app, limit=1)
    limited.running = 1  # a request in the app
    turn_taker = asyncio.create_task(
        limited({"type": "http", "method": "GET", "name": "cancelled"}, None, None)
    )
    next_one = asyncio.create_task(
        limited({"type": "http", "method": "GET", "name": "next"}, None, None)
    )
    await asyncio.sleep(0)
    limited._leave()  # the request in the app finishes: the turn is handed on
    turn_taker.cancel()  # before the waiting request wakes up to take it
    await asyncio.wait_for(next_one, timeout=2)

    assert turn_taker.cancelled()
    assert order == ["next"]
    assert limited.running == 0
