"""The coordinator's tools (issue 19): pair the leftovers, place the unbooked,
tell a segment. Previews change nothing; applying goes through the services
and obeys every rule; odd numbers and "nothing to do" are handled."""

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.permissions import CoordinatorRequired
from chat.models import Room
from notifications.models import EmailPreference, Kind, Notification
from notifications.tests.conftest import run_worker
from projects import coordinator_tools as tools
from projects import services
from projects.models import (
    Announcement,
    BookingRecord,
    BookingWindow,
    Lab,
    Membership,
    Project,
)
from projects.tests.factories import (
    CoordinatorFactory,
    LabFactory,
    StudentFactory,
    lab_starting_in,
    local_at,
    make_team,
)

pytestmark = pytest.mark.django_db
VIA = BookingRecord.Via.PAGE


def student(number: str, **flags):
    return StudentFactory(username=number, first_name=f"S{number[-2:]}", **flags)


def state() -> tuple:
    """Everything a tool could change."""
    return (
        list(Project.objects.order_by("pk").values_list("pk", "lab_id")),
        list(Membership.objects.order_by("pk").values_list("user_id", "project_id")),
        BookingRecord.objects.count(),
        Notification.objects.count(),
        Announcement.objects.count(),
        Room.objects.count(),
    )


def numbers(team) -> list[str]:
    return [person.username for person in team]


@pytest.fixture(autouse=True)
def window():
    return BookingWindow.get()


# Pairing ------------------------------------------------------------------


def test_pairing_pairs_each_flag_with_its_own_kind_first_by_student_number(dana):
    for number in ("40000004", "40000002", "40000006"):
        student(number, please_assign_me=True)
    for number in ("40000003", "40000001", "40000005"):
        student(number, looking_for_partner=True)
    student("40000009")  # asked for nothing

    plan = tools.pairing_plan(scope=tools.Scope.FLAGGED)

    assert [numbers(team) for team in plan.teams] == [
        ["40000002", "40000004"],
        ["40000001", "40000003"],
        # What is left of each group pairs up together.
        ["40000006", "40000005"],
    ]
    assert plan.left_out == []
    assert plan.not_asked == 1


def test_the_second_choice_pairs_every_free_student_after_those_who_asked(dana):
    student("40000001", please_assign_me=True)
    student("40000002", please_assign_me=True)
    student("40000003", looking_for_partner=True)
    student("40000004")
    student("40000005")
    make_team(student("40000006"))  # not free

    plan = tools.pairing_plan(scope=tools.Scope.ALL)

    assert [numbers(team) for team in plan.teams] == [
        ["40000001", "40000002"],
        ["40000004", "40000005"],
    ]
    assert [(p.username, reason) for p, reason in plan.left_out] == [
        ("40000003", tools.ODD_ONE_OUT)
    ]
    assert plan.not_asked == 0


def test_a_student_with_both_flags_counts_as_please_assign_me(dana):
    student("40000001", please_assign_me=True, looking_for_partner=True)
    student("40000002", looking_for_partner=True)
    student("40000003", please_assign_me=True)

    plan = tools.pairing_plan()

    assert [numbers(team) for team in plan.teams] == [["40000001", "40000003"]]
    assert [p.username for p, _ in plan.left_out] == ["40000002"]


def test_coordinators_and_inactive_students_are_never_paired(dana):
    student("40000001", please_assign_me=True)
    student("40000002", please_assign_me=True, is_active=False)
    CoordinatorFactory(please_assign_me=True)

    plan = tools.pairing_plan(scope=tools.Scope.ALL)

    assert plan.teams == []
    assert [p.username for p, _ in plan.left_out] == ["40000001"]


def test_previewing_a_pairing_changes_nothing(dana, django_capture_on_commit_callbacks):
    for n in range(1, 6):
        student(f"4000000{n}", please_assign_me=True)
    before = state()

    with django_capture_on_commit_callbacks() as callbacks:
        plan = tools.pairing_plan()

    assert len(plan.teams) == 2
    assert state() == before
    assert callbacks == []


def test_applying_makes_the_previewed_teams_through_the_services(
    dana, django_capture_on_commit_callbacks
):
    for n in range(1, 6):
        student(f"4000000{n}", please_assign_me=True)
    preview = tools.pairing_plan()

    with django_capture_on_commit_callbacks(execute=True):
        result = tools.pairings_apply(actor=dana, via=VIA, expected=preview.key)

    made = [(project.pk, numbers(team)) for project, team in result.made]
    assert [team for _, team in made] == [numbers(t) for t in preview.teams]
    for project_id, team in made:
        members = Membership.objects.filter(project_id=project_id)
        assert sorted(members.values_list("user__username", flat=True)) == team
        assert Room.objects.filter(slug=f"team-{project_id}").exists()
        project = Project.objects.get(pk=project_id)
        assert project.description == tools.PAIRED_DESCRIPTION
        assert project.lab is None
    # The odd one out is listed, not added to a full team, and stays free.
    assert [(p.username, r) for p, r in result.not_paired] == [
        ("40000005", tools.ODD_ONE_OUT)
    ]
    assert not Membership.objects.filter(user__username="40000005").exists()
    # A full team's members no longer ask to be assigned.
    assert list(
        Project.objects.get(pk=made[0][0]).memberships.values_list(
            "user__please_assign_me", flat=True
        )
    ) == [False, False]


def test_each_paired_student_is_told_who_their_partner_is(
    dana, django_capture_on_commit_callbacks
):
    ann = student("40000001", please_assign_me=True)
    bob = student("40000002", please_assign_me=True)

    with django_capture_on_commit_callbacks(execute=True):
        ((project, _),) = tools.pairings_apply(actor=dana, via=VIA).made

    told_ann = Notification.objects.filter(user=ann).order_by("pk")
    told_bob = Notification.objects.filter(user=bob)
    assert [n.kind for n in told_ann] == [Kind.MEMBER_ADDED, Kind.TEAMMATE_ADDED]
    assert f"added {bob.display_name} to Team {project.pk}" in told_ann[1].text
    assert [n.kind for n in told_bob] == [Kind.MEMBER_ADDED]
    assert f"Team {project.pk}: {ann.display_name}" in told_bob[0].text
    assert "(coordinator)" in told_bob[0].text
    assert not Notification.objects.filter(user=dana).exists()


def test_an_odd_number_leaves_one_student_listed_and_free(dana):
    for n in range(1, 4):
        student(f"4000000{n}", looking_for_partner=True)

    result = tools.pairings_apply(actor=dana, via=VIA)

    assert len(result.made) == 1
    assert [p.username for p, _ in result.not_paired] == ["40000003"]
    assert Membership.objects.count() == 2


@pytest.mark.parametrize(
    ("free", "teams", "left_out"),
    [
        (7, [3, 3], 1),  # a remainder of one is listed
        (8, [3, 3, 2], 0),  # a remainder of two makes a team with room for one
        (6, [3, 3], 0),
    ],
)
def test_bigger_teams_fill_to_their_size_first(settings, dana, free, teams, left_out):
    settings.PAIRUP_TEAM_SIZE = 3
    for n in range(free):
        student(f"400000{n:02d}", please_assign_me=True)

    result = tools.pairings_apply(actor=dana, via=VIA)

    assert [len(team) for _, team in result.made] == teams
    assert len(result.not_paired) == left_out
    for project, team in result.made:
        assert project.memberships.count() == len(team) <= 3


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("none", "no free student asked"),
        ("one", "only one free student is left"),
        ("unflagged", "no free student asked"),
    ],
)
def test_nothing_to_pair_is_refused_and_changes_nothing(dana, setup, message):
    if setup == "one":
        student("40000001", please_assign_me=True)
    if setup == "unflagged":
        student("40000001")
        student("40000002")
    before = state()

    with pytest.raises(ValidationError, match=message) as caught:
        tools.pairings_apply(actor=dana, via=VIA)

    assert caught.value.code == "nothing_to_do"
    assert state() == before


def test_every_student_having_a_project_is_nothing_to_do(dana, team):
    with pytest.raises(ValidationError, match="every student has a project"):
        tools.pairings_apply(actor=dana, scope=tools.Scope.ALL, via=VIA)


def test_applying_a_stale_preview_is_refused(dana):
    first = student("40000001", please_assign_me=True)
    student("40000002", please_assign_me=True)
    student("40000003", please_assign_me=True)
    preview = tools.pairing_plan()
    make_team(student("40000004"))  # not in the plan: the plan stays the same
    assert tools.pairing_plan().key == preview.key
    make_team(first)  # in the plan: the plan changes
    before = state()

    with pytest.raises(ValidationError) as caught:
        tools.pairings_apply(actor=dana, via=VIA, expected=preview.key)

    assert caught.value.code == "plan_changed"
    assert state() == before


def test_a_student_who_paired_meanwhile_costs_only_their_own_team(dana, monkeypatch):
    for n in range(1, 5):
        student(f"4000000{n}", please_assign_me=True)
    stale = tools.pairing_plan()
    make_team(student("40000099"), student("40000003"))  # 40000003 pairs first
    monkeypatch.setattr(tools, "pairing_plan", lambda scope: stale)

    result = tools.pairings_apply(actor=dana, via=VIA)

    assert [numbers(team) for _, team in result.made] == [["40000001", "40000002"]]
    paired_first = stale.teams[1][0]
    assert paired_first.username == "40000003"
    assert {p.username for p, _ in result.not_paired} == {"40000003", "40000004"}
    assert {r for _, r in result.not_paired} == {
        f"Not paired: {paired_first} joined a team meanwhile."
    }
    # 40000004's team was rolled back whole: no half-made project.
    assert not Membership.objects.filter(user__username="40000004").exists()
    assert Project.objects.filter(description=tools.PAIRED_DESCRIPTION).count() == 1


def test_only_coordinators_may_pair(alice):
    student("40000001", please_assign_me=True)
    student("40000002", please_assign_me=True)

    with pytest.raises(CoordinatorRequired, match="Only coordinators may do this"):
        tools.pairings_apply(actor=alice, via=VIA)
    assert Project.objects.count() == 0


def test_pairing_works_while_team_changes_are_closed(dana, window):
    window.team_changes_open = False
    window.save()
    student("40000001", please_assign_me=True)
    student("40000002", please_assign_me=True)

    result = tools.pairings_apply(actor=dana, via=VIA)

    assert len(result.made) == 1


# Placing ------------------------------------------------------------------


def slot(days: int, hour: int, room: str = "Lab A", **fields) -> Lab:
    start = local_at(days, hour)
    return LabFactory(
        room=room, start=start, end=start + timedelta(minutes=15), **fields
    )


def test_placing_gives_teams_the_earliest_free_slots_rooms_side_by_side(dana):
    teams = [make_team(StudentFactory()) for _ in range(3)]
    late = slot(5, 10, "Lab A")
    b9 = slot(5, 9, "Lab B")
    a9 = slot(5, 9, "Lab A")
    make_team(StudentFactory(), lab=slot(4, 9))  # taken: never offered

    plan = tools.placement_plan()

    assert [(team.id, lab.id) for team, lab in plan.placed] == [
        (teams[0].pk, a9.pk),
        (teams[1].pk, b9.pk),
        (teams[2].pk, late.pk),
    ]
    assert plan.not_placed == []


def test_placing_never_uses_past_closed_or_too_late_slots(dana):
    team = make_team(StudentFactory())
    lab_starting_in(-10)
    lab_starting_in(30)  # inside the 60-minute cut-off
    slot(5, 9, is_open=False)

    plan = tools.placement_plan()

    assert plan.placed == []
    assert [t.id for t, _ in plan.not_placed] == [team.pk]
    assert "starts more than 60 minutes from now" in plan.not_placed[0][1]


def test_placing_filters_by_day_and_room(dana):
    team = make_team(StudentFactory())
    slot(3, 9, "Lab A")
    wanted = slot(4, 11, "Lab B")
    slot(4, 9, "Lab A")
    day = timezone.localtime(wanted.start).date()

    by_both = tools.placement_plan(day=day, room="Lab B")
    by_day = tools.placement_plan(day=day)
    by_room = tools.placement_plan(room="Lab B")

    assert [(t.id, s.id) for t, s in by_both.placed] == [(team.pk, wanted.pk)]
    assert by_day.placed[0][1].start == local_at(4, 9)
    assert by_room.placed[0][1].id == wanted.pk
    nowhere = tools.placement_plan(day=day, room="Lab C")
    assert "on " in nowhere.not_placed[0][1]
    assert "in Lab C" in nowhere.not_placed[0][1]


def test_previewing_a_placement_changes_nothing(
    dana, django_capture_on_commit_callbacks
):
    make_team(StudentFactory())
    slot(5, 9)
    before = state()

    with django_capture_on_commit_callbacks() as callbacks:
        tools.placement_plan()

    assert state() == before
    assert callbacks == []


def test_applying_books_each_team_through_the_service_and_tells_it(
    dana, django_capture_on_commit_callbacks
):
    ann, bob = StudentFactory(), StudentFactory()
    team = make_team(ann, bob)
    lab = slot(5, 9)
    preview = tools.placement_plan()

    with django_capture_on_commit_callbacks(execute=True):
        result = tools.placements_apply(actor=dana, via=VIA, expected=preview.key)

    assert [(t.id, s.id) for t, s in result.placed] == [(team.pk, lab.pk)]
    team.refresh_from_db()
    assert team.lab_id == lab.pk
    record = BookingRecord.objects.get(to_lab=lab)
    assert (record.action, record.via, record.actor_username) == (
        "book",
        "page",
        dana.username,
    )
    for member in (ann, bob):
        (told,) = Notification.objects.filter(user=member, kind=Kind.SLOT_BOOKED)
        assert "(coordinator) booked the lab slot" in told.text


def test_more_teams_than_slots_lists_the_rest(dana):
    teams = [make_team(StudentFactory()) for _ in range(3)]
    labs = [slot(5, 9), slot(5, 10)]

    result = tools.placements_apply(actor=dana, via=VIA)

    assert [(t.id, s.id) for t, s in result.placed] == [
        (teams[0].pk, labs[0].pk),
        (teams[1].pk, labs[1].pk),
    ]
    assert [(t.id, r) for t, r in result.not_placed] == [
        (teams[2].pk, tools.NO_SLOT_LEFT)
    ]
    assert Project.objects.get(pk=teams[2].pk).lab is None


@pytest.mark.parametrize("setup", ["no_teams", "no_slots"])
def test_nothing_to_place_is_refused_and_changes_nothing(dana, setup):
    if setup == "no_teams":
        make_team(StudentFactory(), lab=slot(5, 9))
        slot(5, 10)
    else:
        make_team(StudentFactory())
    before = state()

    with pytest.raises(ValidationError) as caught:
        tools.placements_apply(actor=dana, via=VIA)

    assert caught.value.code == "nothing_to_do"
    expected = "every team has a slot" if setup == "no_teams" else "No free open slot"
    assert expected in caught.value.messages[0]
    assert state() == before


def test_a_slot_taken_meanwhile_is_skipped_for_the_next_free_one(dana, monkeypatch):
    first, second = make_team(StudentFactory()), make_team(StudentFactory())
    a, b, c = slot(5, 9), slot(5, 10), slot(5, 11)
    stale = tools.placement_plan()
    rival = make_team(StudentFactory())
    services.lab_book(user=dana, project=rival, lab=a)
    monkeypatch.setattr(tools, "placement_plan", lambda day, room: stale)

    result = tools.placements_apply(actor=dana, via=VIA)

    assert [(t.id, s.id) for t, s in result.placed] == [
        (first.pk, b.pk),
        (second.pk, c.pk),
    ]
    assert Project.objects.filter(lab=a).get().pk == rival.pk


def test_a_team_that_booked_meanwhile_is_reported_and_keeps_its_slot(dana, monkeypatch):
    first, second = make_team(StudentFactory()), make_team(StudentFactory())
    a, _ = slot(5, 9), slot(5, 10)
    own = slot(6, 9)
    stale = tools.placement_plan()
    services.lab_book(user=first.memberships.get().user, project=first, lab=own)
    monkeypatch.setattr(tools, "placement_plan", lambda day, room: stale)

    result = tools.placements_apply(actor=dana, via=VIA)

    assert [(t.id, r) for t, r in result.not_placed] == [
        (
            first.pk,
            f"Not placed: Team {first.pk}: "
            f"{first.memberships.get().user.display_name} booked a slot meanwhile.",
        )
    ]
    # Its planned slot goes to the next team.
    assert [(t.id, s.id) for t, s in result.placed] == [(second.pk, a.pk)]
    assert Project.objects.get(pk=first.pk).lab_id == own.pk


def test_applying_a_stale_placement_preview_is_refused(dana):
    make_team(StudentFactory())
    lab = slot(5, 9)
    preview = tools.placement_plan()
    make_team(StudentFactory(), lab=lab)

    with pytest.raises(ValidationError) as caught:
        tools.placements_apply(actor=dana, via=VIA, expected=preview.key)

    assert caught.value.code == "plan_changed"


def test_placing_works_while_booking_is_closed(dana, window):
    window.booking_open = False
    window.save()
    make_team(StudentFactory())
    slot(5, 9)

    result = tools.placements_apply(actor=dana, via=VIA)

    assert len(result.placed) == 1


def test_only_coordinators_may_place(alice):
    make_team(StudentFactory())
    slot(5, 9)

    with pytest.raises(CoordinatorRequired, match="Only coordinators may do this"):
        tools.placements_apply(actor=alice, via=VIA)


# Announcements ------------------------------------------------------------


@pytest.fixture
def unit():
    """Two free students, a team without a slot, teams on two days in two
    rooms."""
    free = [StudentFactory(), StudentFactory()]
    unbooked = make_team(StudentFactory(), StudentFactory())
    day_one = make_team(StudentFactory(), lab=slot(3, 9, "Lab A"))
    day_two_a = make_team(StudentFactory(), StudentFactory(), lab=slot(4, 9, "Lab A"))
    day_two_b = make_team(StudentFactory(), lab=slot(4, 9, "Lab B"))
    return {
        "free": free,
        "unbooked": unbooked,
        "day_one": day_one,
        "day_two_a": day_two_a,
        "day_two_b": day_two_b,
        "day_two": local_at(4, 9).date(),
    }


def members(*projects) -> set[int]:
    return set(
        Membership.objects.filter(project__in=projects).values_list(
            "user_id", flat=True
        )
    )


def test_each_segment_reaches_its_students(dana, unit):
    day_two = unit["day_two"]

    def reached(**segment):
        return set(tools.audience_students(**segment).values_list("pk", flat=True))

    assert len(reached(segment="everyone")) == 8
    assert reached(segment="without_project") == {u.pk for u in unit["free"]}
    assert reached(segment="without_slot") == members(unit["unbooked"])
    assert reached(segment="slot", day=day_two) == members(
        unit["day_two_a"], unit["day_two_b"]
    )
    assert reached(segment="slot", room="Lab A") == members(
        unit["day_one"], unit["day_two_a"]
    )
    assert reached(segment="slot", day=day_two, room="Lab B") == members(
        unit["day_two_b"]
    )


def test_the_preview_counts_who_is_reached_and_who_by_email(dana, unit):
    (first, second) = unit["free"]
    EmailPreference.objects.create(user=first, category="announcements", email=True)
    second.email = ""
    second.save()
    EmailPreference.objects.create(user=second, category="announcements", email=True)
    before = state()

    audience = tools.audience_preview(segment="without_project")

    assert audience.students == 2
    assert audience.by_email == 1  # the other has no address
    assert audience.label == "Students without a project"
    assert state() == before
    label = tools.audience_preview(
        segment="slot", day=date(2099, 5, 20), room="Lab B"
    ).label
    assert label == "Teams presenting on Wed 20 May 2099 in Lab B"


def test_posting_tells_the_segment_in_the_page_and_by_email_and_keeps_it(
    dana, unit, django_capture_on_commit_callbacks
):
    reached = members(unit["day_two_a"], unit["day_two_b"])
    wants_email = Membership.objects.filter(project=unit["day_two_b"]).get().user
    EmailPreference.objects.create(
        user=wants_email, category="announcements", email=True
    )

    with django_capture_on_commit_callbacks(execute=True):
        announcement = tools.announcement_post(
            actor=dana,
            segment="slot",
            day=unit["day_two"],
            message="  Bring your poster.  ",
        )
    run_worker()

    told = Notification.objects.filter(kind=Kind.ANNOUNCEMENT)
    assert set(told.values_list("user_id", flat=True)) == reached
    assert all(n.text.endswith(": Bring your poster.") for n in told)
    assert {n.link for n in told} == {"/schedule/"}
    assert [m.to for m in mail.outbox] == [[wants_email.email]]
    assert (announcement.recipients, announcement.by_email) == (3, 1)
    assert announcement.message == "Bring your poster."
    assert announcement.audience.startswith("Teams presenting on ")
    assert tools.announcement_list() == [announcement]


def test_a_segment_that_reaches_nobody_is_refused(dana, unit):
    with pytest.raises(ValidationError) as caught:
        tools.announcement_post(
            actor=dana, segment="slot", room="Nowhere", message="Hello"
        )

    assert caught.value.code == "no_recipients"
    assert "Nobody to tell" in caught.value.messages[0]
    assert Announcement.objects.count() == 0
    assert Notification.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"segment": "everyone", "message": "   "}, "message"),
        ({"segment": "everyone", "message": "x" * 901}, "message"),
        ({"segment": "slot", "message": "Hi"}, "day"),
        ({"segment": "teachers", "message": "Hi"}, "segment"),
    ],
)
def test_bad_announcements_say_what_is_wrong_and_send_nothing(
    dana, unit, fields, field
):
    with pytest.raises(ValidationError) as caught:
        tools.announcement_post(actor=dana, **fields)

    assert field in caught.value.message_dict
    assert Announcement.objects.count() == 0
    assert Notification.objects.count() == 0


def test_only_coordinators_may_announce(alice, unit):
    with pytest.raises(CoordinatorRequired, match="Only coordinators may do this"):
        tools.announcement_post(actor=alice, segment="everyone", message="Hi")


def test_the_day_segment_uses_local_days(dana, settings):
    settings.TIME_ZONE = "Australia/Perth"
    timezone.activate("Australia/Perth")
    try:
        # 23:30 local on 20 May is 15:30 UTC the same day; 00:30 local on 21
        # May is 16:30 UTC on 20 May.
        late = make_team(
            StudentFactory(),
            lab=LabFactory(
                start=datetime(2099, 5, 20, 15, 30, tzinfo=UTC),
                end=datetime(2099, 5, 20, 15, 45, tzinfo=UTC),
            ),
        )
        make_team(
            StudentFactory(),
            lab=LabFactory(
                start=datetime(2099, 5, 20, 16, 30, tzinfo=UTC),
                end=datetime(2099, 5, 20, 16, 45, tzinfo=UTC),
            ),
        )

        reached = tools.audience_students(segment="slot", day=date(2099, 5, 20))

        assert set(reached.values_list("pk", flat=True)) == members(late)
    finally:
        timezone.deactivate()
