"""GET /api/v1/rooms/{slug}/messages: a room's history, as the socket allows."""

from accounts.tests.api_helpers import ApiClient, assert_error
from chat.models import Message, Room
from chat.services import message_post, room_open
from projects.tests.factories import make_team


def post_many(room, author, count):
    Message.objects.bulk_create(
        Message(room=room, author=author, text=f"m{n}") for n in range(count)
    )
    return list(Message.objects.filter(room=room).order_by("id"))


def test_history_gives_the_latest_messages_oldest_first(alice, bob):
    room, _ = room_open(name="Lobby")
    first = message_post(author=alice, room=room, text="  hello  ")
    second = message_post(author=bob, room=room, text="hi")

    response = ApiClient(alice).get(f"/rooms/{room.slug}/messages")

    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [m["id"] for m in messages] == [first.pk, second.pk]
    assert messages[0] == {
        "type": "message",
        "id": first.pk,
        "author": "Alice",
        "author_id": alice.pk,
        "staff": False,
        "text": "hello",
        "sent_at": messages[0]["sent_at"],
    }
    assert messages[0]["sent_at"].endswith("+08:00")


def test_history_pages_back_with_before(alice):
    room, _ = room_open(name="Lobby")
    messages = post_many(room, alice, 60)
    api = ApiClient(alice)

    latest = api.get(f"/rooms/{room.slug}/messages").json()["messages"]
    older = api.get(f"/rooms/{room.slug}/messages?before={latest[0]['id']}").json()[
        "messages"
    ]

    assert [m["id"] for m in latest] == [m.pk for m in messages[10:]]
    assert [m["id"] for m in older] == [m.pk for m in messages[:10]]


def test_team_room_answers_its_members(alice, bob):
    project = make_team(alice, bob)
    room = Room.objects.get(project=project)
    message_post(author=alice, room=room, text="team only")

    response = ApiClient(bob).get(f"/rooms/{room.slug}/messages")

    assert [m["text"] for m in response.json()["messages"]] == ["team only"]


def test_outsider_gets_404_for_a_team_room(alice, charlie):
    project = make_team(alice)
    room = Room.objects.get(project=project)
    message_post(author=alice, room=room, text="secret")

    response = ApiClient(charlie).get(f"/rooms/{room.slug}/messages")

    body = assert_error(response, 404, "not_found")
    assert "secret" not in str(body)


def test_coordinator_reads_a_team_room(alice, dana):
    room = Room.objects.get(project=make_team(alice))
    message_post(author=alice, room=room, text="hello")

    response = ApiClient(dana).get(f"/rooms/{room.slug}/messages")

    assert response.status_code == 200


def test_unknown_room_gets_404(alice):
    assert_error(ApiClient(alice).get("/rooms/nowhere/messages"), 404)
    assert_error(ApiClient(alice).get("/rooms/team-99999/messages"), 404)
    assert not Room.objects.filter(slug="nowhere").exists()


def test_bad_before_gets_400(alice):
    room, _ = room_open(name="Lobby")

    response = ApiClient(alice).get(f"/rooms/{room.slug}/messages?before=abc")

    assert "before" in assert_error(response, 400, "invalid")["errors"]


def test_anonymous_history_gets_401(client):
    room, _ = room_open(name="Lobby")

    assert_error(client.get(f"/api/v1/rooms/{room.slug}/messages"), 401)
