"""Against a real daphne: a frame over daphne's 1 MiB limit is closed with
1009 (not a dropped connection), and a client that stops reading gets its
4413 close frame after what it was sent, before the connection ends."""

import asyncio
import base64
import json
import os
import socket
import subprocess
import time

import pytest

SESSION = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
keys = []
for number, name in (("50000001", "Flo"), ("50000002", "Gus")):
    user, _ = User.objects.get_or_create(
        username=number, defaults={"first_name": name, "password": make_password(None)}
    )
    session = SessionStore()
    session["_auth_user_id"] = str(user.pk)
    session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
    session["_auth_user_hash"] = user.get_session_auth_hash()
    session.create()
    keys.append(session.session_key)
print(json.dumps(keys))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from pairup.tests.browser import start_live_server

    live = start_live_server(
        tmp_path_factory.mktemp("limits"), {"PAIRUP_CHAT_RATE": "off"}
    )
    yield live, json.loads(live.shell(SESSION))
    live.process.terminate()
    try:
        live.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        live.process.kill()


@pytest.fixture
def lobby():
    """No test database: the server has its own."""


async def test_a_frame_over_daphnes_limit_is_closed_with_1009(server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed

    live, (key, _other) = server
    async with connect(
        live.url.replace("http://", "ws://") + "/ws/chat/lobby/",
        origin=live.url,
        additional_headers={"Cookie": f"sessionid={key}"},
    ) as chat:
        await chat.recv()  # history
        await chat.send(json.dumps({"type": "message", "text": "x" * (1 << 20)}))
        with pytest.raises(ConnectionClosed) as closed:
            async with asyncio.timeout(10):
                while True:
                    await chat.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


def raw_handshake(url: str, key: str) -> socket.socket:
    """Open /ws/chat/lobby/ on a plain socket (that reads only when asked)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.connect((host, int(port)))
    nonce = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /ws/chat/lobby/ HTTP/1.1\r\n"
            f"Host: {host}:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {nonce}\r\nSec-WebSocket-Version: 13\r\n"
            f"Origin: {url}\r\nCookie: sessionid={key}\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    return sock


def masked(payload: bytes) -> bytes:
    """Return a client text frame (masked, as clients must)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[n % 4] for n, b in enumerate(payload))
    return bytes((0x81, 0x80 | len(payload))) + mask + body


def close_code(sock: socket.socket, deadline: float) -> int | None:
    """Read server frames until a close frame; return its code. The socket
    keeps talking meanwhile, so daphne's ping timeout doesn't end it first
    on a slow machine."""
    buffer = b""
    sock.settimeout(1)
    talked = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() - talked > 2:
            sock.sendall(masked(b"{}"))
            talked = time.monotonic()
        try:
            chunk = sock.recv(1 << 16)
        except TimeoutError:
            continue
        if not chunk:
            return None  # the connection ended without a close frame
        buffer += chunk
        while len(buffer) >= 2:
            opcode, size, start = buffer[0] & 0x0F, buffer[1] & 0x7F, 2
            if size == 126:
                size, start = int.from_bytes(buffer[2:4], "big"), 4
            elif size == 127:
                size, start = int.from_bytes(buffer[2:10], "big"), 10
            if len(buffer) < start + size:
                break
            payload, buffer = buffer[start : start + size], buffer[start + size :]
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big")
    return None


async def test_a_client_that_stops_reading_gets_its_4413_close_frame(server):
    from websockets.asyncio.client import connect

    live, (slow_key, flood_key) = server
    slow = await asyncio.to_thread(raw_handshake, live.url, slow_key)
    try:
        async with connect(
            live.url.replace("http://", "ws://") + "/ws/chat/lobby/",
            origin=live.url,
            additional_headers={"Cookie": f"sessionid={flood_key}"},
            max_queue=None,
        ) as flood:
            for burst in range(25):
                last = f"burst {burst} " + "y" * 980
                for _ in range(400):
                    await flood.send(json.dumps({"type": "message", "text": last}))
                # The slow client still talks (its frames are refused), so
                # daphne's ping timeout doesn't end it first.
                await asyncio.to_thread(slow.sendall, masked(b"{}"))
                async with asyncio.timeout(60):  # the server has sent it all
                    while json.loads(await flood.recv()).get("text") != last:
                        pass
                if "(4413)" in live.log.read_text():
                    break  # the server gave up on the slow client
            # The slow reader comes back a few seconds later and reads
            # everything it was sent: the 4413 close frame must be at the
            # end of it, not a reset.
            await asyncio.sleep(3)
            code = await asyncio.to_thread(close_code, slow, time.monotonic() + 90)
    finally:
        slow.close()
    assert code == 4413
