"""A cap on the HTTP requests one process works on at once.

Django runs each request's synchronous code in a thread of its own (one per
request context), so a crowd of 200 requests is 200 threads taking turns
at one interpreter lock: each request takes 200 times longer, and a
booking holding SQLite's write lock waits for its turn so long that other
writers time out ("database is locked", a 500). Past a few requests nothing
runs faster on two cores; the rest wait their turn here, first come first
served, and each request, once started, finishes quickly. WebSockets are
not counted.
"""

import asyncio

HTTP_CONCURRENCY = 4


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
