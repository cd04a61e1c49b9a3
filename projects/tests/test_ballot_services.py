"""The ballot's rules: ranking (while open, open upcoming slots, up to the
limit, each slot once), teams formed and dissolved, booking held back, the
run (optimal, booked through the services, told), dry runs and replays."""

from datetime import timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.permissions import CoordinatorRequired
from notifications.models import Kind, Notification
from pairup.dates import local_text, slot_label
from projects import ballot_selectors, ballot_services, services
from projects.models import (
    Ballot,
    BallotChoice,
    BallotRun,
    BookingRecord,
    BookingWindow,
    Project,
)
from projects.tests.ballot_helpers import after_closing, open_ballot
from projects.tests.factories import (
    LabFactory,
    StudentFactory,
    lab_starting_in,
    make_team,
)

pytestmark = pytest.mark.django_db


def ranking(project) -> list[int]:
    return list(
        BallotChoice.objects.filter(ballot__project=project)
        .order_by("rank")
        .values_list("lab_id", flat=True)
    )


def codes(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [e.code for errors in error.error_dict.values() for e in errors]
    return [e.code for e in error.error_list]


@pytest.fixture
def window(dana):
    return open_ballot(actor=dana)


@pytest.fixture
def labs():
    return LabFactory.create_batch(5)


# Ranking ----------------------------------------------------------------------


def test_a_member_ranks_slots_best_first_and_the_page_says_who_saved_it(
    window, team, bob, labs
):
    ballot_services.ballot_save(
        user=bob, project=team, lab_ids=[labs[2].pk, labs[0].pk]
    )

    assert ranking(team) == [labs[2].pk, labs[0].pk]
    view = ballot_selectors.ballot_view(project=team, window=BookingWindow.get())
    assert view["slots"] == [labs[2].pk, labs[0].pk]
    assert [c["rank"] for c in view["choices"]] == [1, 2]
    assert view["saved_by"] == "Bob"
    assert view["saved_text"].startswith("Last saved by Bob, ")


def test_the_last_save_wins(window, team, alice, bob, labs):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])
    ballot_services.ballot_save(
        user=bob, project=team, lab_ids=[labs[1].pk, labs[2].pk]
    )

    assert ranking(team) == [labs[1].pk, labs[2].pk]
    assert Ballot.objects.get(project=team).saved_by == bob


def test_an_empty_ranking_clears_it(window, team, alice, labs):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[])

    assert ranking(team) == []


def test_ranking_only_while_the_ballot_is_open(team, alice, labs, dana):
    with pytest.raises(ValidationError) as first_come:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])
    window = open_ballot(actor=dana)
    with pytest.raises(ValidationError) as closed:
        ballot_services.ballot_save(
            user=alice,
            project=team,
            lab_ids=[labs[0].pk],
            now=after_closing(window),
        )
    BookingWindow.objects.filter(pk=1).update(booking_open=False)
    with pytest.raises(ValidationError) as switched_off:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])

    assert codes(first_come.value) == ["no_ballot"]
    assert codes(closed.value) == ["ballot_closed"]
    assert "rankings can no longer change" in closed.value.messages[0]
    assert codes(switched_off.value) == ["booking_closed"]
    assert ranking(team) == []


def test_no_ranking_after_the_ballot_ran_even_before_its_closing_time(
    window, team, alice, labs, dana
):
    ballot_services.ballot_run(actor=dana)

    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])

    assert codes(error.value) == ["ballot_closed"]


@pytest.mark.parametrize(
    ("make_lab", "code"),
    [
        (lambda: LabFactory(is_open=False), "slot_closed"),
        (lambda: lab_starting_in(-10), "slot_past"),
        (lambda: lab_starting_in(30), "slot_cutoff"),
    ],
)
def test_only_open_upcoming_slots_can_be_ranked(window, team, alice, make_lab, code):
    lab = make_lab()

    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])

    assert codes(error.value) == [code]
    assert "can't be ranked" in error.value.messages[0]


def test_a_slot_another_team_holds_cant_be_ranked(window, team, alice, charlie, dana):
    lab = LabFactory()
    services.lab_book(user=dana, project=make_team(charlie), lab=lab)

    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[lab.pk])

    assert codes(error.value) == ["slot_taken"]


def test_an_unknown_slot_cant_be_ranked(window, team, alice):
    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[999999])

    assert codes(error.value) == ["unknown_slot"]
    assert error.value.message_dict == {"slots": ["No such slot: 999999."]}


def test_a_team_ranks_up_to_the_limit(window, team, alice, settings):
    settings.PAIRUP_BALLOT_CHOICES = 3
    labs = LabFactory.create_batch(4)

    ballot_services.ballot_save(
        user=alice, project=team, lab_ids=[lab.pk for lab in labs[:3]]
    )
    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(
            user=alice, project=team, lab_ids=[lab.pk for lab in labs]
        )

    assert codes(error.value) == ["too_many"]
    assert error.value.message_dict == {
        "slots": ["Rank at most 3 slots (this ranking has 4)."]
    }
    assert ranking(team) == [lab.pk for lab in labs[:3]]


def test_no_slot_twice_in_one_ranking(window, team, alice, labs):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[1].pk])

    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(
            user=alice, project=team, lab_ids=[labs[0].pk, labs[0].pk]
        )

    assert codes(error.value) == ["duplicate_slot"]
    assert ranking(team) == [labs[1].pk]  # a refused save changes nothing


def test_a_team_with_a_slot_takes_no_part(window, alice, labs, dana):
    project = make_team(alice)
    services.lab_book(user=dana, project=project, lab=labs[0])

    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=alice, project=project, lab_ids=[labs[1].pk])

    assert codes(error.value) == ["has_slot"]


def test_only_members_rank_for_a_team(window, team, charlie, labs):
    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_save(user=charlie, project=team, lab_ids=[labs[0].pk])

    assert codes(error.value) == ["not_member"]


def test_a_saved_ranking_goes_to_every_members_page_after_commit(
    window, team, alice, bob, labs, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr(
        ballot_services.ballot_live,
        "send",
        lambda user_ids, frame: sent.append((sorted(user_ids), frame)),
    )

    with django_capture_on_commit_callbacks(execute=True):
        ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[3].pk])

    ((users, frame),) = sent
    assert users == sorted([alice.pk, bob.pk])
    assert frame["type"] == "ballot"
    assert frame["project"] == team.pk
    assert frame["slots"] == [labs[3].pk]
    assert frame["saved_by"] == "Alice"


# Teams formed and dissolved during the ballot -----------------------------------


def test_a_dissolved_teams_ballot_goes_with_it(window, team, alice, labs):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])

    services.project_dissolve(user=alice, project=team)

    assert not Ballot.objects.exists()
    assert not BallotChoice.objects.exists()


def test_a_team_that_gains_a_member_keeps_its_ranking(window, alice, bob, labs):
    project = make_team(alice)
    ballot_services.ballot_save(user=alice, project=project, lab_ids=[labs[0].pk])

    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )
    services.invitation_accept(user=bob, invitation=invitation)

    assert ranking(project) == [labs[0].pk]
    view = ballot_selectors.ballot_view(project=project, window=BookingWindow.get())
    assert view["slots"] == [labs[0].pk]


def test_a_student_who_joins_brings_no_ranking(window, alice, bob, labs):
    # Bob ranked in a solo project, then dissolves it to join Alice: Alice's
    # team keeps its own ranking, and Bob's goes with his old project.
    hers = make_team(alice)
    ballot_services.ballot_save(user=alice, project=hers, lab_ids=[labs[0].pk])
    his = make_team(bob)
    ballot_services.ballot_save(user=bob, project=his, lab_ids=[labs[1].pk, labs[2].pk])

    services.project_dissolve(user=bob, project=his)
    invitation = services.invitation_send(
        user=alice, project=hers, invitee_number=bob.username
    )
    services.invitation_accept(user=bob, invitation=invitation)

    assert ranking(hers) == [labs[0].pk]
    assert Ballot.objects.count() == 1


# Booking while the ballot is open, and after ------------------------------------


def test_booking_is_refused_while_the_ballot_is_open_with_a_clear_message(
    window, team, alice, labs
):
    with pytest.raises(ValidationError) as error:
        services.lab_book(user=alice, project=team, lab=labs[0])

    assert codes(error.value) == ["ballot_open"]
    assert error.value.messages[0].startswith(
        "Slots are allocated by ballot: rank the slots you want on the board until "
    )
    assert "First come booking for what is left opens " in error.value.messages[0]


def test_booking_waits_for_the_allocation_then_opens_first_come_at_opens_at(
    window, alice, bob, labs, dana
):
    mine = make_team(alice)
    other = make_team(bob)
    ballot_services.ballot_save(user=alice, project=mine, lab_ids=[labs[0].pk])

    with time_machine.travel(window.opens_at + timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError) as pending:
            services.lab_book(user=bob, project=other, lab=labs[0])
        ballot_services.ballot_run_if_due()
        with pytest.raises(ValidationError) as taken:
            services.lab_book(user=bob, project=other, lab=labs[0])
        services.lab_book(user=bob, project=other, lab=labs[1])

    assert codes(pending.value) == ["ballot_pending"]
    assert codes(taken.value) == ["slot_taken"]
    other.refresh_from_db()
    assert other.lab == labs[1]


def test_after_the_run_booking_opens_only_at_opens_at(window, alice, labs, dana):
    project = make_team(alice)
    ballot_services.ballot_run(actor=dana)

    with pytest.raises(ValidationError) as error:
        services.lab_book(user=alice, project=project, lab=labs[0])

    assert codes(error.value) == ["booking_closed"]
    assert error.value.messages[0].startswith("The ballot has been allocated.")


# The run ----------------------------------------------------------------------


def test_the_run_places_teams_optimally_and_books_through_the_services(
    window, alice, bob, charlie, labs, django_capture_on_commit_callbacks
):
    first, second = make_team(alice), make_team(bob)
    idle = make_team(charlie)
    # Both want slot 0 first; only the second can use slot 1 as well.
    ballot_services.ballot_save(user=alice, project=first, lab_ids=[labs[0].pk])
    ballot_services.ballot_save(
        user=bob, project=second, lab_ids=[labs[0].pk, labs[1].pk]
    )

    with django_capture_on_commit_callbacks(execute=True):
        run = ballot_services.ballot_run_if_due(now=after_closing(window))

    first.refresh_from_db()
    second.refresh_from_db()
    idle.refresh_from_db()
    assert (first.lab, second.lab, idle.lab) == (labs[0], labs[1], None)
    assert (run.dry_run, run.trigger) == (False, BallotRun.Trigger.CLOCK)
    assert (run.teams, run.ranked, run.placed) == (3, 2, 2)
    assert (run.first_choices, run.top_three, run.unplaced, run.unranked) == (
        1,
        2,
        0,
        1,
    )
    records = BookingRecord.objects.filter(via=BookingRecord.Via.BALLOT)
    assert sorted(records.values_list("project_number", flat=True)) == sorted(
        [first.pk, second.pk]
    )
    assert set(records.values_list("actor_username", flat=True)) == {"ballot"}
    assert BookingWindow.get().ballot_ran_at == run.created_at


def test_each_team_is_told_its_result(
    window, alice, bob, charlie, labs, django_capture_on_commit_callbacks
):
    first, second = make_team(alice), make_team(bob)
    make_team(charlie)
    ballot_services.ballot_save(user=alice, project=first, lab_ids=[labs[0].pk])
    ballot_services.ballot_save(
        user=bob, project=second, lab_ids=[labs[0].pk, labs[1].pk]
    )

    with django_capture_on_commit_callbacks(execute=True):
        ballot_services.ballot_run(now=after_closing(window))

    (to_alice,) = Notification.objects.filter(user=alice)
    (to_bob,) = Notification.objects.filter(user=bob)
    (to_charlie,) = Notification.objects.filter(user=charlie)
    assert to_alice.kind == Kind.BALLOT_PLACED
    assert to_alice.text.endswith("(your 1st choice).")
    assert to_bob.text.endswith("(your 2nd choice).")
    assert to_charlie.kind == Kind.BALLOT_UNPLACED
    opens = local_text(window.opens_at)
    assert to_charlie.text == (
        f"The ballot gave Team {charlie.membership.project_id}: Charlie no slot "
        f"(it ranked none). Book one first come from {opens}."
    )


def test_a_team_booked_while_the_ballot_ran_is_not_told_it_has_no_slot(
    window, alice, bob, labs, monkeypatch, django_capture_on_commit_callbacks
):
    first, second = make_team(alice), make_team(bob)
    ballot_services.ballot_save(user=alice, project=first, lab_ids=[labs[0].pk])
    lock = services.lock_projects

    def booked_meanwhile(project_ids):
        # A coordinator's booking (PostgreSQL) that committed after the run
        # read the teams without a slot, before it locked them.
        Project.objects.filter(pk=second.pk).update(lab=labs[1])
        lock(project_ids)

    monkeypatch.setattr(services, "lock_projects", booked_meanwhile)

    with django_capture_on_commit_callbacks(execute=True):
        ballot_services.ballot_run(now=after_closing(window))

    assert [n.kind for n in Notification.objects.filter(user=alice)] == [
        Kind.BALLOT_PLACED
    ]
    assert not Notification.objects.filter(user=bob).exists()


def test_the_result_page_says_what_the_team_got(
    window, alice, bob, charlie, labs, dana
):
    first, second = make_team(alice), make_team(bob)
    third = make_team(charlie)
    ballot_services.ballot_save(user=alice, project=first, lab_ids=[labs[0].pk])
    ballot_services.ballot_save(
        user=bob, project=second, lab_ids=[labs[0].pk, labs[1].pk]
    )
    ballot_services.ballot_save(user=charlie, project=third, lab_ids=[labs[0].pk])
    ballot_services.ballot_run(actor=dana)
    window = BookingWindow.get()

    results = {
        project.pk: ballot_selectors.ballot_view(project=project, window=window)[
            "result"
        ]
        for project in Project.objects.all()
    }

    placed = [r for r in results.values() if r["placed"]]
    assert len(placed) == 2
    assert results[second.pk]["text"] == (
        f"Your team got {slot_label(labs[1])} (your 2nd choice)."
    )
    loser = next(r for r in results.values() if not r["placed"])
    assert loser["text"].startswith(
        "The ballot gave your team no slot: the slots you ranked went to other teams."
    )


def test_the_run_happens_once(window, team, alice, labs, dana):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])
    ballot_services.ballot_run(actor=dana)

    with pytest.raises(ValidationError) as again:
        ballot_services.ballot_run(actor=dana)
    assert ballot_services.ballot_run_if_due(now=after_closing(window)) is None

    assert codes(again.value) == ["ballot_ran"]
    assert BallotRun.objects.filter(dry_run=False).count() == 1
    assert BookingRecord.objects.count() == 1


def test_the_clock_waits_for_the_closing_time(window, team, alice, labs):
    ballot_services.ballot_save(user=alice, project=team, lab_ids=[labs[0].pk])

    assert ballot_services.ballot_run_if_due() is None
    assert not BallotRun.objects.exists()


def test_only_coordinators_run_the_ballot(window, alice):
    with pytest.raises(CoordinatorRequired, match="Only coordinators can run"):
        ballot_services.ballot_run(actor=alice)


def test_there_is_nothing_to_run_in_first_come_mode(dana):
    with pytest.raises(ValidationError) as error:
        ballot_services.ballot_run(actor=dana)

    assert codes(error.value) == ["no_ballot"]


def test_a_slot_closed_or_taken_before_the_run_is_not_allocated(
    window, alice, bob, labs, dana
):
    first, second = make_team(alice), make_team(bob)
    ballot_services.ballot_save(
        user=alice, project=first, lab_ids=[labs[0].pk, labs[1].pk]
    )
    ballot_services.ballot_save(user=bob, project=second, lab_ids=[labs[2].pk])
    services.labs_set_open(actor=dana, labs=[labs[0]], is_open=False)
    services.lab_book(user=dana, project=second, lab=labs[3])

    run = ballot_services.ballot_run(actor=dana)

    first.refresh_from_db()
    assert first.lab == labs[1]
    assert run.allocation == [[first.pk, labs[1].pk, 2]]
    assert (run.teams, run.ranked) == (1, 1)


# Dry runs and replays -----------------------------------------------------------


def fingerprint() -> tuple:
    return (
        list(Project.objects.order_by("pk").values_list("pk", "lab_id")),
        list(
            BallotChoice.objects.order_by("pk").values_list(
                "ballot__project_id", "lab_id", "rank"
            )
        ),
        BookingRecord.objects.count(),
        Notification.objects.count(),
        BookingWindow.get().ballot_ran_at,
    )


def test_a_dry_run_changes_nothing_and_shows_what_the_run_will_do(
    window, alice, bob, charlie, labs, dana, django_capture_on_commit_callbacks
):
    teams = [make_team(alice), make_team(bob), make_team(charlie)]
    for team, member in zip(teams, (alice, bob, charlie), strict=True):
        ballot_services.ballot_save(
            user=member, project=team, lab_ids=[labs[0].pk, labs[1].pk]
        )
    before = fingerprint()

    with django_capture_on_commit_callbacks(execute=True):
        dry = ballot_services.ballot_dry_run(actor=dana)

    assert fingerprint() == before
    assert (dry.dry_run, dry.placed, dry.first_choices, dry.unplaced) == (
        True,
        2,
        1,
        1,
    )
    run = ballot_services.ballot_run(actor=dana)
    assert run.seed == dry.seed
    assert run.allocation == dry.allocation


def test_a_run_replays_to_the_same_allocation_from_its_stored_ballots(
    window, labs, dana
):
    teams = [make_team(StudentFactory()) for _ in range(6)]
    for n, team in enumerate(teams):
        member = team.memberships.get().user
        ballot_services.ballot_save(
            user=member,
            project=team,
            lab_ids=[labs[(n + k) % 3].pk for k in range(3)],
        )
    run = ballot_services.ballot_run(actor=dana)
    # The rankings change after the run: the replay uses what it stored.
    BallotChoice.objects.all().delete()

    assert ballot_services.ballot_replay(run) == run.allocation
    assert run.placed == 3


# The booking window in ballot mode ------------------------------------------------


def test_ballot_mode_needs_a_closing_time_and_a_later_opening(dana):
    now = timezone.now()
    window = BookingWindow.get()
    window.mode = BookingWindow.Mode.BALLOT

    with pytest.raises(ValidationError) as missing:
        window.full_clean()
    window.ballot_closes_at = now + timedelta(days=2)
    window.opens_at = now + timedelta(days=1)
    with pytest.raises(ValidationError) as too_early:
        services.booking_window_update(
            actor=dana, window=window, fields=["mode", "ballot_closes_at", "opens_at"]
        )

    assert set(missing.value.message_dict) == {"ballot_closes_at", "opens_at"}
    assert too_early.value.message_dict["opens_at"][0].startswith(
        "First come booking must open after the ballot closes"
    )
    assert BookingWindow.get().mode == BookingWindow.Mode.FIRST_COME


def test_the_database_refuses_a_ballot_that_closes_after_first_come_opens():
    from django.db import IntegrityError, transaction

    now = timezone.now()
    with pytest.raises(IntegrityError), transaction.atomic():
        BookingWindow.objects.filter(pk=1).update(
            mode=BookingWindow.Mode.BALLOT,
            ballot_closes_at=now + timedelta(days=2),
            opens_at=now + timedelta(days=1),
        )


def test_opening_a_ballot_queues_its_run_for_the_closing_time(dana):
    from django_tasks_db.models import DBTaskResult

    window = open_ballot(actor=dana)

    (task,) = DBTaskResult.objects.filter(task_path="projects.tasks.run_ballot")
    assert task.run_after == window.ballot_closes_at
    assert window.ballot_seed is not None


def test_a_new_closing_time_is_a_new_ballot_and_an_old_one_that_ran_stays_run(
    window, dana
):
    ballot_services.ballot_run(actor=dana)
    ran = BookingWindow.get()
    closes = ran.ballot_closes_at

    ran.ballot_closes_at = closes + timedelta(hours=1)
    services.booking_window_update(actor=dana, window=ran, fields=["ballot_closes_at"])
    assert ballot_selectors.ballot_state(BookingWindow.get()) == "open"
    back = BookingWindow.get()
    back.ballot_closes_at = closes
    services.booking_window_update(actor=dana, window=back, fields=["ballot_closes_at"])
    assert ballot_selectors.ballot_state(BookingWindow.get()) == "ran"
