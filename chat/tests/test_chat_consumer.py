"""The chat socket, through the real stack (origin check, session, routing)."""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.test import override_settings
from django.utils import timezone

from chat import hub
from chat.models import Message, Room
from chat.services import message_delete, mute_lift, mute_set
from chat.tests.conftest import (
    drain,
    expect_close,
    joined,
    next_of_type,
    open_socket,
    settle,
    status_and_presence,
)

pytestmark = pytest.mark.django_db(transaction=True)


def count_messages(**filters) -> int:
    return Message.objects.filter(**filters).count()


# Refusals at the handshake ------------------------------------------------


async def test_anonymous_socket_is_refused():
    communicator, connected = await open_socket(None)
    assert connected is False
    await communicator.disconnect()


@pytest.mark.parametrize(
    "origin",
    [b"http://evil.example", None, b"null"],
    ids=["foreign", "missing", "null"],
)
async def test_socket_without_same_origin_is_refused(alice, origin):
    communicator, connected = await open_socket(alice, origin=origin)
    assert connected is False
    await communicator.disconnect()


async def test_unknown_socket_path_is_refused(alice):
    communicator, connected = await open_socket(alice, path="/ws/nowhere/")
    assert connected is False
    await communicator.disconnect()


async def test_unknown_public_room_is_refused(alice):
    communicator, connected = await open_socket(alice, "no-such-room")
    assert connected is False
    await communicator.disconnect()


async def test_outsider_is_refused_from_team_room(team, charlie):
    communicator, connected = await open_socket(charlie, f"team-{team.pk}")
    assert connected is False
    await communicator.disconnect()


async def test_deactivated_user_is_refused(alice):
    alice.is_active = False
    await sync_to_async(alice.save)()
    communicator, connected = await open_socket(alice)
    assert connected is False
    await communicator.disconnect()


async def test_member_and_coordinator_enter_team_room(team, alice, dana):
    member = await joined(alice, f"team-{team.pk}")
    coordinator = await joined(dana, f"team-{team.pk}")
    await member.disconnect()
    await coordinator.disconnect()


# On connect -------------------------------------------------------------


async def test_joiner_gets_last_50_messages_oldest_first_then_presence(alice):
    room = await sync_to_async(Room.objects.get)(slug="lobby")
    await sync_to_async(Message.objects.bulk_create)(
        [Message(room=room, author=alice, text=f"m{n}") for n in range(60)]
    )
    communicator, connected = await open_socket(alice)
    assert connected
    history = await communicator.receive_json_from()
    assert history["type"] == "history"
    assert [m["text"] for m in history["messages"]] == [f"m{n}" for n in range(10, 60)]
    first = history["messages"][0]
    assert set(first) == {
        "type",
        "id",
        "author",
        "author_id",
        "staff",
        "text",
        "sent_at",
    }
    assert first["author"] == "Alice"
    assert first["sent_at"].endswith("+08:00")  # Australia/Perth, to the second
    assert "." not in first["sent_at"]
    presence = await communicator.receive_json_from()
    assert presence == {
        "type": "presence",
        "users": [{"id": alice.pk, "name": "Alice", "staff": False}],
    }
    await communicator.disconnect()


async def test_others_get_status_and_presence_on_first_socket_only(alice, bob):
    bob_socket = await joined(bob)
    alice_tab1 = await joined(alice)
    status, presence = await status_and_presence(bob_socket)
    assert status == {"type": "status", "text": "Alice has entered the room."}
    assert [u["name"] for u in presence["users"]] == ["Alice", "Bob"]

    alice_tab2 = await joined(alice)  # a second tab: nobody is told
    assert await drain(bob_socket, 0.2) == []

    await alice_tab1.disconnect()  # one tab left: still present
    assert await drain(bob_socket, 0.2) == []

    await alice_tab2.disconnect()
    status, presence = await status_and_presence(bob_socket)
    assert status == {"type": "status", "text": "Alice has left the room."}
    assert presence["users"] == [{"id": bob.pk, "name": "Bob", "staff": False}]
    await bob_socket.disconnect()


async def test_presence_is_coalesced_and_sorted_by_name(
    make_student, dana, monkeypatch
):
    monkeypatch.setattr(hub, "PRESENCE_INTERVAL", 0.5)
    watcher = await joined(dana)
    students = await sync_to_async(
        lambda: [make_student(first_name=name) for name in "EDCBA"]
    )()
    sockets = await asyncio.gather(*(joined(student) for student in students))
    frames = await drain(watcher, 0.7)
    presences = [f for f in frames if f["type"] == "presence"]
    assert [f["type"] for f in frames].count("status") == 5
    assert 1 <= len(presences) <= 2  # five joins, not five lists
    assert [u["name"] for u in presences[-1]["users"]] == [*"ABCD", "Dana", "E"]
    assert presences[-1]["users"][4]["staff"] is True
    for socket in [*sockets, watcher]:
        await socket.disconnect()


# Messages ---------------------------------------------------------------


async def test_message_is_stored_trimmed_then_broadcast_to_everyone(alice, bob):
    alice_socket = await joined(alice)
    bob_socket = await joined(bob)
    await alice_socket.send_json_to({"type": "message", "text": "  hello  "})
    for socket in (alice_socket, bob_socket):
        frame = await next_of_type(socket, "message")
        assert frame["text"] == "hello"
        assert frame["author_id"] == alice.pk
    stored = await sync_to_async(Message.objects.get)(pk=frame["id"])
    assert stored.text == "hello"
    await alice_socket.disconnect()
    await bob_socket.disconnect()


async def test_message_of_1000_characters_is_accepted(alice):
    socket = await joined(alice)
    await socket.send_json_to({"type": "message", "text": "é" * 1000})
    assert (await next_of_type(socket, "message"))["text"] == "é" * 1000
    await socket.disconnect()


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("   ", "empty"),
        ("x" * 1001, "too_long"),
        ("nul\x00byte", "bad_request"),
    ],
)
async def test_refused_message_gets_error_and_is_not_stored(alice, bob, text, code):
    alice_socket = await joined(alice)
    bob_socket = await joined(bob)
    await drain(alice_socket)
    await alice_socket.send_json_to({"type": "message", "text": text})
    frame = await next_of_type(alice_socket, "error")
    assert frame["code"] == code
    assert frame["detail"]
    assert await sync_to_async(count_messages)() == 0
    assert [f for f in await drain(bob_socket) if f["type"] == "message"] == []
    await alice_socket.send_json_to({"type": "message", "text": "still open"})
    assert (await next_of_type(alice_socket, "message"))["text"] == "still open"
    await alice_socket.disconnect()
    await bob_socket.disconnect()


BAD_FRAMES = {
    "non_json": "hello",
    "array": "[1, 2]",
    "string": '"message"',
    "missing_type": '{"text": "hi"}',
    "unknown_type": '{"type": "shout", "text": "hi"}',
    "missing_text": '{"type": "message"}',
    "wrong_type_text": '{"type": "message", "text": 5}',
    "deep_nesting": '{"type": "message", "text": "hi", "x": [[[[[1]]]]]}',
    "very_deep": "[" * 5000 + "]" * 5000,
}


@pytest.mark.parametrize("frame", BAD_FRAMES.values(), ids=BAD_FRAMES.keys())
async def test_malformed_frame_gets_bad_request_and_socket_stays_open(alice, frame):
    socket = await joined(alice)
    await socket.send_to(text_data=frame)
    error = await next_of_type(socket, "error")
    assert error["code"] == "bad_request"
    await socket.send_json_to({"type": "message", "text": "after"})
    assert (await next_of_type(socket, "message"))["text"] == "after"
    assert await sync_to_async(count_messages)() == 1
    await socket.disconnect()


async def test_binary_frame_gets_bad_request(alice):
    socket = await joined(alice)
    await socket.send_to(bytes_data=b'{"type": "message", "text": "hi"}')
    assert (await next_of_type(socket, "error"))["code"] == "bad_request"
    assert await sync_to_async(count_messages)() == 0
    await socket.disconnect()


async def test_frame_over_16_kib_gets_too_long_without_parsing(alice):
    socket = await joined(alice)
    # Not JSON at all: a parser would say bad_request.
    await socket.send_to(text_data="{" + "x" * 16 * 1024)
    assert (await next_of_type(socket, "error"))["code"] == "too_long"
    # 16 KiB counted in bytes: 6,000 three-byte characters are over.
    await socket.send_to(text_data="€" * 6000)
    assert (await next_of_type(socket, "error"))["code"] == "too_long"
    await socket.disconnect()


@override_settings(PAIRUP_CHAT_RATE=(3, 10))
async def test_rate_limit_counts_across_rooms_and_tabs(alice):
    await sync_to_async(Room.objects.create)(slug="other", name="Other")
    lobby = await joined(alice)
    other = await joined(alice, "other")
    for socket in (lobby, other, lobby):
        await socket.send_json_to({"type": "message", "text": "hi"})
        await next_of_type(socket, "message")
    await other.send_json_to({"type": "message", "text": "one too many"})
    error = await next_of_type(other, "error")
    assert error["code"] == "rate_limited"
    assert 1 <= error["retry_after"] <= 10
    assert await sync_to_async(count_messages)() == 3
    await lobby.disconnect()
    await other.disconnect()


@override_settings(PAIRUP_CHAT_RATE=None)
async def test_rate_limit_off_lets_a_burst_through(alice):
    socket = await joined(alice)
    for n in range(30):
        await socket.send_json_to({"type": "message", "text": f"m{n}"})
    for _ in range(30):
        await next_of_type(socket, "message")
    assert await sync_to_async(count_messages)() == 30
    await socket.disconnect()


# The client's reference ("ref") -----------------------------------------


@override_settings(PAIRUP_CHAT_RATE=(1, 10))
async def test_ref_is_echoed_in_the_error_to_its_socket_only(alice):
    stored_tab = await joined(alice)
    refused_tab = await joined(alice)
    await drain(stored_tab)
    await drain(refused_tab)
    await stored_tab.send_json_to({"type": "message", "ref": "a-1", "text": "same"})
    message = await next_of_type(refused_tab, "message")
    frames = await drain(stored_tab, 0.3)
    assert {"type": "sent", "ref": "a-1", "id": message["id"]} in frames
    assert message in frames
    await refused_tab.send_json_to({"type": "message", "ref": "b_1", "text": "same"})
    error = await next_of_type(refused_tab, "error")
    assert (error["code"], error["ref"]) == ("rate_limited", "b_1")
    assert [f for f in await drain(stored_tab) if f["type"] in ("error", "sent")] == []
    assert await sync_to_async(count_messages)() == 1
    await stored_tab.disconnect()
    await refused_tab.disconnect()


async def test_sender_recognises_its_stored_message_by_ref(alice, bob):
    alice_socket = await joined(alice)
    alice_tab = await joined(alice)
    bob_socket = await joined(bob)
    for socket in (alice_socket, alice_tab, bob_socket):
        await drain(socket)
    ref = "Zz_-09" + "x" * 26  # 32 characters, every kind allowed
    await alice_socket.send_json_to({"type": "message", "ref": ref, "text": " hi "})
    frames = [
        f for f in await drain(alice_socket, 0.3) if f["type"] in ("message", "sent")
    ]
    message = next(f for f in frames if f["type"] == "message")
    assert "ref" not in message  # the room's broadcast is the same for everyone
    assert {"type": "sent", "ref": ref, "id": message["id"]} in frames
    assert len(frames) == 2
    for socket in (alice_tab, bob_socket):
        others = [f for f in await drain(socket) if f["type"] in ("message", "sent")]
        assert others == [message]  # no `sent` for the other tab, nor for Bob
    await alice_socket.disconnect()
    await alice_tab.disconnect()
    await bob_socket.disconnect()


async def test_refused_text_echoes_the_ref(alice):
    socket = await joined(alice)
    await socket.send_json_to({"type": "message", "ref": "7", "text": "   "})
    error = await next_of_type(socket, "error")
    assert (error["code"], error["ref"]) == ("empty", "7")
    await socket.send_to(text_data='{"type": "message", "ref": "8", "text": 5}')
    error = await next_of_type(socket, "error")
    assert (error["code"], error["ref"]) == ("bad_request", "8")
    assert await sync_to_async(count_messages)() == 0
    await socket.disconnect()


BAD_REFS = {
    "empty": "",
    "too_long": "x" * 33,
    "space": "a b",
    "other_character": "a.b",
    "non_ascii": "é",
    "number": 5,
    "null": None,
    "list": ["a"],
}


@pytest.mark.parametrize("ref", BAD_REFS.values(), ids=BAD_REFS.keys())
async def test_bad_ref_gets_bad_request_and_nothing_is_stored(alice, ref):
    socket = await joined(alice)
    await socket.send_json_to({"type": "message", "ref": ref, "text": "hi"})
    error = await next_of_type(socket, "error")
    assert error["code"] == "bad_request"
    assert "ref" not in error
    assert await sync_to_async(count_messages)() == 0
    await socket.send_json_to({"type": "message", "text": "after"})
    assert (await next_of_type(socket, "message"))["text"] == "after"
    await socket.disconnect()


async def test_message_without_ref_gets_no_sent_frame(alice):
    socket = await joined(alice)
    await drain(socket)
    await socket.send_json_to({"type": "message", "text": "old page"})
    assert [f["type"] for f in await drain(socket, 0.3)] == ["message"]
    await socket.send_json_to({"type": "message", "text": "   "})
    error = await next_of_type(socket, "error")
    assert sorted(error) == ["code", "detail", "type"]  # no "ref"
    assert error["code"] == "empty"
    await socket.disconnect()


# Moderation -------------------------------------------------------------


async def test_mute_applies_to_open_socket_at_once_with_its_end(alice, dana):
    socket = await joined(alice)
    until = timezone.now() + timedelta(hours=2)
    await sync_to_async(mute_set)(actor=dana, user=alice, until=until)
    await socket.send_json_to({"type": "message", "text": "hi"})
    error = await next_of_type(socket, "error")
    assert error["code"] == "muted"
    local = timezone.localtime(until)
    assert f"until {local:%d %b %Y, %H:%M}" in error["detail"]
    assert await sync_to_async(count_messages)() == 0

    await sync_to_async(mute_lift)(actor=dana, user=alice)
    await socket.send_json_to({"type": "message", "text": "back"})
    assert (await next_of_type(socket, "message"))["text"] == "back"
    await socket.disconnect()


async def test_mute_without_end_says_until_lifted(alice, dana):
    socket = await joined(alice)
    await sync_to_async(mute_set)(actor=dana, user=alice)
    await socket.send_json_to({"type": "message", "text": "hi"})
    error = await next_of_type(socket, "error")
    assert error == {
        "type": "error",
        "code": "muted",
        "detail": "You are muted until a coordinator lifts it.",
    }
    await socket.disconnect()


async def test_deleted_message_is_announced_to_the_room(alice, bob, dana):
    alice_socket = await joined(alice)
    bob_socket = await joined(bob)
    await alice_socket.send_json_to({"type": "message", "text": "oops"})
    message_id = (await next_of_type(bob_socket, "message"))["id"]
    await next_of_type(alice_socket, "message")
    message = await sync_to_async(Message.objects.get)(pk=message_id)
    await sync_to_async(message_delete)(actor=dana, message=message)
    for socket in (alice_socket, bob_socket):
        assert await next_of_type(socket, "deleted") == {
            "type": "deleted",
            "id": message_id,
        }
    assert await sync_to_async(count_messages)() == 0
    await alice_socket.disconnect()
    await bob_socket.disconnect()


async def test_team_room_messages_stay_in_the_team(team, alice, bob, charlie):
    team_socket = await joined(bob, f"team-{team.pk}")
    lobby_socket = await joined(charlie)
    member = await joined(alice, f"team-{team.pk}")
    await member.send_json_to({"type": "message", "text": "secret"})
    assert (await next_of_type(team_socket, "message"))["text"] == "secret"
    assert [f for f in await drain(lobby_socket) if f["type"] == "message"] == []
    for socket in (team_socket, lobby_socket, member):
        await socket.disconnect()


# Revocation -------------------------------------------------------------


def sign_out(user):
    from django.test import Client

    client = Client()
    client.force_login(user)
    return client.post("/accounts/logout/")


async def test_sign_out_closes_the_users_sockets_with_4401(alice, bob):
    await sync_to_async(Room.objects.create)(slug="other", name="Other")
    lobby = await joined(alice)
    other = await joined(alice, "other")
    bob_socket = await joined(bob)
    await sync_to_async(sign_out)(alice)
    for socket in (lobby, other):
        await expect_close(socket, 4401)
    assert await next_of_type(bob_socket, "status") == {
        "type": "status",
        "text": "Alice has left the room.",
    }
    await bob_socket.disconnect()


async def test_password_change_closes_the_users_sockets_with_4401(alice):
    socket = await joined(alice)

    def change_password():
        alice.set_password("a-new-long-passphrase")
        alice.save()

    await sync_to_async(change_password)()
    await expect_close(socket, 4401)


async def test_deactivation_closes_the_users_sockets_with_4401(alice):
    socket = await joined(alice)

    def deactivate():
        alice.is_active = False
        alice.save(update_fields=["is_active"])

    await sync_to_async(deactivate)()
    await expect_close(socket, 4401)


async def test_other_user_saves_do_not_close_sockets(alice):
    socket = await joined(alice)

    def rename():
        alice.preferred_name = "Ali"
        alice.save()
        alice.last_login = timezone.now()
        alice.save(update_fields=["last_login"])

    await sync_to_async(rename)()
    # Open still: the rename only lists her by her new name.
    assert await drain(socket, 0.3) == [
        {"type": "presence", "users": [{"id": alice.pk, "name": "Ali", "staff": False}]}
    ]
    await socket.disconnect()


async def test_dissolving_the_team_closes_its_room_with_4404(team, alice, bob):
    from projects.services import project_dissolve

    socket = await joined(bob, f"team-{team.pk}")
    await sync_to_async(project_dissolve)(user=alice, project=team)
    await expect_close(socket, 4404)
    assert not await sync_to_async(Room.objects.filter(slug=f"team-{team.pk}").exists)()
    await settle()


async def test_a_member_taken_out_of_the_team_loses_the_team_room(
    team, alice, bob, dana
):
    from projects.models import Membership
    from projects.services import membership_remove

    alice_socket = await joined(alice, f"team-{team.pk}")
    bob_socket = await joined(bob, f"team-{team.pk}")
    assert (await next_of_type(alice_socket, "status"))["text"].startswith("Bob")
    membership = await sync_to_async(Membership.objects.get)(user=bob)
    await sync_to_async(membership_remove)(actor=dana, membership=membership)
    await expect_close(bob_socket, 4404)
    assert await next_of_type(alice_socket, "status") == {
        "type": "status",
        "text": "Bob has left the room.",
    }
    await alice_socket.disconnect()


@pytest.mark.parametrize("demotion", ["unstaffed", "out_of_the_group"])
async def test_a_coordinator_who_is_no_longer_one_loses_the_team_rooms(
    team, dana, demotion
):
    from django.contrib.auth.models import Group

    from accounts.models import COORDINATORS_GROUP

    team_socket = await joined(dana, f"team-{team.pk}")
    lobby_socket = await joined(dana)

    def demote():
        if demotion == "unstaffed":
            dana.is_staff = False
            dana.save()
        else:
            dana.groups.remove(Group.objects.get(name=COORDINATORS_GROUP))

    await sync_to_async(demote)()
    # The team's room is no longer Dana's to read; the lobby still is.
    await expect_close(team_socket, 4404)
    assert all(frame["type"] != "close" for frame in await drain(lobby_socket, 0.3))
    await lobby_socket.send_json_to({"type": "message", "text": "still here"})
    assert (await next_of_type(lobby_socket, "message"))["text"] == "still here"
    await lobby_socket.disconnect()


async def test_sign_out_closes_the_lab_board_socket_too(alice):
    labs, connected = await open_socket(alice, path="/ws/labs/")
    assert connected
    await sync_to_async(sign_out)(alice)
    while True:
        output = await labs.receive_output(timeout=1)
        if output["type"] == "websocket.close":
            break
    assert output["code"] == 4401
    await labs.disconnect()
