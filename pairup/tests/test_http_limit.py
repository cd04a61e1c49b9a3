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
