from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from chat import services
from chat.models import Message, Mute, Room
from chat.tests.conftest import frames_sent

pytestmark = pytest.mark.django_db


@pytest.fixture
def coordinator_client(client, dana):
    client.force_login(dana)
    return client


def test_coordinator_sees_rooms_and_messages(coordinator_client, alice):
    lobby = Room.objects.get(slug="lobby")
    Message.objects.create(room=lobby, author=alice, text="hello admin")
    assert coordinator_client.get("/admin/chat/room/").status_code == 200
    response = coordinator_client.get("/admin/chat/message/")
    assert response.status_code == 200
    assert "hello admin" in response.content.decode()


def test_deleting_a_message_in_the_admin_goes_through_the_service(
    coordinator_client, alice, published, django_capture_on_commit_callbacks
):
    lobby = Room.objects.get(slug="lobby")
    message = Message.objects.create(room=lobby, author=alice, text="bad")
    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_client.post(
            f"/admin/chat/message/{message.pk}/delete/", {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Message.objects.filter(pk=message.pk).exists()
    assert frames_sent(published) == [{"type": "deleted", "id": message.pk}]


def test_bulk_deleting_messages_announces_each(
    coordinator_client, alice, published, django_capture_on_commit_callbacks
):
    lobby = Room.objects.get(slug="lobby")
    ids = [Message.objects.create(room=lobby, author=alice, text="x").pk for _ in "ab"]
    with django_capture_on_commit_callbacks(execute=True):
        coordinator_client.post(
            "/admin/chat/message/",
            {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
        )
    assert not Message.objects.exists()
    assert sorted(frame["id"] for frame in frames_sent(published)) == ids


def test_muting_in_the_admin_with_an_end(coordinator_client, alice, dana):
    until = timezone.localtime() + timedelta(days=1)
    response = coordinator_client.post(
        "/admin/chat/mute/add/",
        {
            "user": alice.pk,
            "until_0": until.strftime("%d/%m/%Y"),
            "until_1": until.strftime("%H:%M:%S"),
            "reason": "spam",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    mute = Mute.objects.get(user=alice)
    assert mute.created_by == dana
    assert mute.reason == "spam"
    assert abs(mute.until - until) < timedelta(seconds=1)


def test_muting_in_the_admin_until_lifted(coordinator_client, alice):
    response = coordinator_client.post(
        "/admin/chat/mute/add/",
        {"user": alice.pk, "until_0": "", "until_1": "", "reason": ""},
    )
    assert response.status_code == 302
    assert Mute.objects.get(user=alice).until is None


def test_admin_refuses_a_mute_ending_in_the_past(coordinator_client, alice):
    past = timezone.localtime() - timedelta(hours=1)
    response = coordinator_client.post(
        "/admin/chat/mute/add/",
        {
            "user": alice.pk,
            "until_0": past.strftime("%d/%m/%Y"),
            "until_1": past.strftime("%H:%M:%S"),
        },
    )
    assert response.status_code == 200
    assert "must be in the future" in response.content.decode()
    assert not Mute.objects.exists()


def test_lifting_a_mute_in_the_admin(coordinator_client, alice, dana):
    services.mute_set(actor=dana, user=alice)
    mute = Mute.objects.get(user=alice)
    response = coordinator_client.post(
        f"/admin/chat/mute/{mute.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not Mute.objects.exists()


def test_students_never_reach_the_chat_admin(client, alice):
    client.force_login(alice)
    response = client.get("/admin/chat/message/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_muting_a_student_who_is_muted_already_says_so(coordinator_client, alice, dana):
    services.mute_set(actor=dana, user=alice, reason="first")
    response = coordinator_client.post(
        "/admin/chat/mute/add/",
        {"user": alice.pk, "until_0": "", "until_1": "", "reason": "second"},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert (
        f"{alice.username} is muted already: change or lift that mute instead."
    ) in body
    assert "Mute with this User already exists" not in body
    assert Mute.objects.get(user=alice).reason == "first"


def test_lifting_mutes_from_a_stale_list_says_how_many(
    coordinator_client, alice, bob, dana
):
    services.mute_set(actor=dana, user=alice)
    services.mute_set(actor=dana, user=bob)
    ids = list(Mute.objects.values_list("pk", flat=True))
    data = {"action": "lift_mutes", "_selected_action": ids}

    first = coordinator_client.post("/admin/chat/mute/", data, follow=True)
    again = coordinator_client.post("/admin/chat/mute/", data, follow=True)

    assert [str(m) for m in first.context["messages"]] == ["2 mute(s) lifted."]
    assert [str(m) for m in again.context["messages"]] == [
        "No mute lifted: the selected ones were lifted already."
    ]
    assert not Mute.objects.exists()


def test_closing_rooms_that_are_closed_already_says_so(
    coordinator_client, dana, django_capture_on_commit_callbacks
):
    study, _ = services.room_open(name="Study")
    quiet, _ = services.room_open(name="Quiet")
    services.room_update(actor=dana, room=quiet, name="Quiet", closed=True)
    data = {"action": "close_rooms", "_selected_action": [study.pk, quiet.pk]}

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator_client.post("/admin/chat/room/", data, follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "1 room(s) closed; the people in them were disconnected. "
        "1 room(s) were closed already."
    ]


def test_messages_and_mutes_are_found_by_the_name_shown_in_chat(
    coordinator_client, make_student, dana
):
    robert = make_student(username="20000077", first_name="Robert", last_name="Quill")
    robert.preferred_name = "Bob"
    robert.save()
    lobby = Room.objects.get(slug="lobby")
    message = Message.objects.create(room=lobby, author=robert, text="rude")
    services.mute_set(actor=dana, user=robert)

    for query in ("Bob", "Quill"):
        found = coordinator_client.get("/admin/chat/message/", {"q": query})
        assert list(found.context["cl"].result_list) == [message], query
        muted = coordinator_client.get("/admin/chat/mute/", {"q": query})
        assert [m.user for m in muted.context["cl"].result_list] == [robert], query


@pytest.mark.parametrize("name", ["Study\x07", "\u202eydutS", "Stu\tdy", "Stu\x00dy"])
def test_renaming_a_room_to_a_name_with_a_control_character_is_refused(
    coordinator_client, name
):
    study, _ = services.room_open(name="Study")

    response = coordinator_client.post(
        f"/admin/chat/room/{study.pk}/change/", {"name": name, "closed": ""}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["name"]
    study.refresh_from_db()
    assert study.name == "Study"


def test_renaming_a_room_says_why_a_control_character_is_refused(coordinator_client):
    study, _ = services.room_open(name="Study")

    response = coordinator_client.post(
        f"/admin/chat/room/{study.pk}/change/", {"name": "Study\u202e", "closed": ""}
    )

    assert response.context["adminform"].form.errors["name"] == [
        "Names can't contain line breaks, tabs or other control characters."
    ]


def test_renaming_a_room_in_the_admin_still_works(coordinator_client):
    study, _ = services.room_open(name="Study")

    response = coordinator_client.post(
        f"/admin/chat/room/{study.pk}/change/", {"name": "Study hall", "closed": ""}
    )

    assert response.status_code == 302
    study.refresh_from_db()
    assert study.name == "Study hall"


def test_room_update_refuses_a_name_with_a_control_character(dana):
    study, _ = services.room_open(name="Study")

    with pytest.raises(ValidationError) as refused:
        services.room_update(actor=dana, room=study, name="Stu\x07dy", closed=False)

    assert "name" in refused.value.message_dict
    study.refresh_from_db()
    assert study.name == "Study"
