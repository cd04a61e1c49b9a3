"""`/ws/me/` through the real ASGI stack: the count, live notifications,
and closing on sign-out."""

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client

from notifications.models import Notification
from notifications.services import notifications_mark_read
from pairup.tests.helpers import session_cookie
from projects import services
from projects.tests.factories import make_team

HOST = b"127.0.0.1"
ORIGIN = b"http://127.0.0.1"
pytestmark = pytest.mark.django_db(transaction=True)


async def open_me(user=None, *, origin=ORIGIN, cookie=None):
    from pairup.asgi import application

    # WebsocketCommunicator sends no Host header; a same-origin check that
    # compares scheme, host and port needs one.
    headers = [(b"host", HOST)]
    if origin is not None:
        headers.append((b"origin", origin))
    if user is not None:
        cookie = cookie or await sync_to_async(session_cookie)(user)
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    communicator = WebsocketCommunicator(application, "/ws/me/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    return communicator, connected


async def test_a_signed_in_user_gets_the_unread_count_on_connect(bob):
    await sync_to_async(Notification.objects.create)(
        user=bob, kind="announcement", text="Hello"
    )
    socket, connected = await open_me(bob)

    assert connected
    assert await socket.receive_json_from(timeout=2) == {"type": "unread", "count": 1}
    await socket.disconnect()


async def test_an_anonymous_socket_or_a_foreign_origin_is_refused(bob):
    _, anonymous = await open_me(None)
    _, foreign = await open_me(bob, origin=b"http://evil.example")

    assert anonymous is False
    assert foreign is False


async def test_an_invitation_reaches_the_invitees_socket_live(alice, bob, charlie):
    project = await sync_to_async(make_team)(alice, description="Robot")
    bobs, _ = await open_me(bob)
    charlies, _ = await open_me(charlie)
    assert (await bobs.receive_json_from(timeout=2))["count"] == 0
    await charlies.receive_json_from(timeout=2)

    invitation = await sync_to_async(services.invitation_send)(
        user=alice, project=project, invitee_number=bob.username
    )

    frame = await bobs.receive_json_from(timeout=2)
    assert frame["type"] == "notification"
    assert frame["unread"] == 1
    assert frame["notification"]["kind"] == "invitation_received"
    assert frame["notification"]["link"] == f"/#invitation-{invitation.pk}"
    assert frame["notification"]["text"].startswith("Alice invited you")
    assert await charlies.receive_nothing(timeout=0.3)
    await bobs.disconnect()
    await charlies.disconnect()


async def test_marking_read_elsewhere_updates_the_count(bob):
    await sync_to_async(Notification.objects.create)(
        user=bob, kind="announcement", text="Hello"
    )
    socket, _ = await open_me(bob)
    await socket.receive_json_from(timeout=2)

    await sync_to_async(notifications_mark_read)(user=bob)

    assert await socket.receive_json_from(timeout=2) == {"type": "unread", "count": 0}
    await socket.disconnect()


async def test_signing_out_closes_the_socket_with_4401(bob):
    client = Client()
    await sync_to_async(client.force_login)(bob)
    cookie = client.cookies["sessionid"].value
    socket, connected = await open_me(bob, cookie=cookie)
    assert connected
    await socket.receive_json_from(timeout=2)

    await sync_to_async(client.post)("/accounts/logout/")

    output = await socket.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4401}


async def test_a_signed_out_session_is_refused_at_the_handshake(bob):
    cookie = await sync_to_async(session_cookie)(bob)
    store = SessionStore(cookie)
    await sync_to_async(store.load)()
    await sync_to_async(store.delete)()

    _, connected = await open_me(bob, cookie=cookie)

    assert connected is False


async def test_frames_from_the_client_get_an_error_and_the_socket_stays(bob):
    socket, _ = await open_me(bob)
    await socket.receive_json_from(timeout=2)

    await socket.send_to(text_data="hello")

    frame = await socket.receive_json_from(timeout=2)
    assert frame["type"] == "error" and frame["code"] == "bad_request"
    await socket.disconnect()


async def test_after_a_layer_outage_the_sockets_session_is_checked_again(bob):
    """The revocation check after an outage walks the user's group, where
    this socket subscribes under a key of its own besides the watch."""
    from accounts import revocation

    cookie = await sync_to_async(session_cookie)(bob)
    socket, _ = await open_me(bob, cookie=cookie)
    await socket.receive_json_from(timeout=2)

    await revocation._revalidate()  # session valid: stays open
    assert await socket.receive_nothing(timeout=0.2)
    await sync_to_async(SessionStore(cookie).delete)()
    await revocation._revalidate()

    output = await socket.receive_output(timeout=2)
    assert output == {"type": "websocket.close", "code": 4401}
