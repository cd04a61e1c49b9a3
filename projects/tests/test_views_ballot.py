"""The ballot's pages: ranking on the board without JavaScript, the result
on the board and the dashboard, and the coordinator's ballot."""

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from notifications.models import Notification
from pairup.dates import slot_label
from projects import ballot_services, services
from projects.models import BallotChoice, BallotRun, BookingRecord, BookingWindow
from projects.tests.ballot_helpers import after_closing, open_ballot
from projects.tests.factories import LabFactory, StudentFactory, make_team

pytestmark = pytest.mark.django_db

BOARD = reverse("projects:lab_board")
RANK = reverse("projects:ballot_rank")
COORDINATOR = reverse("projects:coordinator")
LIVE = reverse("projects:coordinator_live")
BALLOT_PAGE = reverse("projects:coordinator_ballot")
DRY_RUN = reverse("projects:coordinator_ballot_dry_run")
RUN = reverse("projects:coordinator_ballot_run")


@pytest.fixture
def window(dana):
    return open_ballot(actor=dana)


def ranking(project) -> list[int]:
    return list(
        BallotChoice.objects.filter(ballot__project=project)
        .order_by("rank")
        .values_list("lab_id", flat=True)
    )


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# The board -------------------------------------------------------------------


def test_the_board_offers_a_teams_ranking_form_with_the_free_slots(
    client, window, team, alice, charlie, dana
):
    free, closed, taken = LabFactory(), LabFactory(is_open=False), LabFactory()
    services.lab_book(user=dana, project=make_team(charlie), lab=taken)
    client.force_login(alice)

    response = client.get(BOARD)

    body = response.content.decode()
    assert 'data-testid="ballot-form"' in body
    assert "Nothing ranked yet" in body
    assert f'<option value="{free.pk}">{slot_label(free)}</option>' in body
    assert f'<option value="{closed.pk}">' not in body
    assert f'<option value="{taken.pk}">' not in body
    assert 'id="ballot-config"' in body
    assert "projects/ballot.js" in body


def test_without_javascript_a_team_adds_moves_and_removes_slots(
    client, window, team, alice
):
    first, second, third = LabFactory(), LabFactory(), LabFactory()
    client.force_login(alice)

    added = client.post(RANK, {"action": "add", "add": first.pk}, follow=True)
    client.post(RANK, {"slot": [first.pk], "action": "add", "add": second.pk})
    client.post(RANK, {"slot": [first.pk, second.pk], "action": "add", "add": third.pk})
    assert ranking(team) == [first.pk, second.pk, third.pk]
    client.post(
        RANK, {"slot": [first.pk, second.pk, third.pk], "move": f"up:{third.pk}"}
    )
    assert ranking(team) == [first.pk, third.pk, second.pk]
    client.post(
        RANK, {"slot": [first.pk, third.pk, second.pk], "move": f"down:{first.pk}"}
    )
    assert ranking(team) == [third.pk, first.pk, second.pk]
    removed = client.post(
        RANK, {"slot": [third.pk, first.pk, second.pk], "move": f"remove:{first.pk}"}
    )

    assert ranking(team) == [third.pk, second.pk]
    assert removed.status_code == 302
    assert removed["Location"] == f"{BOARD}#ballot"
    assert page_messages(added) == ["Your ranking was saved: 1 slot."]
    body = client.get(BOARD).content.decode()
    assert body.index(slot_label(third)) < body.index(slot_label(second))
    assert "Last saved by Alice" in body


def test_a_refused_ranking_says_why_and_changes_nothing(client, window, team, alice):
    kept, closed = LabFactory(), LabFactory(is_open=False)
    client.force_login(alice)
    client.post(RANK, {"action": "add", "add": kept.pk}, follow=True)

    response = client.post(
        RANK, {"slot": [kept.pk], "action": "add", "add": closed.pk}, follow=True
    )
    nothing = client.post(RANK, {"slot": [kept.pk], "action": "add"}, follow=True)
    garbage = client.post(
        RANK, {"slot": ["x"], "action": "add", "add": kept.pk}, follow=True
    )

    (message,) = page_messages(response)
    assert message.startswith("Not saved: ")
    assert message.endswith("can't be ranked: it is not open for booking.")
    assert page_messages(nothing) == ["Not saved: Choose a slot to add to the ranking."]
    assert page_messages(garbage) == ["Not saved: That ranking could not be read."]
    assert ranking(team) == [kept.pk]


def test_a_student_without_a_team_is_told_to_make_one(client, window, charlie):
    lab = LabFactory()
    client.force_login(charlie)

    board = client.get(BOARD).content.decode()
    response = client.post(RANK, {"action": "add", "add": lab.pk}, follow=True)

    assert "Create a project</a> or accept an invitation to take part" in board
    assert page_messages(response) == ["Create or join a project before ranking slots."]


def test_ranking_posts_only(client, window, alice):
    client.force_login(alice)

    assert client.get(RANK).status_code == 405


def test_in_first_come_mode_the_board_has_no_ballot(client, team, alice):
    client.force_login(alice)

    body = client.get(BOARD).content.decode()

    assert 'data-testid="ballot"' not in body
    assert "ballot.js" not in body


def test_after_the_run_the_board_and_the_dashboard_say_what_the_team_got(
    client, window, team, alice, dana
):
    first, second = LabFactory(), LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[first.pk, second.pk])
    ballot_services.ballot_run(actor=dana)
    client.force_login(alice)

    board = client.get(BOARD).content.decode()
    dashboard = client.get(reverse("home")).content.decode()

    text = f"Your team got {slot_label(first)} (your 1st choice)."
    assert text in board
    assert text in dashboard
    assert 'data-testid="ballot-form"' not in board


def test_after_the_run_a_team_that_had_a_slot_is_not_told_to_book_one(
    client, window, team, alice, dana
):
    """A team booked before the ballot (by a coordinator) takes no part in
    it: after the run its board and dashboard say it has a slot, not that
    it ranked nothing and should book first come."""
    lab = LabFactory()
    services.lab_book(user=dana, project=team, lab=lab)
    other = make_team(StudentFactory())
    ballot_services.ballot_save(
        user=other.memberships.get().user, project=other, lab_ids=[LabFactory().pk]
    )
    ballot_services.ballot_run(actor=dana)
    client.force_login(alice)

    board = client.get(BOARD).content.decode()
    dashboard = client.get(reverse("home")).content.decode()

    for body in (board, dashboard):
        assert "book one first come" not in body
        assert "Your team has a slot, so it took no part in the ballot." in body


def test_after_the_run_a_team_that_moved_or_released_is_not_told_it_has_the_slot(
    client, window, team, alice, dana
):
    first, other = LabFactory(), LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[first.pk])
    ballot_services.ballot_run(actor=dana)
    client.force_login(alice)

    services.lab_book(user=dana, project=team, lab=other)
    moved = client.get(BOARD).content.decode()
    services.lab_release(user=dana, project=team)
    released = client.get(reverse("home")).content.decode()

    got = f"Your team got {slot_label(first)} (your 1st choice)."
    assert got not in moved
    assert (
        f"The ballot gave your team {slot_label(first)} (your 1st choice); "
        "your team has moved to another slot since." in moved
    )
    assert got not in released
    assert (
        f"The ballot gave your team {slot_label(first)} (your 1st choice); "
        "your team released it since: book one first come" in released
    )


def test_after_the_run_a_student_without_a_team_is_not_invited_to_rank(
    client, window, team, alice, charlie, dana
):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[LabFactory().pk])
    ballot_services.ballot_run(actor=dana)

    client.force_login(charlie)
    student = client.get(BOARD).content.decode()
    client.force_login(dana)
    coordinator = client.get(BOARD).content.decode()

    for body in (student, coordinator):
        assert "rank up to" not in body
        assert "rank slots until" not in body
        assert "The ballot has been allocated" in body
    assert "to take part" not in student


def test_the_first_page_after_the_closing_time_runs_the_ballot(
    client, window, team, alice
):
    import time_machine

    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])
    client.force_login(alice)

    with time_machine.travel(after_closing(window), tick=False):
        body = client.get(BOARD).content.decode()

    run = BallotRun.objects.get()
    assert run.trigger == BallotRun.Trigger.REQUEST
    assert f"Your team got {slot_label(lab)} (your 1st choice)." in body


def _shows_the_slot(path: str, response, lab, team) -> bool:
    if path.startswith("/labs/frames/"):
        labs = response.json()["labs"]
        return any(item["id"] == lab.pk and item["mine"] for item in labs)
    body = response.content.decode()
    if path.startswith("/schedule/"):  # the booked slots, the team's own shown
        return team.description in body
    if path.endswith(".csv"):
        return lab.room in body
    return slot_label(lab) in body


@pytest.mark.parametrize(
    "path, as_coordinator",
    [
        ("/projects/mine/", False),
        ("/schedule/", False),
        ("/schedule/print/?room={room}&day={day}", False),
        ("/labs/frames/", False),
        ("/coordinator/allocations.csv", True),
        ("/coordinator/teams.csv", True),
        ("/coordinator/students.csv", True),
        ("/coordinator/roster.csv", True),
    ],
)
def test_every_page_after_the_closing_time_runs_the_ballot(
    client, window, team, alice, dana, path, as_coordinator
):
    """Without a worker, no page a student or a coordinator opens after the
    closing time shows the unit as it was before the allocation (the
    board, the dashboard and the coordinator page already ran it)."""
    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])
    client.force_login(dana if as_coordinator else alice)
    day = timezone.localtime(lab.start).date().isoformat()
    path = path.format(room=lab.room.replace(" ", "+"), day=day)

    with time_machine.travel(after_closing(window), tick=False):
        response = client.get(path)

    assert response.status_code == 200
    assert BallotRun.objects.get().trigger == BallotRun.Trigger.REQUEST
    if path == "/coordinator/teams.csv":  # teams without a slot: not this one
        assert str(team.pk) not in response.content.decode().split("\n", 1)[1]
    elif path != "/coordinator/students.csv":  # students without a project
        assert _shows_the_slot(path, response, lab, team)


def test_the_dashboard_says_how_to_take_part(client, window, team, alice):
    client.force_login(alice)

    body = client.get(reverse("home")).content.decode()

    assert "Rank up to 10 free slots, best first, until " in body
    assert "Rank slots on the board</a> (0 of 10 ranked)" in body


# The coordinator --------------------------------------------------------------


def test_the_coordinator_page_shows_the_ballots_state(
    client, window, team, alice, dana
):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[LabFactory().pk])
    make_team(StudentFactory())
    client.force_login(dana)

    body = client.get(COORDINATOR).content.decode()

    assert "Open: teams rank slots." in body
    assert "1 of 2 teams without a slot" in body
    assert "No dry run yet" in body
    assert "Run the ballot now" in body


def test_the_ballot_section_is_one_of_the_pages_live_parts(
    client, window, team, alice, dana
):
    client.force_login(dana)
    page = client.get(COORDINATOR, {"q": "A"}).content.decode()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[LabFactory().pk])

    live = client.get(LIVE, {"q": "A"}).content.decode()

    closes = timezone.localtime(window.ballot_closes_at).isoformat()
    for body in (page, live):
        assert body.count('data-live-part="ballot"') == 1
        assert f'data-closes-at="{closes}"' in body
        # A dry run from a swapped-in section goes back to the page, not to
        # the fragment.
        assert f'name="next" value="{COORDINATOR}?q=A"' in body
    assert "0 of 1 team without a slot" in page
    assert "1 of 1 team without a slot" in live


@pytest.mark.parametrize("url", [COORDINATOR, LIVE])
def test_the_coordinator_page_after_the_closing_time_runs_the_ballot(
    client, window, team, alice, dana, url
):
    """Without a worker, the page that asks just after the closing (its own
    clock does) runs the ballot, as a student's page would: it doesn't
    promise a run "within a minute" that no one makes."""
    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])
    client.force_login(dana)

    with time_machine.travel(after_closing(window), tick=False):
        body = client.get(url).content.decode()

    run = BallotRun.objects.get()
    assert run.trigger == BallotRun.Trigger.REQUEST
    assert "Allocated." in body
    assert "Placed: 1 of 1 teams that ranked (100%)" in body
    assert "the allocation runs within a minute" not in body


def test_a_closed_or_first_come_ballot_has_no_closing_time_to_watch(
    client, window, dana
):
    client.force_login(dana)
    assert "data-closes-at" in client.get(LIVE).content.decode()
    with time_machine.travel(after_closing(window)):
        # Due: the run comes within a minute, and says so when it does.
        assert "data-closes-at" not in client.get(LIVE).content.decode()

    window.mode = BookingWindow.Mode.FIRST_COME
    services.booking_window_update(actor=dana, window=window, fields=["mode"])

    assert "data-closes-at" not in client.get(LIVE).content.decode()


def test_a_dry_run_shows_the_outcome_and_books_nothing(
    client, window, team, alice, dana
):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[LabFactory().pk])
    client.force_login(dana)

    response = client.post(DRY_RUN, {"next": COORDINATOR}, follow=True)

    assert page_messages(response) == [
        "Dry run: 1 of 1 teams that ranked placed, 1 with their first choice, "
        "1 in their top 3; 0 unplaced, 0 ranked nothing."
    ]
    body = response.content.decode()
    assert "Last dry run:" in body
    assert "Would place 1 of 1 teams that ranked (100%)" in body
    assert BookingRecord.objects.count() == 0
    assert Notification.objects.count() == 0


def test_run_now_asks_first_then_runs_once(client, window, team, alice, dana):
    lab = LabFactory()
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])
    client.force_login(dana)

    confirm = client.get(RUN)
    ran = client.post(RUN, follow=True)
    again = client.post(RUN, follow=True)

    assert "Run the ballot now?" in confirm.content.decode()
    assert page_messages(ran)[0].startswith("The ballot ran: 1 of 1 teams")
    body = ran.content.decode()
    assert "With their first choice: 1 (100%)" in body
    assert page_messages(again) == [
        "The ballot has already run (" + page_messages(again)[0].split("(", 1)[1]
    ]
    team.refresh_from_db()
    assert team.lab == lab
    assert client.get(RUN).status_code == 302


@pytest.mark.parametrize("url", [BALLOT_PAGE, RUN])
def test_students_may_not_see_the_coordinators_ballot(client, alice, url):
    client.force_login(alice)

    assert client.get(url).status_code == 403
    assert client.post(DRY_RUN).status_code == 403


def test_the_coordinator_sets_ballot_mode_on_the_page(client, dana):
    client.force_login(dana)

    refused = client.post(
        BALLOT_PAGE,
        {
            "mode": "ballot",
            "ballot_closes_at": "2099-05-20T17:00",
            "opens_at": "2099-05-20T09:00",
        },
    )
    saved = client.post(
        BALLOT_PAGE,
        {
            "mode": "ballot",
            "ballot_closes_at": "2099-05-20T17:00",
            "opens_at": "2099-05-21T09:00",
        },
    )

    assert refused.status_code == 200
    assert (
        "First come booking must open after the ballot closes"
        in refused.content.decode()
    )
    assert saved.status_code == 302
    window = BookingWindow.get()
    assert window.mode == "ballot"
    assert f"{timezone.localtime(window.ballot_closes_at):%Y-%m-%d %H:%M}" == (
        "2099-05-20 17:00"
    )


@pytest.mark.parametrize("field", ["opens_at", "closes_at", "ballot_closes_at"])
def test_a_window_time_in_year_one_is_a_form_error(client, dana, field):
    client.force_login(dana)

    response = client.post(
        BALLOT_PAGE, {"mode": "first_come", field: "0001-01-01T00:00"}
    )

    assert response.status_code == 200
    assert "Pick a date between 2000 and 2999." in response.content.decode()
    assert getattr(BookingWindow.get(), field) is None
    assert client.get(BALLOT_PAGE).status_code == 200
