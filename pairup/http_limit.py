"""A cap on the HTTP requests one process works on at once.

Django runs each request's synchronous code in a thread of its own (one per
request context), so a crowd of 200 requests is 200 threads taking turns
at one interpreter lock: each request takes 200 times longer, and a
booking holding SQLite's write lock waits for its turn so long that other
writers time out ("database is locked", a 500). Past a few requests nothing
runs faster on two cores; the rest wait their turn here (in the order
below), and each request, once started, finishes quickly. WebSockets are
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

Requests that change something (any method but GET, HEAD and OPTIONS) wait
ahead of page loads: on opening night a booking is a team's last request and
the page loads are everyone else's first, so a booking never queues behind
the crowd's boards (measured on `bench/rush.py`: see the README). Page loads
are still served in order; the writes ahead of them are bounded by the rate
limits and by each user having one thing to do at a time.
"""

import asyncio
from collections import deque

HTTP_CONCURRENCY = 2
READS = frozenset({"GET", "HEAD", "OPTIONS"})


class HttpConcurrencyLimit:
    """ASGI middleware: at most `limit` HTTP requests in the app at once,
    the rest let in writes first, then reads, each in order of arrival."""

    def __init__(self, app, limit: int = HTTP_CONCURRENCY):
        self.app = app
        self.limit = limit
        self.running = 0
        # Touched only on the server's loop. Futures of waiting requests.
        self.writes: deque[asyncio.Future] = deque()
        self.reads: deque[asyncio.Future] = deque()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        await self._enter(scope.get("method", "GET") not in READS)
        try:
            return await self.app(scope, receive, send)
        finally:
            self._leave()

    async def _enter(self, write: bool) -> None:
        if self.running < self.limit and not self.writes and not self.reads:
            self.running += 1
            return
        turn = asyncio.get_running_loop().create_future()
        queue = self.writes if write else self.reads
        queue.append(turn)
        try:
            await turn
        except asyncio.CancelledError:
            # The client went away while waiting. If its turn had come, pass
            # the turn on; else just leave the queue.
            if turn.done() and not turn.cancelled():
                self._leave()
            elif turn in queue:
                queue.remove(turn)
            raise

    def _leave(self) -> None:
        """Hand this request's place to the next waiting one, writes first."""
        for queue in (self.writes, self.reads):
            while queue:
                turn = queue.popleft()
                if not turn.done():
                    turn.set_result(None)  # its place is this one's
                    return
        self.running -= 1
