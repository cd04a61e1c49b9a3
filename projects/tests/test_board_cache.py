"""The process's copy of the board: patched by change events, rebuilt when
behind, so a committed change shows on the next page at once."""

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from projects import board_cache, selectors, services
from projects.realtime import broadcast_labs
from projects.tests.factories import LabFactory, make_team

pytestmark = pytest.mark.django_db


def test_a_committed_booking_patches_the_copy_without_a_reload(
    alice, django_assert_num_queries, django_capture_on_commit_callbacks
):
    lab = LabFactory()
    project = make_team(alice)
    board_cache.upcoming()

    with django_capture_on_commit_callbacks(execute=True):
        services.lab_book(user=alice, project=project, lab=lab)
    with django_assert_num_queries(0):
        (facts,) = board_cache.upcoming()

    assert facts["project"] == project.pk
    assert facts["team"] == f"Team {project.pk}: Alice"


def test_a_new_slot_and_a_removed_one_are_patched_in_and_out():
    kept, gone = LabFactory(), LabFactory()
    board_cache.upcoming()
    new = LabFactory(start=kept.start + timedelta(minutes=5))
    gone_id = gone.pk
    gone.delete()

    broadcast_labs(lab_ids=[new.pk, gone_id])

    assert [facts["id"] for facts in board_cache.upcoming()] == [kept.pk, new.pk]


def test_a_copy_behind_the_version_is_rebuilt(alice, django_assert_num_queries):
    board_cache.upcoming()
    make_team(alice, lab=LabFactory())
    board_cache.bump()  # another process's change: this one missed its event

    # the slots with their teams' members
    with django_assert_num_queries(1):
        rebuilt = board_cache.upcoming()

    assert len(rebuilt) == 1


def another_process_books(user, lab):
    """A booking made in another process: the events it sends are kept in
    the shared cache, and this process's sockets have not received them."""
    project = make_team(user)
    remembered = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(board_cache, "apply", lambda event: remembered.append(event))
        services.lab_book(user=user, project=project, lab=lab)
        broadcast_labs(lab_ids=[lab.pk])  # on commit, as the service does
    return project, remembered


def test_a_copy_a_few_events_behind_is_patched_from_the_cache(
    alice, bob, django_assert_num_queries
):
    first, second = LabFactory(), LabFactory()
    board_cache.upcoming()
    alices, _ = another_process_books(alice, first)
    bobs, _ = another_process_books(bob, second)

    with django_assert_num_queries(0):
        patched = board_cache.upcoming()

    assert [facts["project"] for facts in patched] == [alices.pk, bobs.pk]
    board_cache.forget()
    assert patched == board_cache.upcoming()  # as a rebuild reads it


def test_a_copy_is_rebuilt_when_an_event_it_lacks_is_gone_from_the_cache(
    alice, django_assert_num_queries
):
    lab = LabFactory()
    board_cache.upcoming()
    another_process_books(alice, lab)
    cache.delete(board_cache.EVENT_KEY.format(board_cache.version()))

    with django_assert_num_queries(1):
        (facts,) = board_cache.upcoming()

    assert facts["project"] is not None


def test_a_copy_too_far_behind_is_rebuilt(
    alice, monkeypatch, django_assert_num_queries
):
    lab = LabFactory()
    board_cache.upcoming()
    another_process_books(alice, lab)
    monkeypatch.setattr(board_cache, "CATCH_UP", 0)

    with django_assert_num_queries(1):
        (facts,) = board_cache.upcoming()

    assert facts["project"] is not None


def test_a_copy_older_than_its_age_is_rebuilt(monkeypatch):
    board_cache.upcoming()
    LabFactory()  # behind the services' back: no event

    assert board_cache.upcoming() == []
    monkeypatch.setattr(board_cache, "MAX_AGE", -1)
    assert len(board_cache.upcoming()) == 1


def test_slots_that_started_drop_out_without_a_change():
    lab = LabFactory()
    board_cache.upcoming()

    later = board_cache.upcoming(now=lab.start + timedelta(seconds=1))

    assert later == []
    assert len(board_cache.upcoming(now=timezone.now())) == 1


def test_an_event_out_of_order_is_ignored():
    LabFactory()
    board_cache.upcoming()
    current = board_cache.version()

    board_cache.apply({"version": current + 2, "labs": [{"id": 1, "removed": True}]})

    assert board_cache._copy.version == current


def test_one_query_reads_every_slot_with_its_team_named_as_the_team_is(
    alice, bob, make_student, settings, django_assert_num_queries
):
    settings.PAIRUP_TEAM_SIZE = 4
    carol = make_student(first_name="Carol", preferred_name="Caz")
    dave = make_student(first_name="", preferred_name="")
    free, held, solo = LabFactory(), LabFactory(), LabFactory()
    # Bob joins first though Alice's account is older: names go by joining.
    team = make_team(bob, alice, carol, dave, description="Drone", lab=held)
    alone = make_team(make_student(first_name="Eve"), lab=solo)

    with django_assert_num_queries(1):
        facts = {f["id"]: f for f in selectors.lab_facts_list(now=timezone.now())}

    assert list(facts) == [free.pk, held.pk, solo.pk]
    assert facts[free.pk]["project"] is None
    assert facts[free.pk]["team"] == ""
    assert facts[held.pk]["team"] == team.team_name
    assert facts[held.pk]["team"] == (
        f"Team {team.pk}: Bob, Alice, Caz, {dave.username}"
    )
    assert facts[held.pk]["description"] == "Drone"
    assert facts[solo.pk]["team"] == f"Team {alone.pk}: Eve"
