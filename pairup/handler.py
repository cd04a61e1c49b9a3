"""Django's ASGI handler, doing a request's synchronous work in one hop on a
thread kept from one request to the next.

Django's own handler runs the middleware as async middleware: every
synchronous hook (the session, CSRF, the user, WhiteNoise, ...) and the
view are handed to a thread and back one by one, and each request gets a
new thread, so a new SQLite connection, opened and set up again. Measured
in one process on the opening-night seed (250 slots), that is about a third
of a `/labs/` request's CPU: 28 ms through Django's ASGI handler against
18 ms for the same page through its WSGI handler.

Here the middleware chain is the synchronous one, as under WSGI, called
once per request on the request's thread, and that thread comes from a
small pool of one-thread executors handed to asgiref's
`ThreadSensitiveContext`, so everything Django runs thread-sensitively for
the request (the request signals, `close_old_connections`, the chain, closing
the response) still runs on one thread, as Django requires, and the next
request on that thread finds its database connection open. Connections
still follow the settings: SQLite keeps one per thread (`CONN_MAX_AGE`
None), PostgreSQL gives its connection back to the pool at the end of each
request (`CONN_MAX_AGE` 0). Everything else about the request (reading the
body, a client that goes away, sending and closing the response) is
Django's handler unchanged.
"""

from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler


class PooledThreadASGIHandler(ASGIHandler):
    """Django's `ASGIHandler` with a synchronous middleware chain run on
    threads reused from request to request (`threads` kept; past that a
    request gets a thread of its own, as with Django's handler)."""

    def __init__(self, threads: int):
        # Not super().__init__(): that builds the async chain, which this
        # handler never uses (and WhiteNoise would scan the static files
        # for it a second time).
        self.load_middleware(is_async=False)
        self.threads = threads
        self.idle: list[ThreadPoolExecutor] = []  # touched only on the loop

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            raise ValueError(
                f"Django can only handle ASGI/HTTP connections, not {scope['type']}."
            )
        executor = self.idle.pop() if self.idle else self._new_executor()
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            # A view still running after its client went away keeps the
            # thread busy; the next request on it waits its turn there.
            if len(self.idle) < self.threads:
                self.idle.append(executor)
            else:
                executor.shutdown(wait=False)

    def _new_executor(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="pairup-http")

    async def get_response_async(self, request):
        # The whole chain and the view in one hop to the request's thread.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


def get_asgi_application(threads: int) -> PooledThreadASGIHandler:
    """Set Django up and return the handler, as `django.core.asgi` does."""
    django.setup(set_prefix=False)
    return PooledThreadASGIHandler(threads)
