"""Helpers for chat tests: sockets through the real ASGI stack."""

import asyncio
import json
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat import hub
from pairup.tests.helpers import session_cookie

# The site as the tests reach it: WebsocketCommunicator sends no Host header
# of its own, and the Origin must match it (pairup/origin.py).
HOST = b"127.0.0.1"
ORIGIN = b"http://127.0.0.1"


async def open_socket(
    user=None, slug="lobby", *, origin=ORIGIN, path=None, host=HOST, headers=()
):
    """Open `/ws/chat/<slug>/` as `user` through pairup.asgi.application.

    Return (communicator, connected). Pass user=None for an anonymous socket
    and origin=None (host=None) for no Origin (Host) header.
    """
    from pairup.asgi import application

    headers = list(headers)
    if host is not None:
        headers.append((b"host", host))
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        cookie = await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(
        application, path or f"/ws/chat/{slug}/", headers=headers
    )
    # Channels' 1 s for the handshake ran out on a busy machine.
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def joined(user, slug="lobby"):
    """Open a socket and consume its `history` and `presence` frames."""
    communicator, connected = await open_socket(user, slug)
    assert connected
    history = await communicator.receive_json_from()
    presence = await communicator.receive_json_from()
    assert (history["type"], presence["type"]) == ("history", "presence")
    return communicator


async def next_of_type(communicator, frame_type: str, timeout: float = 1):
    """Return the next frame of `frame_type`, skipping presence and status."""
    while True:
        frame = await communicator.receive_json_from(timeout=timeout)
        if frame["type"] == frame_type:
            return frame
        assert frame["type"] in ("presence", "status"), frame


async def status_and_presence(communicator, timeout: float = 2) -> tuple[dict, dict]:
    """Return the next `status` frame and the `presence` list that comes
    with it, in whichever order they arrive: a presence list already
    gathering when the change happened may go out before its status line,
    and then carries the change itself."""
    status = presence = None
    async with asyncio.timeout(timeout):
        while status is None or presence is None:
            frame = await communicator.receive_json_from(timeout=timeout)
            if frame["type"] == "status" and status is None:
                status = frame
            elif frame["type"] == "presence":
                presence = frame
            else:
                raise AssertionError(f"unexpected frame {frame}")
    return status, presence


async def expect_close(communicator, code: int):
    """Wait for the server to close the socket with `code`, then let it go.

    A real server reports the disconnect itself; the communicator needs it
    sent.
    """
    while True:
        output = await communicator.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            assert output.get("code") == code
            await communicator.disconnect(code)
            return
        frame = json.loads(output["text"])
        assert frame["type"] in ("presence", "status"), frame


async def drain(communicator, wait: float = 0.1) -> list[dict]:
    """Return every frame that arrives within `wait` seconds."""
    frames = []
    while not await communicator.receive_nothing(timeout=wait):
        frames.append(await communicator.receive_json_from())
    return frames


@pytest.fixture
def published(monkeypatch):
    """Events the services publish to room groups after commit, as
    (room id, event) with the frames decoded."""
    from chat import broadcast

    events = []

    def record(group, event):
        frames = [json.loads(frame) for frame in event.get("frames", ())]
        events.append((event["room"], {**event, "frames": frames}))
        return True

    monkeypatch.setattr(broadcast, "publish", record)
    return events


def frames_sent(published) -> list[dict]:
    """Return every frame in `published` events, in order."""
    return [frame for _room, event in published for frame in event["frames"]]


@pytest.fixture(autouse=True)
def _fast_presence(monkeypatch):
    monkeypatch.setattr(hub, "PRESENCE_INTERVAL", 0.05)


@pytest.fixture
def team(alice, bob):
    from projects.tests.factories import make_team

    return make_team(alice, bob)


async def settle():
    await asyncio.sleep(0.1)


HERE = Path(__file__).parent


def pytest_collection_modifyitems(items):
    """Mark every chat test but the browser ones as using the database.

    `lobby` below reaches the database for each of them, but asks for it at
    run time, and pytest-django sets up the test database only for the
    databases the selected tests declare: a test without a mark, selected
    on its own (`-k`), found no tables.
    """
    for item in items:
        if (
            item.path.is_relative_to(HERE)
            and "browser" not in item.keywords
            and item.get_closest_marker("django_db") is None
        ):
            item.add_marker(pytest.mark.django_db)


@pytest.fixture(autouse=True)
def lobby(request):
    """The lobby the data migration makes (transactional tests flush it).

    Browser tests get None: they never touch the ORM.
    """
    if request.node.get_closest_marker("browser"):
        return None
    request.getfixturevalue("db")
    from chat.models import Room

    room, _ = Room.objects.get_or_create(slug="lobby", defaults={"name": "Lobby"})
    return room
