"""The read model of a slot as one user sees it, and the frames built from it.

`selectors.lab_view` and `realtime.frames_for_viewer` are pure: these tests
call them directly with facts and viewers, and pin that building the event
is a fixed number of queries and filtering it none.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from projects import selectors
from projects.realtime import frames_for_viewer, labs_event
from projects.selectors import Viewer, lab_view, slot_refusal, team_visible
from projects.tests.factories import LabFactory, make_team

NOW = 1_800_000_000.0  # a fixed moment, POSIX seconds
HOUR = 3600
MEMBER = Viewer(user_id=1, project_id=7, is_coordinator=False)
OUTSIDER = Viewer(user_id=2, project_id=None, is_coordinator=False)
OTHER_TEAM = Viewer(user_id=3, project_id=8, is_coordinator=False)
COORDINATOR = Viewer(user_id=4, project_id=None, is_coordinator=True)
OPEN = {"switch": True, "opens": None, "closes": None, "published": False}


def facts(**fields) -> dict:
    slot = {
        "id": 12,
        "room": "CSSE 2.01",
        "start": "2027-01-15T16:05:00+08:00",
        "end": "2027-01-15T16:20:00+08:00",
        "ts": NOW + 2 * HOUR,
        "open": True,
        "project": None,
        "team": "",
        "description": "",
    }
    slot.update(fields)
    return slot


TAKEN = facts(project=7, team="Team 7: Ann, Bob", description="Drone")


@pytest.mark.parametrize(
    ("viewer", "published", "sees"),
    [
        (MEMBER, False, True),
        (OUTSIDER, False, False),
        (OTHER_TEAM, False, False),
        (COORDINATOR, False, True),
        (MEMBER, True, True),
        (OUTSIDER, True, True),
        (OTHER_TEAM, True, True),
        (COORDINATOR, True, True),
    ],
)
def test_team_names_show_to_the_team_coordinators_and_everyone_once_published(
    viewer, published, sees
):
    frame = lab_view(TAKEN, viewer, {**OPEN, "published": published}, NOW)

    assert frame["team"] == ("Team 7: Ann, Bob" if sees else None)
    assert frame["description"] == ("Drone" if sees else None)
    assert frame["mine"] is (viewer is MEMBER)
    assert (frame["state"], frame["available"]) == ("taken", False)


def test_a_free_slot_has_no_team_for_anyone():
    assert team_visible(holder_id=None, viewer=COORDINATOR, published=True) is False
    assert lab_view(facts(), COORDINATOR, OPEN, NOW)["team"] is None


@pytest.mark.parametrize(
    ("slot", "window", "state", "available"),
    [
        (facts(), OPEN, "free", True),
        (facts(ts=NOW + HOUR - 1), OPEN, "free", False),  # inside the cut-off
        (facts(ts=NOW - 1), OPEN, "past", False),
        (facts(open=False), OPEN, "closed", False),
        (facts(), {**OPEN, "switch": False}, "free", False),
        (facts(), {**OPEN, "opens": NOW + 1}, "free", False),
        (facts(), {**OPEN, "closes": NOW}, "free", False),
        (facts(), {**OPEN, "opens": NOW, "closes": NOW + 1}, "free", True),
        (facts(ts=NOW - 1, project=7), OPEN, "past", False),
        (facts(open=False, project=7), OPEN, "taken", False),
    ],
)
def test_state_and_availability_follow_the_shared_rule(slot, window, state, available):
    frame = lab_view(slot, OUTSIDER, window, NOW)

    assert (frame["state"], frame["available"]) == (state, available)


def test_a_removed_slot_is_removed_for_everyone():
    frame = lab_view(selectors.removed_facts(12), MEMBER, OPEN, NOW)

    assert frame == {
        "type": "lab",
        "id": 12,
        "state": "removed",
        "available": False,
        "mine": False,
        "team": None,
        "description": None,
    }


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"start": NOW - 1, "is_open": False, "taken": True}, "slot_past"),
        ({"start": NOW + 2 * HOUR, "is_open": False, "taken": True}, "slot_taken"),
        ({"start": NOW + 2 * HOUR, "is_open": False, "taken": False}, "slot_closed"),
        ({"start": NOW + 30, "is_open": True, "taken": False}, "slot_cutoff"),
    ],
)
def test_refusals_come_in_a_fixed_order(kwargs, reason):
    assert slot_refusal(**kwargs, booking_open=True, now=NOW) == reason


def test_booking_closed_comes_before_the_cutoff():
    refusal = slot_refusal(
        start=NOW + 30, is_open=True, taken=False, booking_open=False, now=NOW
    )

    assert refusal == "booking_closed"


def test_one_changed_slot_is_one_lab_frame_and_several_are_one_labs_frame():
    one = {"type": "labs.update", "labs": [facts()], "window": OPEN}
    two = {"type": "labs.update", "labs": [facts(), facts(id=13)], "window": OPEN}

    (single,) = frames_for_viewer(one, OUTSIDER, NOW)
    (several,) = frames_for_viewer(two, OUTSIDER, NOW)

    assert single["type"] == "lab"
    assert several["type"] == "labs"
    assert [frame["id"] for frame in several["labs"]] == [12, 13]


def test_a_window_change_sends_the_window_first():
    event = {
        "type": "labs.update",
        "labs": [facts()],
        "window": OPEN,
        "window_frame": {"type": "window", "published": True},
    }

    frames = frames_for_viewer(event, OUTSIDER, NOW)

    assert [frame["type"] for frame in frames] == ["window", "lab"]


@pytest.mark.django_db
def test_the_event_carries_the_facts_and_filtering_it_costs_no_query(
    alice, bob, django_assert_num_queries
):
    lab = LabFactory()
    project = make_team(alice, bob, description="Drone", lab=lab)

    # the slots with their teams' members, the window
    with django_assert_num_queries(2):
        event = labs_event([lab.pk, 999_999])
    with django_assert_num_queries(0):
        frames = frames_for_viewer(
            event,
            Viewer(user_id=bob.pk, project_id=project.pk, is_coordinator=False),
            timezone.now().timestamp(),
        )

    (frame,) = frames
    assert frame["type"] == "labs"
    mine, gone = frame["labs"]
    assert mine["team"] == f"Team {project.pk}: Alice, Bob"
    assert mine["mine"] is True
    assert mine["start"] == timezone.localtime(lab.start).isoformat()
    assert gone == lab_view(selectors.removed_facts(999_999), OUTSIDER, OPEN, 0)


@pytest.mark.django_db
def test_a_socket_loads_its_viewer_in_one_query(alice, dana, django_assert_num_queries):
    project = make_team(alice)

    with django_assert_num_queries(1):
        viewer = selectors.viewer_get(user=alice)
    # a coordinator: and the Coordinators group
    with django_assert_num_queries(2):
        coordinator = selectors.viewer_get(user=dana)

    assert viewer == Viewer(
        user_id=alice.pk, project_id=project.pk, is_coordinator=False
    )
    assert coordinator.project_id is None
    assert coordinator.is_coordinator is True


@pytest.mark.django_db
def test_the_page_and_the_frames_agree(alice, charlie, client):
    """The board page's rows are the frames a socket would send."""
    lab = LabFactory()
    make_team(alice, lab=lab, description="Drone")
    LabFactory(start=timezone.now() + timedelta(days=4))
    client.force_login(charlie)
    viewer = selectors.viewer_get(user=charlie)

    rows = client.get("/labs/").context["rows"]
    event = labs_event([row["id"] for row in rows])
    (frame,) = frames_for_viewer(event, viewer, timezone.now().timestamp())

    assert rows == frame["labs"]


@pytest.mark.django_db
def test_renaming_a_member_sends_the_teams_slot_again(
    alice, django_capture_on_commit_callbacks
):
    lab = LabFactory()
    make_team(alice, lab=lab)
    alice.preferred_name = "Ali"

    with django_capture_on_commit_callbacks() as callbacks:
        alice.save(update_fields=["preferred_name"])
    with django_capture_on_commit_callbacks() as sign_in:
        alice.save(update_fields=["last_login"])

    # The board's one frame; the chat tells the user's sockets too.
    board = [
        c
        for c in callbacks
        if getattr(getattr(c, "func", c), "__module__", "").startswith("projects")
    ]
    assert len(board) == 1
    assert sign_in == []
    event = labs_event([lab.pk])
    assert event["labs"][0]["team"].endswith(": Ali")


@pytest.mark.django_db
def test_deleting_free_slots_sends_removed_frames(
    dana, alice, django_capture_on_commit_callbacks
):
    from django.core.exceptions import ValidationError

    from projects import services

    free, booked = LabFactory(), LabFactory()
    make_team(alice, lab=booked)
    free_id = free.pk

    with django_capture_on_commit_callbacks() as callbacks:
        services.labs_delete(actor=dana, labs=[free])
    with pytest.raises(ValidationError):
        services.labs_delete(actor=dana, labs=[booked])

    assert len(callbacks) == 1
    (frame,) = frames_for_viewer(labs_event([free_id]), OUTSIDER, NOW)
    assert frame["state"] == "removed"


def test_events_queued_together_merge_and_keep_the_viewer_changes_in_order():
    from projects.realtime import merge

    first = {"type": "labs.update", "labs": [facts()], "window": OPEN, "version": 5}
    second = {
        "type": "labs.update",
        "labs": [facts(project=7), facts(id=13)],
        "window": {**OPEN, "published": True},
        "version": 6,
    }
    viewers = {"type": "labs.viewers", "viewers": [[1, 7]]}
    third = {
        "type": "labs.update",
        "labs": [facts(id=14)],
        "window": OPEN,
        "version": 7,
    }

    merged = merge([first, second, viewers, third])

    assert [event["type"] for event in merged] == [
        "labs.update",
        "labs.viewers",
        "labs.update",
    ]
    slots = {slot["id"]: slot for slot in merged[0]["labs"]}
    assert slots[12]["project"] == 7  # the latest facts win
    assert set(slots) == {12, 13}
    assert merged[0]["window"]["published"] is True
    assert (merged[0]["first_version"], merged[0]["version"]) == (5, 6)


def test_ballot_changes_queued_together_merge_into_one():
    from projects.realtime import merge

    ballot = {"type": "labs.ballot"}
    update = {"type": "labs.update", "labs": [facts()], "window": OPEN, "version": 5}

    merged = merge([ballot, ballot, update, ballot])

    assert [event["type"] for event in merged] == [
        "labs.ballot",
        "labs.update",
        "labs.ballot",
    ]


@pytest.mark.django_db
def test_a_merged_event_patches_a_copy_inside_its_version_range():
    from projects import board_cache

    lab = LabFactory()
    board_cache.upcoming()
    current = board_cache.version()
    moved = {**board_cache.upcoming()[0], "open": False}

    board_cache.apply(
        {
            "type": "labs.update",
            "labs": [moved],
            "first_version": current,
            "version": current + 2,
        }
    )

    assert board_cache._copy.version == current + 2
    assert board_cache._copy.by_id[lab.pk]["open"] is False
