"""A cap on the HTTP requests one process works on at once.

Django runs each request's synchronous code in a thread of its own (one per
request context), so a crowd of 200 requests is 200 threads taking turns
at one interpreter lock: each request takes 200 times longer, and a
booking holding SQLite's write lock waits for its turn so long that other
writers time out ("database is locked", a 500). Past a few requests nothing
runs faster on two cores; the rest wait their turn here, first come first
served, and each request, once started, finishes quickly. WebSockets are
not counted.

Two, since a request's middleware and view run as one call on a reused
thread (`pairup/handler.py`): such a thread rarely waits, so two keep the
core busy, and each more takes turns at the interpreter lock with the
event loop and the sockets' database thread. Measured on `bench/rush.py`:
with 4, WebSocket handshakes took 3 to 8 times longer during the rush
(median 65 ms with Django's handler, 165 to 520 ms), and with two processes
10 to 26 of 400 sockets in two of four runs passed daphne's 5 s handshake
limit; with 2, handshakes are as fast as before, and the rush is about a
tenth slower than with 4 but still faster than with Django's handler.
"""

import asyncio

HTTP_CONCURRENCY = 2


class HttpConcurrencyLimit:
    """ASGI middleware: at most `limit` HTTP requests in the app at once."""

    def __init__(self, app, limit: int = HTTP_CONCURRENCY):
        self.app = app
        self.limit = limit
        self.semaphore = None  # made on first use, in the server's loop

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.semaphore is None:
            self.semaphore = asyncio.Semaphore(self.limit)
        async with self.semaphore:
            return await self.app(scope, receive, send)
