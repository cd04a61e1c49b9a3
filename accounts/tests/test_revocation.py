"""Ending a user's access closes their sockets, even those whose handshake
is under way at that very moment (real concurrent handshakes)."""

import asyncio
import json
import re
import urllib.request
from http.cookiejar import CookieJar
from importlib import import_module

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client

from accounts.revocation import session_is_valid

pytestmark = pytest.mark.django_db(transaction=True)

HANDSHAKES = 40
PATHS = ["/ws/chat/lobby/", "/ws/labs/"]


@pytest.fixture
def lobby(db):
    from chat.models import Room

    room, _ = Room.objects.get_or_create(slug="lobby", defaults={"name": "Lobby"})
    return room


def signed_in_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


async def handshake(cookie: str, path: str):
    from pairup.asgi import application

    communicator = WebsocketCommunicator(
        application,
        path,
        headers=[
            (b"origin", b"http://127.0.0.1"),
            (b"host", b"127.0.0.1"),
            (b"cookie", f"sessionid={cookie}".encode()),
        ],
    )
    connected, _ = await communicator.connect(timeout=10)
    return communicator, connected


async def still_open(communicator) -> bool:
    """Return whether the socket stays open (reading past its frames)."""
    try:
        while True:
            output = await communicator.receive_output(timeout=1)
            if output["type"] == "websocket.close":
                assert output.get("code") == 4401, output
                return False
    except TimeoutError:
        return True


async def race(user, end_access) -> list[bool]:
    """Start HANDSHAKES handshakes and `end_access()` (in a thread of its
    own) at once; return, for each socket, whether it is still open."""
    client = await sync_to_async(signed_in_client)(user)
    cookie = client.cookies["sessionid"].value
    ending = sync_to_async(end_access, thread_sensitive=False)(client)
    results = await asyncio.gather(
        *(handshake(cookie, PATHS[n % 2]) for n in range(HANDSHAKES)), ending
    )
    sockets = results[:-1]
    open_after = []
    for communicator, connected in sockets:
        open_after.append(connected and await still_open(communicator))
        await communicator.disconnect()
    return open_after


async def test_no_socket_survives_a_sign_out_during_its_handshake(alice, lobby):
    open_after = await race(alice, lambda client: client.post("/accounts/logout/"))
    assert not any(open_after)


async def test_no_socket_survives_a_password_change_during_its_handshake(alice, lobby):
    def change_password(client):
        alice.set_password("a-new-long-passphrase-2026")
        alice.save()

    assert not any(await race(alice, change_password))


async def test_no_socket_survives_a_deactivation_during_its_handshake(alice, lobby):
    def deactivate(client):
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    assert not any(await race(alice, deactivate))


@pytest.mark.parametrize("path", PATHS)
async def test_a_sign_out_after_the_session_was_read_refuses_the_handshake(
    alice, lobby, path, monkeypatch
):
    """The middleware has read the session; the consumer hasn't joined the
    user's group yet when the sign-out is published to it."""
    from chat.consumers import ChatConsumer
    from projects.consumers import LabBoardConsumer

    consumer = ChatConsumer if "chat" in path else LabBoardConsumer
    reached, gate = asyncio.Event(), asyncio.Event()
    real_connect = consumer.connect

    async def held(self):
        reached.set()
        await gate.wait()
        await real_connect(self)

    monkeypatch.setattr(consumer, "connect", held)
    client = await sync_to_async(signed_in_client)(alice)
    attempt = asyncio.create_task(handshake(client.cookies["sessionid"].value, path))
    await reached.wait()
    await sync_to_async(client.post)("/accounts/logout/")
    gate.set()
    communicator, connected = await attempt
    assert connected is False
    await communicator.disconnect()


async def test_a_sign_out_while_joining_the_room_refuses_the_handshake(
    alice, lobby, monkeypatch
):
    """The consumer is in the user's group and checked the session; the
    sign-out arrives while it joins the room."""
    from chat.hub import Hub

    reached, gate = asyncio.Event(), asyncio.Event()
    real_join = Hub.join

    async def held(self, consumer):
        reached.set()
        await gate.wait()
        return await real_join(self, consumer)

    monkeypatch.setattr(Hub, "join", held)
    client = await sync_to_async(signed_in_client)(alice)
    attempt = asyncio.create_task(
        handshake(client.cookies["sessionid"].value, "/ws/chat/lobby/")
    )
    await reached.wait()
    await sync_to_async(client.post)("/accounts/logout/")
    await asyncio.sleep(0.05)  # the revocation reaches the consumer
    gate.set()
    communicator, connected = await attempt
    assert connected is False
    await communicator.disconnect()


async def test_sockets_of_another_session_of_the_user_stay_open_after_a_sign_out(
    alice, lobby
):
    other = await sync_to_async(signed_in_client)(alice)
    cookie = other.cookies["sessionid"].value
    communicator, connected = await handshake(cookie, "/ws/chat/lobby/")
    assert connected
    # Signing out in one browser ends the others' sockets too (4401): the
    # page then asks its session, which is still valid, and reconnects.
    client = await sync_to_async(signed_in_client)(alice)
    await sync_to_async(client.post)("/accounts/logout/")
    assert await still_open(communicator) is False
    again, connected = await handshake(cookie, "/ws/chat/lobby/")
    assert connected
    await again.disconnect()
    await communicator.disconnect()


async def test_deleting_the_account_closes_its_sockets(charlie, lobby):
    """A superuser deletes a student's account in the admin: the student's
    open sockets close (4401) like a deactivated one's, instead of reading
    the room on as a user who no longer exists."""
    client = await sync_to_async(signed_in_client)(charlie)
    communicator, connected = await handshake(
        client.cookies["sessionid"].value, "/ws/chat/lobby/"
    )
    assert connected

    await sync_to_async(charlie.delete)()

    assert await still_open(communicator) is False
    await communicator.disconnect()


def test_a_signed_out_session_is_not_valid(alice):
    client = signed_in_client(alice)
    key = client.cookies["sessionid"].value
    assert session_is_valid(session_key=key, user_id=alice.pk)
    assert not session_is_valid(session_key=key, user_id=alice.pk + 1)
    client.post("/accounts/logout/")
    assert not session_is_valid(session_key=key, user_id=alice.pk)
    assert not session_is_valid(session_key=None, user_id=alice.pk)


def test_signing_out_ends_the_session_before_the_sockets_are_told(alice, monkeypatch):
    """Django's logout flushes the session after the signal: a handshake
    checking between the two must already see the session gone."""
    from django.test import RequestFactory

    from accounts import revocation

    key = signed_in_client(alice).cookies["sessionid"].value
    told = []

    def revoke(user_id):
        told.append((user_id, session_is_valid(session_key=key, user_id=alice.pk)))

    monkeypatch.setattr(revocation, "revoke_user_sockets", revoke)
    request = RequestFactory().post("/accounts/logout/")
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(key)
    revocation.user_signed_out(sender=type(alice), request=request, user=alice)
    assert told == [(alice.pk, False)]


def test_a_password_change_invalidates_the_other_sessions(alice):
    key = signed_in_client(alice).cookies["sessionid"].value
    alice.set_password("a-new-long-passphrase-2026")
    alice.save()
    assert not session_is_valid(session_key=key, user_id=alice.pk)


# Through a real daphne process and real sockets ------------------------------

SESSION = """
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.backends.db import SessionStore
User = get_user_model()
user, _ = User.objects.get_or_create(
    username="{number}", defaults={{"first_name": "Ria", "password": make_password(None)}}
)
session = SessionStore()
session["_auth_user_id"] = str(user.pk)
session["_auth_user_backend"] = "django.contrib.auth.backends.ModelBackend"
session["_auth_user_hash"] = user.get_session_auth_hash()
session.create()
print(json.dumps(session.session_key))
"""


def sign_out_over_http(base_url: str, session_key: str) -> int:
    """Sign out as a browser does: the page's form, its CSRF token, a POST."""
    jar = CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    cookie = f"sessionid={session_key}"
    page = (
        opener.open(
            urllib.request.Request(
                f"{base_url}/accounts/profile/", headers={"Cookie": cookie}
            )
        )
        .read()
        .decode()
    )
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)[1]
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    request = urllib.request.Request(
        f"{base_url}/accounts/logout/",
        data=f"csrfmiddlewaretoken={token}".encode(),
        headers={
            "Cookie": f"{cookie}; csrftoken={csrf}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        method="POST",
    )
    with urllib.request.urlopen(request) as response:  # follows the redirect
        return response.status


@pytest.mark.django_db(transaction=False)
async def test_real_handshakes_racing_a_real_sign_out_all_end(live_server):
    from websockets.asyncio.client import connect
    from websockets.exceptions import ConnectionClosed, InvalidStatus

    key = json.loads(live_server.shell(SESSION.format(number="40000001")))
    url = live_server.url.replace("http://", "ws://")

    async def open_one(n):
        try:
            return await connect(
                url + PATHS[n % 2],
                origin=live_server.url,
                additional_headers={"Cookie": f"sessionid={key}"},
            )
        except InvalidStatus:
            return None  # refused at the handshake: fine

    sign_out = asyncio.to_thread(sign_out_over_http, live_server.url, key)
    *sockets, status = await asyncio.gather(
        *(open_one(n) for n in range(HANDSHAKES)), sign_out
    )
    assert status == 200
    await asyncio.sleep(2)
    survivors = []
    for socket in sockets:
        if socket is None:
            continue
        try:
            async with asyncio.timeout(0.5):
                while True:
                    await socket.recv()
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 4401
        except TimeoutError:
            survivors.append(socket)
        await socket.close()
    assert survivors == []


async def test_a_password_hash_upgraded_at_sign_in_keeps_the_sockets_open(
    alice, lobby, settings
):
    from chat.tests.conftest import drain, joined

    def set_password():
        alice.set_password("the-same-passphrase-2026")
        alice.save()

    await sync_to_async(set_password)()
    socket = await joined(alice)
    # A newer preferred hasher: the next sign-in upgrades the stored hash.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.ScryptPasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    upgraded = await sync_to_async(alice.check_password)("the-same-passphrase-2026")
    assert upgraded
    assert (
        await sync_to_async(lambda: type(alice).objects.get(pk=alice.pk).password)()
    ).startswith("scrypt$")
    assert await drain(socket, 0.3) == []  # still open, nothing closed
    await socket.disconnect()
