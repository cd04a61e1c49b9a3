import json
import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from projects import board_cache, services
from projects.models import BookingRecord, Lab
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)
from projects.tests.helpers import messages_of, set_window

BOARD = reverse("projects:lab_board")
pytestmark = pytest.mark.django_db


def book_url(lab):
    return reverse("projects:lab_book", args=[lab.pk])


FRAMES = reverse("projects:lab_frames")
JSON = {"HTTP_ACCEPT": "application/json"}


def rows_by_id(response):
    """The board's slots as this user sees them (the frames of docs/protocol.md)."""
    return {row["id"]: row for row in response.context["rows"]}


def row_html(response, lab) -> str:
    return row_html_of(response.content.decode(), lab)


def row_html_of(body: str, lab) -> str:
    start = body.index(f'<tr id="lab-{lab.pk}"')
    return body[start : body.index("</tr>", start)]


def add_labs(count, *, offset=0):
    start = (timezone.now() + timedelta(days=2)).replace(second=0, microsecond=0)
    Lab.objects.bulk_create(
        Lab(
            room=f"Room {i % 4}",
            start=start + timedelta(minutes=20 * i),
            end=start + timedelta(minutes=20 * i + 15),
        )
        for i in range(offset, offset + count)
    )


# /labs/ --------------------------------------------------------------------


def test_board_lists_upcoming_slots_and_hides_past_ones(client, charlie):
    upcoming = LabFactory()
    past = lab_starting_in(-5)
    client.force_login(charlie)

    response = client.get(BOARD)

    assert response.status_code == 200
    assert set(rows_by_id(response)) == {upcoming.pk}
    assert past.pk not in rows_by_id(response)
    assert "All times are in Australia/Perth" in response.content.decode()


def test_board_marks_my_slot_and_offers_moves(client, alice, team):
    mine, other = LabFactory(), LabFactory()
    services.lab_book(user=alice, project=team, lab=mine)
    client.force_login(alice)

    response = client.get(BOARD)

    rows = rows_by_id(response)
    assert rows[mine.pk]["mine"] is True
    assert rows[other.pk]["available"] is True
    mine_row, other_row = row_html(response, mine), row_html(response, other)
    assert 'aria-current="true"' in mine_row
    assert 'data-field="book"' not in mine_row
    assert 'data-field="book"' in other_row
    assert ">Move here<" in other_row
    assert 'data-field="release"' in mine_row
    assert 'data-field="release"' not in other_row


def test_board_shows_team_names_only_to_the_team_and_coordinators(
    client, alice, charlie, dana, team
):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)

    client.force_login(charlie)
    outsider_row = rows_by_id(client.get(BOARD))[lab.pk]
    client.force_login(dana)
    coordinator_row = rows_by_id(client.get(BOARD))[lab.pk]
    client.force_login(alice)
    member_body = client.get(BOARD).content.decode()

    assert (outsider_row["state"], outsider_row["team"]) == ("taken", None)
    assert outsider_row["description"] is None
    assert coordinator_row["team"] == f"Team {team.pk}: Alice, Bob"
    assert f"Team {team.pk}: Alice, Bob" in member_body


def test_published_schedule_shows_team_names_to_everyone(
    client, alice, charlie, dana, team
):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    set_window(dana, schedule_published=True)
    client.force_login(charlie)

    response = client.get(BOARD)

    assert rows_by_id(response)[lab.pk]["team"] == f"Team {team.pk}: Alice, Bob"
    assert "A robot that sorts lab kits" in response.content.decode()


def test_free_student_sees_no_book_buttons(client, charlie):
    lab = LabFactory()
    client.force_login(charlie)

    response = client.get(BOARD)

    assert rows_by_id(response)[lab.pk]["available"] is True
    assert 'data-field="book"' not in row_html(response, lab)
    assert reverse("projects:project_new") in response.content.decode()


def test_board_filters_by_room_and_day(client, charlie):
    first = LabFactory(room="A 1")
    LabFactory(room="B 2")
    later = LabFactory(room="A 1", start=first.start + timedelta(days=1))
    client.force_login(charlie)
    day = timezone.localtime(first.start).date().isoformat()

    by_room = client.get(BOARD, {"room": "A 1"})
    by_both = client.get(BOARD, {"room": "A 1", "day": day})

    assert set(rows_by_id(by_room)) == {first.pk, later.pk}
    assert set(rows_by_id(by_both)) == {first.pk}


def test_unknown_filter_value_shows_an_error_and_every_slot(client, charlie):
    lab = LabFactory()
    client.force_login(charlie)

    response = client.get(BOARD, {"room": "Nowhere"})

    assert response.status_code == 200
    assert "room" in response.context["form"].errors
    assert set(rows_by_id(response)) == {lab.pk}


def test_board_passes_the_clock_moments_to_the_page(client, charlie, dana):
    opens = timezone.now() + timedelta(hours=1)
    closes = timezone.now() + timedelta(days=1)
    set_window(dana, opens_at=opens, closes_at=closes)
    lab = LabFactory()
    client.force_login(charlie)

    response = client.get(BOARD)

    config = response.context["config"]
    assert config["window"]["opensAt"] == timezone.localtime(opens).isoformat()
    assert config["window"]["closesAt"] == timezone.localtime(closes).isoformat()
    assert config["window"]["bookingSwitch"] is True
    assert config["cutoffMinutes"] == 60
    assert '<script id="board-config" type="application/json">' in (
        response.content.decode()
    )
    start = timezone.localtime(lab.start).isoformat()
    assert f'data-start="{start}"' in row_html(response, lab)
    assert response.context["booking_state"].startswith("Booking opens ")


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get(BOARD)

    assert response.status_code == 302
    assert response.url == f"{reverse('login')}?next={BOARD}"


def test_board_wrong_method_gets_405(client, charlie):
    client.force_login(charlie)

    assert client.post(BOARD).status_code == 405


def test_board_costs_the_same_queries_for_10_and_1000_slots(
    client, alice, team, django_assert_num_queries
):
    add_labs(10)
    for lab in Lab.objects.all()[:3]:
        make_team(StudentFactory(), StudentFactory(), lab=lab)
    services.lab_book(
        user=alice, project=team, lab=Lab.objects.filter(project__isnull=True).last()
    )
    client.force_login(alice)

    # session, user, the slots with their projects and the teams' members
    # (rooms and days come from them), window, my project with its slot (not
    # its members: the board doesn't show them), the bell's unread count
    with django_assert_num_queries(6):
        small = client.get(BOARD)
    add_labs(990, offset=10)
    board_cache.forget()  # bulk_create sends no change event
    with django_assert_num_queries(6):
        large = client.get(BOARD)
    # The process keeps the slots until a change: session, user, window,
    # my project with its slot, the bell
    with django_assert_num_queries(5):
        again = client.get(BOARD)

    assert len(small.context["rows"]) == 10
    assert len(large.context["rows"]) == 1000
    assert again.context["rows"] == large.context["rows"]


# The rows' words and controls -----------------------------------------------


@pytest.mark.parametrize(
    ("minutes", "state", "available", "status"),
    [
        (61, "free", "true", "Free"),
        (59, "free", "false", "Free (too late to book)"),
    ],
)
def test_row_follows_the_clock(client, alice, team, minutes, state, available, status):
    """A slot past the cut-off can't be booked, with no write behind it."""
    lab = lab_starting_in(minutes)
    client.force_login(alice)

    row = row_html(client.get(BOARD), lab)

    assert f'data-state="{state}" data-available="{available}"' in row
    assert f'data-field="status">{status}<' in row
    assert ('data-field="book"' in row) is (available == "true")


def test_row_before_booking_opens_is_not_bookable(client, alice, dana, team):
    set_window(dana, opens_at=timezone.now() + timedelta(minutes=5))
    lab = LabFactory()
    client.force_login(alice)

    row = row_html(client.get(BOARD), lab)

    assert 'data-field="status">Free (booking is closed)<' in row
    assert 'data-field="book"' not in row


def test_row_of_a_closed_slot(client, alice, team):
    lab = LabFactory(is_open=False)
    client.force_login(alice)

    assert 'data-field="status">Closed<' in row_html(client.get(BOARD), lab)


def board_tokens(body: str) -> set[str]:
    """The CSRF tokens in the board's rows' forms."""
    rows = body[body.index('<div id="board">') : body.index('id="lab-row-template"')]
    return set(re.findall(r'name="csrfmiddlewaretoken" value="(\w+)"', rows))


def test_rows_kept_for_alike_viewers_carry_only_what_each_viewer_may_see(
    client, alice, charlie, dana, team
):
    held, free = LabFactory(), LabFactory()
    services.lab_book(user=alice, project=team, lab=held)
    name = f"Team {team.pk}: Alice, Bob"
    erin, frank = StudentFactory(), StudentFactory()
    make_team(erin)
    make_team(frank)

    pages = {}
    for user in (dana, charlie, erin, frank, alice):  # each after the last
        client.force_login(user)
        response = client.get(BOARD)
        pages[user] = (response.content.decode(), response.context["config"])

    assert name in row_html_of(pages[dana][0], held)
    assert name not in pages[charlie][0]
    assert "csrfmiddlewaretoken" not in row_html_of(pages[charlie][0], free)
    for solo in (erin, frank):
        body, config = pages[solo]
        assert name not in body
        assert 'action="/labs/' in row_html_of(body, free)
        # Every form carries this viewer's own token, none another's.
        assert board_tokens(body) == {config["csrfToken"]}
    assert board_tokens(pages[erin][0]).isdisjoint(board_tokens(pages[frank][0]))
    assert name in row_html_of(pages[alice][0], held)
    assert "Your slot" in row_html_of(pages[alice][0], held)


def test_rows_escape_team_names_and_descriptions(client, dana, make_student):
    student = make_student(first_name="<b>Zed</b>")
    lab = LabFactory()
    make_team(student, description="<script>x</script>", lab=lab)
    client.force_login(dana)

    row = row_html(client.get(BOARD), lab)

    assert "&lt;b&gt;Zed&lt;/b&gt;" in row
    assert "&lt;script&gt;x&lt;/script&gt;" in row
    assert "<script>" not in row


def test_row_template_is_the_same_function_with_every_control(client, alice):
    client.force_login(alice)

    body = client.get(BOARD).content.decode()

    start = body.index('<template id="lab-row-template">')
    template = body[start : body.index("</template>", start)]
    assert '<tr id="lab-0" data-lab-id="0"' in template
    assert 'class="lab-row"' in template
    assert 'data-field="book"' in template
    assert 'data-field="release"' in template


# /labs/frames/ ----------------------------------------------------------------


def test_frames_give_every_shown_slot_as_this_user_sees_it(
    client, alice, charlie, team
):
    mine, other = LabFactory(room="A 1"), LabFactory(room="B 2")
    services.lab_book(user=alice, project=team, lab=mine)
    client.force_login(charlie)

    data = client.get(FRAMES).json()
    by_room = client.get(FRAMES, {"room": "A 1"}).json()

    frames = {frame["id"]: frame for frame in data["labs"]}
    assert frames[mine.pk]["state"] == "taken"
    assert frames[mine.pk]["team"] is None
    assert frames[other.pk]["available"] is True
    assert [frame["id"] for frame in by_room["labs"]] == [mine.pk]
    assert data["viewer"] == {
        "project": None,
        "lab": None,
        "label": "",
        "coordinator": False,
    }
    assert data["window"]["bookingSwitch"] is True


def test_frames_show_my_team_to_me(client, alice, team):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    client.force_login(alice)

    data = client.get(FRAMES).json()

    (frame,) = data["labs"]
    assert frame["mine"] is True
    assert frame["team"] == f"Team {team.pk}: Alice, Bob"
    assert data["viewer"]["lab"] == lab.pk


def test_frames_cost_the_same_queries_for_10_and_1000_slots(
    client, alice, team, django_assert_num_queries
):
    add_labs(10)
    services.lab_book(user=alice, project=team, lab=Lab.objects.first())
    client.force_login(alice)

    # session, user, slots with the teams' members, window, my project with
    # its slot
    with django_assert_num_queries(5):
        small = client.get(FRAMES)
    add_labs(990, offset=10)
    board_cache.forget()  # bulk_create sends no change event
    with django_assert_num_queries(5):
        large = client.get(FRAMES)

    assert len(small.json()["labs"]) == 10
    assert len(large.json()["labs"]) == 1000


def test_frames_need_sign_in_and_get(client, alice):
    assert client.get(FRAMES).status_code == 302
    client.force_login(alice)
    assert client.post(FRAMES).status_code == 405


# /labs/<id>/book/ -------------------------------------------------------


def test_member_books_a_slot(client, bob, team):
    lab = LabFactory()
    client.force_login(bob)
    assert team.lab is None

    response = client.post(book_url(lab), {"next": "/labs/?room=CSSE+2.01"})

    assert response.status_code == 302
    assert response.url == "/labs/?room=CSSE+2.01"
    team.refresh_from_db()
    assert team.lab == lab
    record = BookingRecord.objects.get()
    assert (record.action, record.via) == ("book", "page")
    assert messages_of(response)[0].startswith("Your team booked ")


def test_member_moves_to_another_slot(client, alice, team):
    old, new = LabFactory(), LabFactory()
    services.lab_book(user=alice, project=team, lab=old)
    client.force_login(alice)

    response = client.post(book_url(new))

    assert response.url == BOARD
    team.refresh_from_db()
    assert team.lab == new
    old.refresh_from_db()
    assert getattr(old, "project", None) is None
    assert messages_of(response)[0].startswith("Your team moved to ")


def test_slot_held_by_another_team_is_refused_with_the_reason(
    client, bob, charlie, team
):
    lab = LabFactory()
    other = make_team(charlie, lab=lab)
    client.force_login(bob)

    response = client.post(book_url(lab))

    assert response.status_code == 302
    assert messages_of(response) == [
        "That slot was just taken by another team. Please pick another one."
    ]
    team.refresh_from_db()
    assert team.lab is None
    lab.refresh_from_db()
    assert lab.project == other


def test_booking_while_closed_is_refused(client, alice, dana, team):
    lab = LabFactory()
    set_window(dana, booking_open=False)
    client.force_login(alice)

    response = client.post(book_url(lab))

    assert messages_of(response) == ["Booking is closed."]
    team.refresh_from_db()
    assert team.lab is None


def test_booking_inside_the_cutoff_is_refused(client, alice, team):
    lab = lab_starting_in(30)
    client.force_login(alice)

    response = client.post(book_url(lab))

    assert "more than 60 minutes before they start" in messages_of(response)[0]
    team.refresh_from_db()
    assert team.lab is None


def test_free_student_is_told_to_create_a_project(client, charlie):
    lab = LabFactory()
    client.force_login(charlie)

    response = client.post(book_url(lab))

    assert response.url == BOARD
    assert messages_of(response) == ["Create a project before booking a slot."]
    assert getattr(Lab.objects.get(pk=lab.pk), "project", None) is None


def test_booking_a_missing_slot_gets_404(client, alice, team):
    client.force_login(alice)

    assert client.post(reverse("projects:lab_book", args=[999])).status_code == 404


def test_booking_needs_post(client, alice, team):
    lab = LabFactory()
    client.force_login(alice)

    assert client.get(book_url(lab)).status_code == 405
    team.refresh_from_db()
    assert team.lab is None


def test_anonymous_booking_is_sent_to_sign_in(client):
    lab = LabFactory()

    response = client.post(book_url(lab))

    assert response.url == f"{reverse('login')}?next={book_url(lab)}"


def test_board_config_is_json_for_the_script(client, charlie):
    client.force_login(charlie)

    body = client.get(BOARD).content.decode()

    start = body.index('<script id="board-config" type="application/json">')
    payload = body[start:].split(">", 1)[1].split("</script>", 1)[0]
    config = json.loads(payload)
    assert config["socket"] == "/ws/labs/"
    assert config["framesUrl"] == FRAMES
    assert '<script src="/static/projects/board.js">' in body


def test_booking_a_closed_slot_is_refused(client, alice, team):
    lab = LabFactory(is_open=False)
    client.force_login(alice)

    response = client.post(book_url(lab))

    assert messages_of(response) == ["That slot is not open for booking."]
    team.refresh_from_db()
    assert team.lab is None


def test_booking_the_slot_you_hold_says_so(client, alice, team):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    client.force_login(alice)

    response = client.post(book_url(lab))

    assert messages_of(response) == ["Your team already has this slot."]
    assert BookingRecord.objects.count() == 1


# Booking in the background (board.js asks for JSON) ----------------------------


def test_background_booking_answers_json_and_queues_no_message(client, bob, team):
    lab = LabFactory()
    client.force_login(bob)

    response = client.post(book_url(lab), **JSON)

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["message"].startswith("Your team booked ")
    assert messages_of(response) == []
    team.refresh_from_db()
    assert team.lab == lab


def test_background_booking_refusal_names_the_reason(client, bob, charlie, team):
    lab = LabFactory()
    make_team(charlie, lab=lab)
    client.force_login(bob)

    response = client.post(book_url(lab), **JSON)

    assert response.status_code == 409
    assert response.json() == {
        "ok": False,
        "code": "slot_taken",
        "message": "That slot was just taken by another team. Please pick another one.",
    }
    team.refresh_from_db()
    assert team.lab is None


def test_background_booking_without_a_project_says_so(client, charlie):
    lab = LabFactory()
    client.force_login(charlie)

    response = client.post(book_url(lab), **JSON)

    assert response.status_code == 409
    assert response.json()["code"] == "no_project"


def test_background_release_answers_json(client, alice, team):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    client.force_login(alice)

    response = client.post(reverse("projects:project_release"), **JSON)

    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["message"].startswith("You released ")
    team.refresh_from_db()
    assert team.lab is None


def test_background_release_without_a_project_says_so(client, alice, bob, team):
    # Bob's board still offers Release when Alice has just dissolved the
    # team (its frame not yet there): a redirect to /projects/new/ would
    # read as "You were signed out" on the board, and leave the "create
    # one" message queued for his next page.
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    services.project_dissolve(user=alice, project=team)
    client.force_login(bob)

    response = client.post(reverse("projects:project_release"), **JSON)

    assert response.status_code == 409
    assert response.json() == {
        "ok": False,
        "code": "no_project",
        "message": "You don't have a project yet. Create one first.",
    }
    assert messages_of(response) == []


def test_background_release_inside_the_cutoff_is_refused(client, alice, dana, team):
    lab = lab_starting_in(30)
    services.lab_book(user=dana, project=team, lab=lab)
    client.force_login(alice)

    response = client.post(reverse("projects:project_release"), **JSON)

    assert response.status_code == 409
    assert response.json()["code"] == "slot_cutoff"
    team.refresh_from_db()
    assert team.lab == lab


def test_a_background_booking_reads_the_team_once(
    client, bob, team, django_assert_num_queries
):
    lab = LabFactory()
    client.force_login(bob)

    # session, user, the slot with its holder, my project with its slot; in
    # the transaction (a savepoint here): am I a member, the window, my
    # project locked, the slot with its holder again, the update (no
    # savepoint of its own), the members once (for the record, the
    # notification and the team's name), the record, the calendar event (2),
    # its reminder (a new event has none to withdraw) and their queued tasks
    # (2). Broadcast and notification run after commit, outside this count.
    with django_assert_num_queries(18) as queries:
        response = client.post(book_url(lab), **JSON)

    assert response.json()["ok"] is True
    members = [q["sql"] for q in queries if '"projects_membership"' in q["sql"]]
    assert len(members) == 3  # my project, am I a member, the team once
