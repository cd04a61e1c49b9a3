"""The coordinator page at the size of a real unit (issue 19): one table of
students with filters, search and pages; the pictures; the tools' pages
(preview, then apply); announcements; the live parts; its query budget."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from notifications.models import Kind, Notification
from projects import coordinator_tools as tools
from projects import selectors
from projects.models import Announcement, BookingWindow, Membership, Project
from projects.tests.factories import LabFactory, StudentFactory, make_team

pytestmark = pytest.mark.django_db
PAGE = reverse("projects:coordinator")
LIVE = reverse("projects:coordinator_live")
PAIRINGS = reverse("projects:coordinator_pairings")
PLACEMENTS = reverse("projects:coordinator_placements")
ANNOUNCEMENTS = reverse("projects:coordinator_announcements")
ROSTER_CSV = reverse("projects:coordinator_roster_csv")


@pytest.fixture(autouse=True)
def window():
    return BookingWindow.get()


@pytest.fixture
def coordinator(client, dana):
    client.force_login(dana)
    return client


def roster_numbers(response) -> list[str]:
    return [row["student"].username for row in response.context["roster_rows"]]


def import_roster(count: int) -> list[User]:
    """Students as `import_students` makes them (no password), in bulk."""
    return User.objects.bulk_create(
        User(
            username=f"{50000000 + n}",
            first_name=f"Given{n:03d}",
            last_name=f"Family{n:03d}",
            email=f"{50000000 + n}@student.example.edu",
            password="!",
            please_assign_me=n % 7 == 0,
            looking_for_partner=n % 5 == 0,
        )
        for n in range(count)
    )


def test_a_real_roster_is_one_400_row_table(coordinator):
    import_roster(400)

    response = coordinator.get(PAGE, {"per_page": 500})

    html = response.text
    start = html.index('data-testid="roster"')
    table = html[start : html.index("</table>", start)]
    assert table.count('<tr data-number="') == 400
    assert "Students 1&ndash;400 of 400, by last name." in html
    assert response.context["counts"]["students"] == 400


def test_a_filter_gone_stale_keeps_the_chosen_page_size(coordinator):
    """A day filter that is no longer offered (the page left open past
    midnight, its live updates asking with yesterday) is shown as an error;
    the page size the coordinator chose still holds."""
    import_roster(150)

    response = coordinator.get(LIVE, {"per_page": 200, "day": "2001-01-01"})

    assert len(response.context["roster_rows"]) == 150
    assert response.context["roster_form"].errors["day"]


def test_the_table_pages_a_hundred_at_a_time(coordinator):
    import_roster(250)

    first = coordinator.get(PAGE)
    last = coordinator.get(PAGE, {"page": 3})

    assert len(first.context["roster_rows"]) == 100
    assert 'aria-label="Pages of students"' in first.text
    assert 'href="?page=2"' in first.text
    assert len(last.context["roster_rows"]) == 50
    assert roster_numbers(last)[-1] == "50000249"
    # A page past the end shows the last one, never an error.
    assert roster_numbers(coordinator.get(PAGE, {"page": 99})) == roster_numbers(last)


def test_the_table_filters_by_flag_status_day_and_room_and_finds_by_name_or_number(
    coordinator,
):
    StudentFactory(username="51000001", last_name="Quill", please_assign_me=True)
    StudentFactory(username="51000002", looking_for_partner=True)
    start = (timezone.now() + timedelta(days=5)).replace(microsecond=0)
    lab = LabFactory(room="Lab Z", start=start, end=start + timedelta(minutes=10))
    make_team(StudentFactory(username="51000003"), lab=lab)
    unbooked = make_team(StudentFactory(username="51000004"), StudentFactory())

    def numbers(**filters):
        return set(roster_numbers(coordinator.get(PAGE, filters)))

    assert numbers(flag="assign") == {"51000001"}
    assert numbers(flag="looking") == {"51000002"}
    assert numbers(flag="either") == {"51000001", "51000002"}
    assert numbers(status="free") == {"51000001", "51000002"}
    assert numbers(status="booked") == {"51000003"}
    assert numbers(status="unbooked") == {
        m.user.username for m in unbooked.memberships.all()
    }
    assert numbers(status="full") == numbers(status="unbooked")
    assert numbers(status="partial") == {"51000003"}
    day = timezone.localtime(start).date().isoformat()
    assert numbers(day=day) == {"51000003"}
    assert numbers(room="Lab Z", day=day) == {"51000003"}
    assert numbers(q="quil") == {"51000001"}
    assert numbers(q="51000002") == {"51000002"}


def test_a_filter_that_no_longer_applies_is_shown_as_an_error_not_a_failure(
    coordinator,
):
    StudentFactory()

    response = coordinator.get(PAGE, {"day": "2001-01-01", "status": "free"})

    assert response.status_code == 200
    assert response.context["roster_form"].errors["day"]
    assert 'aria-invalid="true"' in response.text
    assert len(response.context["roster_rows"]) == 1  # the status still applies


def test_each_row_links_to_what_a_coordinator_can_do(coordinator, alice, bob, team):
    free = StudentFactory(username="52000001")

    html = coordinator.get(PAGE).text

    assert reverse("admin:accounts_user_change", args=[free.pk]) in html
    assert f"{reverse('admin:projects_project_add')}?first_member=52000001" in html
    assert reverse("admin:projects_project_change", args=[team.pk]) in html
    assert reverse("chat:room_detail", args=[f"team-{team.pk}"]) in html
    assert 'Account<span class="visually-hidden"> of 52000001</span>' in html


def test_start_a_team_opens_the_admin_form_with_the_number_filled_in(coordinator):
    response = coordinator.get(
        reverse("admin:projects_project_add"), {"first_member": "52000001"}
    )

    assert 'value="52000001"' in response.text


def build_unit(students: int) -> None:
    """A unit: full teams with slots, teams without, free students, slots on
    two days in two rooms, booking records, an announcement."""
    start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)
    for n in range(students // 4):
        lab = LabFactory(
            room=f"Room {n % 2}",
            start=start + timedelta(days=n % 2, minutes=15 * n),
            end=start + timedelta(days=n % 2, minutes=15 * n + 10),
        )
        make_team(StudentFactory(), StudentFactory(), lab=lab if n % 2 else None)
        StudentFactory(please_assign_me=n % 3 == 0)
        StudentFactory()
    Announcement.objects.create(
        author_name="Dana",
        message="Hi",
        audience="Every student",
        recipients=1,
        by_email=0,
    )


# session, user, coordinator group; the counts (team sizes, teams, students,
# free slots); the pictures (slots by day and room, memberships, booking
# records); the table (its count, its page, the page's teams' members); the
# announcements; the bell's unread count; the booking window (the ballot's
# section: first come here, so nothing more)
PAGE_QUERIES = 16


@pytest.mark.parametrize("students", [12, 400])
def test_the_page_costs_the_same_queries_at_any_size(
    coordinator, students, django_assert_num_queries
):
    build_unit(students)

    with django_assert_num_queries(PAGE_QUERIES):
        response = coordinator.get(PAGE, {"per_page": 500})

    assert len(response.context["roster_rows"]) == students


@pytest.mark.parametrize("students", [12, 400])
def test_the_live_parts_cost_the_same_queries_at_any_size(
    coordinator, students, django_assert_num_queries
):
    build_unit(students)

    # the page's, less the announcements and the bell
    with django_assert_num_queries(PAGE_QUERIES - 2):
        response = coordinator.get(LIVE, {"per_page": 500, "status": "full"})

    assert response.status_code == 200
    assert response.text.count('data-live-part="') == 3  # counts, ballot, table
    assert 'data-testid="counts"' in response.text
    assert "<html" not in response.text  # a fragment, no navbar
    assert len(response.context["roster_rows"]) == students // 2  # in teams


def test_the_page_draws_three_pictures_each_with_a_text_alternative(
    coordinator, alice, bob, team
):
    html = coordinator.get(PAGE).text

    svgs = re.findall(r"<svg [^>]*>", html)
    pictures = [svg for svg in svgs if 'class="chart"' in svg]
    assert len(pictures) == 3
    for svg in pictures:
        assert 'role="img"' in svg
        title_id, desc_id = re.search(r'aria-labelledby="([^"]+)"', svg)[1].split()
        assert f'<title id="{title_id}">' in html
        assert f'<desc id="{desc_id}">' in html
    assert html.count("<summary>The figures as a table</summary>") == 3


def test_the_page_keeps_its_socket_and_live_address_for_its_script(coordinator):
    response = coordinator.get(PAGE, {"status": "free", "page": 2})

    config = response.context["live_config"]
    assert config["socket"] == "/ws/labs/?view=coordinator"
    assert config["liveUrl"] == f"{LIVE}?status=free&page=2"
    assert 'id="coordinator-config"' in response.text
    assert "projects/coordinator.js" in response.text


@pytest.mark.parametrize("url", [LIVE, PAIRINGS, PLACEMENTS, ANNOUNCEMENTS, ROSTER_CSV])
def test_students_get_the_403_page_from_every_coordinator_page(client, alice, url):
    client.force_login(alice)

    assert client.get(url).status_code == 403
    assert client.post(url).status_code in (403, 405)


@pytest.mark.parametrize("url", [LIVE, ROSTER_CSV])
def test_read_only_pages_refuse_posts(coordinator, url):
    assert coordinator.post(url).status_code == 405


def test_the_table_downloads_with_its_filters(coordinator):
    StudentFactory(username="53000001", please_assign_me=True)
    StudentFactory(username="53000002")

    response = coordinator.get(ROSTER_CSV, {"flag": "assign"})

    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("student_number,first_name,")
    assert [line.split(",")[0] for line in lines[1:]] == ["53000001"]


# The tools' pages -----------------------------------------------------------


def flagged(*numbers):
    return [StudentFactory(username=n, please_assign_me=True) for n in numbers]


def test_the_pairing_page_previews_without_changing_anything(coordinator):
    flagged("54000001", "54000002", "54000003")

    response = coordinator.get(PAIRINGS)

    assert response.status_code == 200
    plan = response.context["plan"]
    assert [[p.username for p in team] for team in plan.teams] == [
        ["54000001", "54000002"]
    ]
    assert "54000003" in response.text
    assert tools.ODD_ONE_OUT in response.text
    assert f'name="plan" value="{plan.key}"' in response.text
    assert Project.objects.count() == 0


def test_applying_the_pairing_preview_makes_the_teams_and_shows_what_was_done(
    coordinator, django_capture_on_commit_callbacks
):
    ann, bob = flagged("54000001", "54000002")
    key = tools.pairing_plan().key

    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator.post(
            PAIRINGS, {"scope": "flagged", "plan": key}, follow=True
        )

    assert response.redirect_chain == [(f"{PAIRINGS}?scope=flagged", 302)]
    project = Membership.objects.get(user=ann).project
    assert Membership.objects.get(user=bob).project == project
    assert "Paired 2 student(s) in 1 new team(s); 0 not paired." in response.text
    result = response.context["result"]
    assert result["made"][0]["id"] == project.pk
    assert "Nothing to do" in response.text  # the new preview
    assert Notification.objects.filter(user=bob, kind=Kind.MEMBER_ADDED).exists()
    # The result shows once.
    assert coordinator.get(PAIRINGS).context["result"] is None


def test_a_stale_pairing_preview_is_not_applied(coordinator):
    ann, _ = flagged("54000001", "54000002")
    key = tools.pairing_plan().key
    make_team(ann)

    response = coordinator.post(
        PAIRINGS, {"scope": "flagged", "plan": key}, follow=True
    )

    assert tools.PLAN_CHANGED in response.text
    assert Project.objects.count() == 1


def test_pairing_with_nothing_to_do_says_so(coordinator):
    response = coordinator.post(PAIRINGS, {"scope": "all"}, follow=True)

    assert "Nothing to do: every student has a project." in response.text
    assert Project.objects.count() == 0


def test_the_second_choice_is_offered_and_previewed(coordinator):
    StudentFactory(username="54000009")
    StudentFactory(username="54000008")

    asked = coordinator.get(PAIRINGS)
    everyone = coordinator.get(PAIRINGS, {"scope": "all"})

    assert "2 other free students didn't ask" in asked.text
    assert len(everyone.context["plan"].teams) == 1
    # A bad scope falls back to the first choice.
    assert coordinator.get(PAIRINGS, {"scope": "x"}).context["plan"].scope == "flagged"


def test_the_placement_page_previews_and_applies(
    coordinator, django_capture_on_commit_callbacks
):
    team = make_team(StudentFactory())
    lab = LabFactory(room="Lab P")
    day = timezone.localtime(lab.start).date().isoformat()

    preview = coordinator.get(PLACEMENTS, {"day": day, "room": "Lab P"})
    key = preview.context["plan"].key
    with django_capture_on_commit_callbacks(execute=True):
        response = coordinator.post(
            PLACEMENTS, {"day": day, "room": "Lab P", "plan": key}, follow=True
        )

    assert [(t.id, s.id) for t, s in preview.context["plan"].placed] == [
        (team.pk, lab.pk)
    ]
    team.refresh_from_db()
    assert team.lab_id == lab.pk
    assert "Placed 1 team(s); 0 not placed." in response.text
    assert response.context["result"]["placed"][0]["id"] == team.pk
    assert "Nothing to do: every team has a slot." in response.text


def test_placing_with_no_slot_that_matches_says_why(coordinator):
    make_team(StudentFactory())

    response = coordinator.get(PLACEMENTS)

    assert "Nothing to do: No free open slot starts more than 60 minutes" in (
        response.text
    )
    assert 'name="plan"' not in response.text


def test_the_announcement_preview_counts_and_sending_lists_it(
    coordinator, alice, bob, team, django_capture_on_commit_callbacks
):
    StudentFactory()

    preview = coordinator.post(
        ANNOUNCEMENTS, {"segment": "without_slot", "action": "preview", "message": ""}
    )
    assert Announcement.objects.count() == 0
    assert Notification.objects.filter(kind=Kind.ANNOUNCEMENT).count() == 0
    with django_capture_on_commit_callbacks(execute=True):
        sent = coordinator.post(
            ANNOUNCEMENTS,
            {"segment": "without_slot", "action": "send", "message": "Book a slot!"},
            follow=True,
        )

    assert preview.context["audience"].students == 2
    assert "reaches 2 students" in preview.text
    assert sent.redirect_chain == [(f"{PAGE}#announcements", 302)]
    assert "Sent to 2 student(s) (Teams without a slot); 0 by email." in sent.text
    (announcement,) = Announcement.objects.all()
    assert announcement.message == "Book a slot!"
    assert "Book a slot!" in sent.text  # the list on the page
    assert set(
        Notification.objects.filter(kind=Kind.ANNOUNCEMENT).values_list(
            "user_id", flat=True
        )
    ) == {alice.pk, bob.pk}


def test_a_bad_announcement_keeps_what_was_typed_and_sends_nothing(coordinator, alice):
    response = coordinator.post(
        ANNOUNCEMENTS,
        {"segment": "slot", "action": "send", "message": "Bring posters"},
    )

    assert response.status_code == 200
    assert "Pick the day, the room or both." in response.text
    assert "Bring posters</textarea>" in response.text
    assert Announcement.objects.count() == 0


def test_an_announcement_that_reaches_nobody_is_refused_on_the_form(coordinator):
    response = coordinator.post(
        ANNOUNCEMENTS, {"segment": "without_project", "action": "send", "message": "Hi"}
    )

    assert "Nobody to tell" in response.text
    assert Announcement.objects.count() == 0


def test_an_announcement_sent_twice_at_once_reaches_each_student_once(
    coordinator, alice, bob, team, django_capture_on_commit_callbacks
):
    """A double click on Send, or the same message sent from two tabs: the
    second is refused with the reason, and nobody is told twice."""
    data = {"segment": "without_slot", "action": "send", "message": "Book a slot!"}
    with django_capture_on_commit_callbacks(execute=True):
        first = coordinator.post(ANNOUNCEMENTS, data)
        second = coordinator.post(ANNOUNCEMENTS, data)

    assert first.status_code == 302
    assert second.status_code == 200
    assert "was not sent again" in second.text
    assert "Book a slot!</textarea>" in second.text
    assert Announcement.objects.count() == 1
    assert Notification.objects.filter(kind=Kind.ANNOUNCEMENT, user=alice).count() == 1


def test_the_same_announcement_to_another_segment_is_sent(
    coordinator, alice, bob, team, django_capture_on_commit_callbacks
):
    StudentFactory()
    with django_capture_on_commit_callbacks(execute=True):
        coordinator.post(
            ANNOUNCEMENTS,
            {"segment": "without_slot", "action": "send", "message": "Hello"},
        )
        other = coordinator.post(
            ANNOUNCEMENTS,
            {"segment": "without_project", "action": "send", "message": "Hello"},
        )

    assert other.status_code == 302
    assert Announcement.objects.count() == 2


def test_selectors_roster_is_ordered_by_last_name(db):
    StudentFactory(last_name="Zed")
    StudentFactory(last_name="Abe")

    names = [s.last_name for s in selectors.roster_students()]

    assert names == sorted(names)
