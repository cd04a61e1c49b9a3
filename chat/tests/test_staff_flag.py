"""Messages carry the author's staff flag, as presence does (issue 14,
item 9): the page badges coordinators by the flag, never by the name."""

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from accounts.tests.api_helpers import ApiClient
from chat.models import Message
from chat.selectors import message_frame
from chat.services import message_post
from chat.tests.conftest import joined, next_of_type


@pytest.fixture
def posing(make_student):
    """A student whose name (set before the rule) says coordinator."""
    return make_student(username="20000077", preferred_name="Casey (coordinator)")


@pytest.mark.django_db
def test_message_frames_flag_staff_authors_only(lobby, dana, posing, admin_user):
    frames = [
        message_frame(message_post(author=author, room=lobby, text="hi"))
        for author in (dana, posing, admin_user)
    ]

    assert [(f["author"], f["staff"]) for f in frames] == [
        ("Dana", True),
        ("Casey (coordinator)", False),
        ("admin", True),
    ]


@pytest.mark.django_db
def test_history_json_and_the_api_carry_the_flag(client, lobby, alice, dana):
    message_post(author=dana, room=lobby, text="welcome")
    message_post(author=alice, room=lobby, text="thanks")
    client.force_login(alice)

    page = client.get("/chat/lobby/history/").json()["messages"]
    api = ApiClient(alice).get("/rooms/lobby/messages").json()["messages"]

    assert [(m["text"], m["staff"]) for m in page] == [
        ("welcome", True),
        ("thanks", False),
    ]
    assert [(m["text"], m["staff"]) for m in api] == [
        ("welcome", True),
        ("thanks", False),
    ]


@pytest.mark.django_db(transaction=True)
async def test_socket_frames_carry_the_flag(alice, dana):
    watcher = await joined(alice)
    coordinator = await joined(dana)

    await coordinator.send_json_to({"type": "message", "text": "office hours at 3"})

    frame = await next_of_type(watcher, "message")
    assert (frame["author"], frame["staff"]) == ("Dana", True)
    assert await sync_to_async(Message.objects.count)() == 1
    await watcher.disconnect()
    await coordinator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_room_list_badges_staff_in_presence_not_names(
    alice, dana, make_student, lobby
):
    casey = await sync_to_async(make_student)(
        first_name="Casey", preferred_name="Casey (coordinator)"
    )
    sockets = [await joined(dana), await joined(casey)]

    def room_list():
        client = Client()
        client.force_login(alice)
        return client.get("/chat/")

    response = await sync_to_async(room_list)()
    for socket in sockets:
        await socket.disconnect()

    text = " ".join(response.text.split())
    assert text.count('data-testid="staff-badge"') == 1
    assert 'Dana <span class="badge text-bg-primary" data-testid="staff-badge">' in text
