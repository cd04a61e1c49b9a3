"""Two daphne processes on one database and one Redis share a room."""

import asyncio
import json
import os
import subprocess
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL"),
    reason="needs REDIS_URL: only a Redis channel layer joins two processes "
    "(.ci/postgres-redis runs this)",
)

SESSIONS = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
keys = []
for number, name in (("30000001", "Ana"), ("30000002", "Ben")):
    user = User.objects.create(
        username=number, first_name=name, password=make_password(None)
    )
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps(keys))
"""


@pytest.fixture
def lobby():
    """No test database: the servers migrate their own."""


@pytest.fixture
def two_servers(tmp_path):
    """Start two daphne processes on one database and one Redis database.

    They use Redis database 1: the test process clears its own cache (the
    REDIS_URL database) around every test.
    """
    from pairup.tests.browser import start_live_server

    redis_url = urlsplit(os.environ["REDIS_URL"])._replace(path="/1").geturl()
    servers = []
    try:
        (tmp_path / "one").mkdir()
        (tmp_path / "two").mkdir()
        servers.append(start_live_server(tmp_path / "one", {"REDIS_URL": redis_url}))
        database_url = servers[0].env["DATABASE_URL"]
        servers.append(
            start_live_server(
                tmp_path / "two",
                {"REDIS_URL": redis_url, "DATABASE_URL": database_url},
            )
        )
        yield servers
    finally:
        for server in servers:
            server.process.terminate()
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()


async def _open(server, session_key):
    from websockets.asyncio.client import connect

    url = server.url.replace("http://", "ws://") + "/ws/chat/lobby/"
    return await connect(
        url,
        origin=server.url,  # the page's own origin: scheme, host and port
        additional_headers={"Cookie": f"sessionid={session_key}"},
    )


async def _next(socket, frame_type: str, *, where=lambda frame: True) -> dict:
    """Return the next frame of `frame_type` that satisfies `where`."""
    async with asyncio.timeout(10):
        while True:
            frame = json.loads(await socket.recv())
            if frame["type"] == frame_type and where(frame):
                return frame


def _names(frame: dict) -> list[str]:
    return [user["name"] for user in frame["users"]]


async def _status_and_presence(socket, text: str, names: list[str]) -> None:
    """Wait for the status line and the presence list, in either order: they
    travel separately."""
    seen = set()
    async with asyncio.timeout(10):
        while len(seen) < 2:
            frame = json.loads(await socket.recv())
            if frame == {"type": "status", "text": text}:
                seen.add("status")
            elif frame["type"] == "presence" and _names(frame) == names:
                seen.add("presence")


async def test_a_message_and_presence_cross_between_two_processes(two_servers):
    one, two = two_servers
    ana_key, ben_key = json.loads(one.shell(SESSIONS))

    ana = await _open(one, ana_key)
    await _next(ana, "history")
    assert _names(await _next(ana, "presence")) == ["Ana"]

    ben = await _open(two, ben_key)
    await _next(ben, "history")
    assert _names(await _next(ben, "presence")) == ["Ana", "Ben"]
    await _status_and_presence(ana, "Ben has entered the room.", ["Ana", "Ben"])

    await ana.send(json.dumps({"type": "message", "text": "hello from one"}))
    got = await _next(ben, "message")
    assert (got["text"], got["author"]) == ("hello from one", "Ana")
    await ben.send(json.dumps({"type": "message", "text": "and back from two"}))
    got = await _next(ana, "message", where=lambda f: f["author"] == "Ben")
    assert got["text"] == "and back from two"

    await ben.close()
    await _status_and_presence(ana, "Ben has left the room.", ["Ana"])
    await ana.close()

    stored = one.shell(
        "from chat.models import Message; "
        "print(sorted(Message.objects.values_list('text', flat=True)))"
    )
    assert stored.strip() == "['and back from two', 'hello from one']"
