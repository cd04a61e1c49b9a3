"""The ASGI handler: one thread per request for all its synchronous work,
threads (and their database connections) reused from request to request."""

import asyncio
import threading

import pytest
from channels.testing import HttpCommunicator
from django.core import signals
from django.db import connection
from django.http import HttpResponse
from django.urls import path

from pairup.handler import PooledThreadASGIHandler

seen: list[dict] = []


def where(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    seen.append(
        {
            "view_thread": threading.get_ident(),
            "connection": id(connection.connection),
            "middleware_thread": request.middleware_thread,
        }
    )
    return HttpResponse(f"thread {threading.get_ident()}")


def slow(request):
    threading.Event().wait(0.05)
    return where(request)


urlpatterns = [path("where/", where), path("slow/", slow)]


@pytest.fixture
def handler(settings):
    settings.ROOT_URLCONF = __name__
    # A middleware hook's thread, so the test can compare it with the view's.
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.note_thread"]
    seen.clear()
    return PooledThreadASGIHandler(threads=2)


def note_thread(get_response):
    def middleware(request):
        request.middleware_thread = threading.get_ident()
        return get_response(request)

    return middleware


@pytest.fixture
def signal_threads():
    threads = {"started": [], "finished": [], "open_after": []}

    def started(**kwargs):
        threads["started"].append(threading.get_ident())

    def finished(**kwargs):
        # After Django's close_old_connections (connected first).
        threads["finished"].append(threading.get_ident())
        threads["open_after"].append(connection.connection is not None)

    signals.request_started.connect(started)
    signals.request_finished.connect(finished)
    yield threads
    signals.request_started.disconnect(started)
    signals.request_finished.disconnect(finished)


def request(handler, path):
    return HttpCommunicator(handler, "GET", path, headers=[(b"host", b"testserver")])


async def get(handler, path):
    communicator = request(handler, path)
    response = await communicator.get_response(timeout=5)
    await communicator.wait(timeout=5)  # the response closed, the request over
    assert response["status"] == 200, response
    return response


@pytest.mark.django_db(transaction=True)
async def test_a_second_request_reuses_the_first_ones_thread(handler, signal_threads):
    await get(handler, "/where/")
    await get(handler, "/where/")

    first, second = seen
    assert second["view_thread"] == first["view_thread"]
    assert first["view_thread"] != threading.get_ident()  # not the loop's
    # The connection follows CONN_MAX_AGE on the reused thread.
    if connection.settings_dict["CONN_MAX_AGE"] is None:
        # Kept (SQLite): the second request finds the first one's open.
        assert signal_threads["open_after"] == [True, True]
        assert second["connection"] == first["connection"]
    else:
        # Given back at the end of each request (PostgreSQL's pool).
        assert signal_threads["open_after"] == [False, False]


@pytest.mark.django_db(transaction=True)
async def test_each_requests_synchronous_work_runs_on_one_thread(
    handler, signal_threads
):
    # Four at once on a pool of two: every request still does its signals,
    # middleware and view on one thread, and the pool keeps two threads.
    await asyncio.gather(*(get(handler, "/slow/") for _ in range(4)))

    assert len(seen) == 4
    for record in seen:
        assert record["middleware_thread"] == record["view_thread"]
    views = sorted(record["view_thread"] for record in seen)
    assert sorted(signal_threads["started"]) == views
    assert sorted(signal_threads["finished"]) == views
    assert len(handler.idle) == 2


@pytest.mark.django_db(transaction=True)
async def test_the_real_middleware_chain_still_answers(settings):
    settings.ROOT_URLCONF = "pairup.urls"
    handler = PooledThreadASGIHandler(threads=1)

    page = await get(handler, "/accounts/login/")
    await get(handler, "/accounts/login/")

    headers = dict(page["headers"])
    assert b"csrftoken=" in headers[b"Set-Cookie"]
    assert headers[b"X-Frame-Options"] == b"DENY"


def test_only_http_is_served():
    handler = PooledThreadASGIHandler(threads=1)
    with pytest.raises(ValueError, match="websocket"):
        asyncio.run(handler({"type": "websocket"}, None, None))
