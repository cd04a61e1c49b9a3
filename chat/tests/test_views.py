import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from django.urls import reverse

from chat.models import Message, Room
from chat.services import room_create_for_project
from chat.tests.conftest import joined

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(alice, bob):
    from projects.tests.factories import make_team

    return make_team(alice, bob)


def post_message(room, author, text):
    return Message.objects.create(room=room, author=author, text=text)


# /chat/ -----------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_room_list_shows_public_rooms_who_is_in_them_and_my_team_room(
    alice, team, make_student, django_assert_num_queries
):
    zed = await sync_to_async(make_student)(first_name="Zed")
    socket = await joined(zed)

    def room_list():
        client = Client()
        client.force_login(alice)
        # session, user, public rooms, project + members prefetch, team room, the bell's unread count
        with django_assert_num_queries(7):
            return client.get(reverse("chat:room_list"))

    response = await sync_to_async(room_list)()
    assert response.status_code == 200
    body = response.content.decode()
    assert "Lobby" in body
    assert "Zed" in body
    assert f'href="/chat/team-{team.pk}/"' in body
    await socket.disconnect()


def test_room_list_without_a_team_has_no_team_link(client, charlie):
    client.force_login(charlie)
    response = client.get(reverse("chat:room_list"))
    assert response.status_code == 200
    assert "team-room-link" not in response.content.decode()


def test_room_list_never_lists_team_rooms(client, charlie, team):
    client.force_login(charlie)
    response = client.get(reverse("chat:room_list"))
    assert f"team-{team.pk}" not in response.content.decode()


def test_coordinators_see_every_team_room_by_team_name(
    client, dana, team, charlie, django_assert_num_queries
):
    from projects.tests.factories import make_team

    other = make_team(charlie)
    client.force_login(dana)
    # session, user, groups, public rooms, team rooms, their members, the bell's unread count
    with django_assert_num_queries(8):
        response = client.get(reverse("chat:room_list"))
    body = response.content.decode()
    assert f'href="/chat/team-{team.pk}/"' in body
    assert f'href="/chat/team-{other.pk}/"' in body
    assert f"Team {team.pk}: Alice, Bob" in body


def test_opening_a_room_creates_it_and_redirects(client, alice):
    client.force_login(alice)
    assert not Room.objects.filter(slug="study-group").exists()
    response = client.post(reverse("chat:room_list"), {"name": " Study Group "})
    room = Room.objects.get(slug="study-group")
    assert room.name == "Study Group"
    assert room.project is None
    assert response.status_code == 302
    assert response["Location"] == "/chat/study-group/"


def test_opening_an_existing_room_joins_it(client, alice):
    client.force_login(alice)
    response = client.post(reverse("chat:room_list"), {"name": "LOBBY"})
    assert response["Location"] == "/chat/lobby/"
    assert Room.objects.filter(slug="lobby").count() == 1


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("Team rocket", "kept for team rooms"),
        ("team-1", "kept for team rooms"),
        ("x" * 41, "40 characters"),
        ("!!!", "at least one Latin letter or digit"),
        ("   ", "required"),
        ("Study\x07", "control characters"),
        ("\u202eStudy", "control characters"),
    ],
)
def test_bad_room_name_shows_the_reason_and_keeps_the_text(client, alice, name, reason):
    client.force_login(alice)
    before = Room.objects.count()
    response = client.post(reverse("chat:room_list"), {"name": name})
    assert response.status_code == 200
    assert reason in response.content.decode()
    assert Room.objects.count() == before
    if name.strip():
        assert response.context["form"]["name"].value() == name


def test_room_list_prefills_the_name_to_open(client, alice):
    client.force_login(alice)
    response = client.get(reverse("chat:room_list") + "?name=new-room")
    assert response.context["form"]["name"].value() == "new-room"


def test_room_list_anonymous_redirects_to_sign_in(client):
    response = client.get(reverse("chat:room_list"))
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/chat/"


def test_room_list_wrong_method_is_405(client, alice):
    client.force_login(alice)
    assert client.put(reverse("chat:room_list")).status_code == 405


# /chat/<slug>/ ----------------------------------------------------------


def test_room_page_passes_socket_and_history_urls_as_json(
    client, alice, django_assert_num_queries
):
    client.force_login(alice)
    with django_assert_num_queries(4):  # session, user, room, the bell's unread count
        response = client.get("/chat/lobby/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<script id="chat-page" type="application/json">' in body
    assert '"socket_path": "/ws/chat/lobby/"' in body
    assert '"history_url": "/chat/lobby/history/"' in body
    assert "chat/room.js" in body
    assert "<script>" not in body  # CSP: no inline script


def test_team_room_page_for_member_and_coordinator(
    client, alice, dana, team, django_assert_num_queries
):
    client.force_login(alice)
    # session, user, project, members, room, the bell's unread count
    with django_assert_num_queries(6):
        assert client.get(f"/chat/team-{team.pk}/").status_code == 200
    client.force_login(dana)
    assert client.get(f"/chat/team-{team.pk}/").status_code == 200


def test_team_room_page_for_outsider_is_404_without_open_link(client, charlie, team):
    client.force_login(charlie)
    response = client.get(f"/chat/team-{team.pk}/")
    assert response.status_code == 404
    assert "open-room-link" not in response.content.decode()


def test_missing_team_room_is_the_same_404(client, charlie):
    client.force_login(charlie)
    response = client.get("/chat/team-999999/")
    assert response.status_code == 404


def test_unknown_public_room_is_404_with_a_link_to_open_it(client, alice):
    client.force_login(alice)
    response = client.get("/chat/maths-help/")
    assert response.status_code == 404
    assert 'href="/chat/?name=maths-help"' in response.content.decode()


def test_room_page_anonymous_redirects_to_sign_in(client):
    response = client.get("/chat/lobby/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/chat/lobby/"


def test_room_page_wrong_method_is_405(client, alice):
    client.force_login(alice)
    assert client.post("/chat/lobby/").status_code == 405


def test_team_room_is_made_on_access_when_missing(client, alice, team):
    Room.objects.filter(project=team).delete()
    client.force_login(alice)
    assert client.get(f"/chat/team-{team.pk}/").status_code == 200
    assert Room.objects.get(project=team).slug == f"team-{team.pk}"


# /chat/<slug>/history/ --------------------------------------------------


def test_history_returns_50_before_id_oldest_first(
    client, alice, django_assert_num_queries
):
    lobby = Room.objects.get(slug="lobby")
    ids = [post_message(lobby, alice, f"m{n}").pk for n in range(120)]
    client.force_login(alice)
    with django_assert_num_queries(4):  # session, user, room, messages + authors
        response = client.get(f"/chat/lobby/history/?before={ids[100]}")
    assert response.status_code == 200
    messages = response.json()["messages"]
    assert [m["id"] for m in messages] == ids[50:100]
    assert messages[0]["author"] == "Alice"


def test_history_without_before_returns_the_latest(client, alice):
    lobby = Room.objects.get(slug="lobby")
    ids = [post_message(lobby, alice, f"m{n}").pk for n in range(60)]
    client.force_login(alice)
    messages = client.get("/chat/lobby/history/").json()["messages"]
    assert [m["id"] for m in messages] == ids[10:]


@pytest.mark.parametrize("before", ["abc", "-1", "1.5", "9" * 30])
def test_history_with_a_bad_before_is_400(client, alice, before):
    client.force_login(alice)
    assert client.get(f"/chat/lobby/history/?before={before}").status_code == 400


def test_history_of_team_room_for_outsider_is_404(client, alice, charlie, team):
    room = room_create_for_project(project=team)
    post_message(room, alice, "secret")
    client.force_login(charlie)
    response = client.get(f"/chat/team-{team.pk}/history/")
    assert response.status_code == 404
    assert b"secret" not in response.content


def test_history_anonymous_redirects_to_sign_in(client):
    response = client.get("/chat/lobby/history/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_history_wrong_method_is_405(client, alice):
    client.force_login(alice)
    assert client.post("/chat/lobby/history/").status_code == 405


def test_a_room_address_typed_in_capitals_leads_to_the_room(
    client, alice, charlie, team
):
    client.force_login(alice)
    response = client.get("/chat/Lobby/")
    assert response.status_code == 302
    assert response["Location"] == "/chat/lobby/"
    response = client.get(f"/chat/Team-{team.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/chat/team-{team.pk}/"
    # Never a hint that someone else's team room exists.
    client.force_login(charlie)
    assert client.get(f"/chat/Team-{team.pk}/").status_code == 404
