"""The coordinators' admin: every write through the services, errors as form
errors, each change in the admin's history, coordinators only."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.models import ADDITION, CHANGE, DELETION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from pairup.dates import slot_text
from projects import services
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
)
from projects.tests.factories import LabFactory, lab_starting_in, local_at, make_team
from projects.tests.helpers import messages_of


@pytest.fixture
def admin_client(client, dana):
    client.force_login(dana)
    client.coordinator = dana
    return client


def results(response):
    return list(response.context["cl"].result_list)


def project_url(project):
    return reverse("admin:projects_project_change", args=[project.pk])


def page_url(name, project, member=None):
    """The URL of one of the project's own admin pages ("add" needs none)."""
    if name == "add":
        return reverse("admin:projects_project_add")
    args = [project.pk]
    if name == "member_remove":
        member = member or project.memberships.first().user
        args.append(Membership.objects.get(user=member).pk)
    return reverse(f"admin:projects_project_{name}", args=args)


def history(project):
    """The admin's history entries for the project: (flag, message), oldest first."""
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(Project),
            object_id=str(project.pk),
        )
        .order_by("pk")
        .values_list("action_flag", "change_message")
    )


def run_action(client, model, action, objects):
    return client.post(
        reverse(f"admin:projects_{model}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]},
    )


# Access -------------------------------------------------------------------


@pytest.mark.parametrize(
    "model",
    ["lab", "project", "invitation", "bookingwindow", "bookingrecord", "ballotrun"],
)
def test_a_coordinator_sees_every_page(admin_client, model):
    LabFactory()

    response = admin_client.get(
        reverse(f"admin:projects_{model}_changelist"), follow=True
    )

    assert response.status_code == 200


def test_a_student_is_sent_to_the_admin_sign_in(client, alice):
    client.force_login(alice)

    response = client.get(reverse("admin:projects_lab_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_staff_outside_the_coordinators_group_see_nothing(db, client):
    tutor = StudentFactory(username="tutor", is_staff=True)
    client.force_login(tutor)

    index = client.get(reverse("admin:index"), follow=True)
    labs = client.get(reverse("admin:projects_lab_changelist"))

    assert "Labs" not in index.content.decode()
    assert index.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert labs.status_code == 302
    assert labs["Location"].startswith("/admin/login/")


# Labs -------------------------------------------------------------------


def test_labs_filter_by_free_and_taken(admin_client, alice):
    free, taken = LabFactory(room="Free room"), LabFactory(room="Taken room")
    make_team(alice, lab=taken)
    url = reverse("admin:projects_lab_changelist")

    free_list = results(admin_client.get(url, {"taken": "free"}))
    taken_list = results(admin_client.get(url, {"taken": "taken"}))

    assert free_list == [free]
    assert taken_list == [taken]


def test_labs_filter_by_local_day(admin_client, settings):
    settings.TIME_ZONE = "Australia/Perth"
    lab = LabFactory(room="Late room")
    other = LabFactory(room="Other day", start=lab.start + timedelta(days=1))
    other.end = other.start + timedelta(minutes=15)
    other.save()
    day = f"{timezone.localtime(lab.start):%Y-%m-%d}"

    response = admin_client.get(reverse("admin:projects_lab_changelist"), {"day": day})

    assert results(response) == [lab]


def test_bulk_close_and_open(admin_client):
    labs = LabFactory.create_batch(3)

    run_action(admin_client, "lab", "close_labs", labs[:2])
    assert list(Lab.objects.order_by("pk").values_list("is_open", flat=True)) == [
        False,
        False,
        True,
    ]

    run_action(admin_client, "lab", "open_labs", labs[:1])
    assert Lab.objects.filter(is_open=True).count() == 2


def test_labs_csv_has_a_bom_and_neutralised_cells(admin_client, alice):
    lab = LabFactory(room="=cmd|' /C calc'!A0")
    make_team(alice, description="@SUM(1)", lab=lab)

    response = run_action(admin_client, "lab", "export_csv", [lab])

    assert response["Content-Type"].startswith("text/csv")
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffroom,date,")
    row = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))[1]
    assert row[0].startswith("'=")
    assert row[7] == "'@SUM(1)"
    assert row[8] == alice.username


def test_a_booked_lab_cannot_be_deleted(admin_client, alice):
    lab = LabFactory()
    make_team(alice, lab=lab)

    admin_client.post(
        reverse("admin:projects_lab_delete", args=[lab.pk]), {"post": "yes"}
    )

    assert Lab.objects.filter(pk=lab.pk).exists()


def test_editing_a_lab_saves_through_the_service_and_refreshes_boards(
    admin_client, django_capture_on_commit_callbacks
):
    lab = LabFactory()
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            reverse("admin:projects_lab_change", args=[lab.pk]),
            {
                "room": "Renamed",
                "start_0": f"{start:%Y-%m-%d}",
                "start_1": f"{start:%H:%M:%S}",
                "end_0": f"{end:%Y-%m-%d}",
                "end_1": f"{end:%H:%M:%S}",
            },
        )

    assert response.status_code == 302
    lab.refresh_from_db()
    assert (lab.room, lab.is_open) == ("Renamed", False)
    assert len(callbacks) == 1


def test_moving_a_booked_lab_is_recorded_as_a_move_via_the_admin(
    admin_client, alice, dana
):
    lab = LabFactory(room="CSSE 2.01")
    project = services.lab_book(user=dana, project=make_team(alice), lab=lab)
    old_slot = slot_text(lab)
    start = timezone.localtime(lab.start) + timedelta(hours=2)
    end = timezone.localtime(lab.end) + timedelta(hours=2)

    response = admin_client.post(
        reverse("admin:projects_lab_change", args=[lab.pk]),
        {
            "room": "CSSE 3.14",
            "start_0": f"{start:%Y-%m-%d}",
            "start_1": f"{start:%H:%M:%S}",
            "end_0": f"{end:%Y-%m-%d}",
            "end_1": f"{end:%H:%M:%S}",
            "is_open": "on",
        },
    )

    assert response.status_code == 302
    lab.refresh_from_db()
    assert (lab.room, timezone.localtime(lab.start)) == ("CSSE 3.14", start)
    record = BookingRecord.objects.get(action="move")
    assert (record.via, record.actor, record.project_number) == (
        "admin",
        dana,
        project.pk,
    )
    assert (record.from_lab, record.to_lab) == (lab, lab)
    assert record.from_slot == old_slot
    assert record.to_slot == slot_text(lab) != old_slot
    assert record.members == alice.username


def test_editing_a_booked_lab_without_moving_it_records_nothing(admin_client, alice):
    lab = LabFactory()
    services.lab_book(user=alice, project=make_team(alice), lab=lab)
    start, end = timezone.localtime(lab.start), timezone.localtime(lab.end)

    response = admin_client.post(
        reverse("admin:projects_lab_change", args=[lab.pk]),
        {
            "room": lab.room,
            "start_0": f"{start:%Y-%m-%d}",
            "start_1": f"{start:%H:%M:%S}",
            "end_0": f"{end:%Y-%m-%d}",
            "end_1": f"{end:%H:%M:%S}",
        },
    )

    assert response.status_code == 302
    lab.refresh_from_db()
    assert lab.is_open is False
    assert list(BookingRecord.objects.values_list("action", flat=True)) == ["book"]


def test_adding_a_lab_with_end_before_start_shows_an_error(admin_client):
    start = timezone.localtime(timezone.now() + timedelta(days=2))
    response = admin_client.post(
        reverse("admin:projects_lab_add"),
        {
            "room": "X",
            "start_0": f"{start:%Y-%m-%d}",
            "start_1": "10:00",
            "end_0": f"{start:%Y-%m-%d}",
            "end_1": "09:00",
            "is_open": "on",
        },
    )

    assert response.status_code == 200
    assert not Lab.objects.exists()


def lab_form(room, start, end, **extra):
    """The Labs admin form's fields for a slot from `start` to `end` (local)."""
    start, end = timezone.localtime(start), timezone.localtime(end)
    return {
        "room": room,
        "start_0": f"{start:%Y-%m-%d}",
        "start_1": f"{start:%H:%M:%S}",
        "end_0": f"{end:%Y-%m-%d}",
        "end_1": f"{end:%H:%M:%S}",
        **extra,
    }


def test_adding_a_lab_that_overlaps_another_in_the_room_is_a_form_error(
    admin_client,
):
    other = LabFactory(room="CSSE 2.01", start=local_at(3, 16, 0))  # to 16:15

    response = admin_client.post(
        reverse("admin:projects_lab_add"),
        lab_form("CSSE 2.01", local_at(3, 16, 10), local_at(3, 16, 25), is_open="on"),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.non_field_errors()
    assert errors == [
        f"This slot would overlap the slot CSSE 2.01, "
        f"{local_at(3, 16, 0):%a %d %b %Y} 16:00-16:15 in the same room."
    ]
    assert list(Lab.objects.all()) == [other]


def test_changing_a_lab_to_overlap_another_in_the_room_is_a_form_error(
    admin_client,
):
    other = LabFactory(room="CSSE 2.01", start=local_at(3, 16, 0))
    lab = LabFactory(room="CSSE 2.02", start=local_at(3, 16, 5))
    before = (lab.room, lab.start, lab.end)

    response = admin_client.post(
        reverse("admin:projects_lab_change", args=[lab.pk]),
        lab_form("CSSE 2.01", lab.start, lab.end),
    )

    assert response.status_code == 200
    assert f"would overlap the slot {other}" in response.text
    lab.refresh_from_db()
    assert (lab.room, lab.start, lab.end) == before


def test_changing_a_lab_within_its_own_time_is_no_overlap(admin_client):
    lab = LabFactory(room="CSSE 2.01", start=local_at(3, 16, 0))
    LabFactory(room="CSSE 2.01", start=local_at(3, 16, 15))  # back to back
    LabFactory(room="CSSE 2.02", start=local_at(3, 16, 5))  # another room

    response = admin_client.post(
        reverse("admin:projects_lab_change", args=[lab.pk]),
        lab_form("CSSE 2.01", local_at(3, 16, 5), local_at(3, 16, 15)),
    )

    assert response.status_code == 302
    lab.refresh_from_db()
    assert timezone.localtime(lab.start) == local_at(3, 16, 5)


@pytest.mark.parametrize("day", ["0001-01-01", "3000-01-01"])
def test_adding_a_lab_outside_the_years_a_database_keeps_is_a_form_error(
    admin_client, day
):
    response = admin_client.post(
        reverse("admin:projects_lab_add"),
        {
            "room": "X",
            "start_0": day,
            "start_1": "00:00",
            "end_0": day,
            "end_1": "00:30",
            "is_open": "on",
        },
    )

    assert response.status_code == 200
    assert "Pick a date between 2000 and 2999." in response.text
    assert not Lab.objects.exists()
    assert admin_client.get(reverse("admin:projects_lab_changelist")).status_code == 200


# Projects: the change form ------------------------------------------------


def test_the_change_form_edits_the_description_through_the_service(
    admin_client, alice, monkeypatch
):
    project = make_team(alice, description="Old")
    calls = []
    real = services.project_update
    monkeypatch.setattr(
        services, "project_update", lambda **kw: calls.append(kw) or real(**kw)
    )

    response = admin_client.post(project_url(project), {"description": " Robots "})

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.description == "Robots"
    assert len(calls) == 1
    assert history(project) == [(CHANGE, '[{"changed": {"fields": ["Description"]}}]')]


def test_the_change_form_changes_nothing_but_the_description(
    admin_client, alice, bob, charlie
):
    lab, other = LabFactory(), LabFactory()
    project = make_team(alice, bob, lab=lab)

    admin_client.post(
        project_url(project),
        {
            "description": "New",
            "slot": other.pk,
            "add_member": charlie.username,
            "remove_members": [alice.membership.pk],
        },
    )

    project.refresh_from_db()
    assert project.description == "New"
    assert project.lab == lab
    assert [m.user for m in project.memberships.all()] == [alice, bob]
    assert not Membership.objects.filter(user=charlie).exists()


def test_an_empty_description_is_a_form_error(admin_client, alice):
    project = make_team(alice, description="Old")

    response = admin_client.post(project_url(project), {"description": "   "})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["description"]
    project.refresh_from_db()
    assert project.description == "Old"
    assert history(project) == []


def test_the_change_form_shows_members_and_slot_and_links_to_the_pages(
    admin_client, alice
):
    lab = LabFactory()
    project = make_team(alice, lab=lab)

    response = admin_client.get(project_url(project))

    assert response.status_code == 200
    assert list(response.context["adminform"].form.fields) == ["description"]
    body = response.content.decode()
    assert str(lab) in body
    assert alice.username in body
    for name in ("slot_book", "slot_release", "member_add", "dissolve"):
        assert page_url(name, project) in body
    assert page_url("member_remove", project) in body
    assert f"/admin/projects/project/{project.pk}/delete/" not in body


def test_the_change_form_links_only_what_applies(admin_client, alice, bob):
    project = make_team(alice, bob)  # full, no slot

    body = admin_client.get(project_url(project)).content.decode()

    assert page_url("slot_book", project) in body
    assert page_url("slot_release", project) not in body
    assert page_url("member_add", project) not in body


# Projects: the pages of their own -----------------------------------------

PAGES = ["slot_book", "slot_release", "member_add", "member_remove", "dissolve"]


@pytest.mark.parametrize("name", [*PAGES, "add"])
def test_each_page_shows_its_form_to_a_coordinator_and_changes_nothing(
    admin_client, alice, bob, name
):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)

    response = admin_client.get(page_url(name, project))

    assert response.status_code == 200
    assert f"<h1>{response.context['title']}</h1>" in response.content.decode()
    project.refresh_from_db()
    assert project.lab == lab
    assert project.memberships.count() == 2


@pytest.mark.parametrize("name", [*PAGES, "add"])
def test_a_student_is_sent_to_the_admin_sign_in_from_each_page(client, alice, name):
    project = make_team(alice)
    client.force_login(alice)

    response = client.post(page_url(name, project))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert Project.objects.filter(pk=project.pk).exists()


@pytest.mark.parametrize("name", [*PAGES, "add"])
def test_staff_outside_the_coordinators_group_are_sent_to_the_sign_in_from_each_page(
    client, alice, name
):
    project = make_team(alice, lab=LabFactory())
    client.force_login(StudentFactory(username="tutor", is_staff=True))

    get = client.get(page_url(name, project))
    post = client.post(page_url(name, project))

    assert (get.status_code, post.status_code) == (302, 302)
    assert get["Location"].startswith("/admin/login/")
    assert Project.objects.filter(pk=project.pk, lab__isnull=False).exists()


@pytest.mark.parametrize("name", PAGES)
def test_a_missing_project_is_a_404_on_each_page(admin_client, name):
    args = [999999, 1] if name == "member_remove" else [999999]

    response = admin_client.get(reverse(f"admin:projects_project_{name}", args=args))

    assert response.status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_a_page_posted_after_its_team_went_says_so(admin_client, alice, bob, name):
    """A second click on "Yes, dissolve the team" (or a page left open while
    another coordinator dissolved it) lands on the list with the reason,
    not on a bare 404 that reads as a failure."""
    project = make_team(alice, bob, lab=LabFactory())
    url = page_url(name, project)
    services.project_dissolve(user=admin_client.coordinator, project=project)

    response = admin_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:projects_project_changelist")
    assert messages_of(response) == [
        f"Team {project.pk} no longer exists: it was dissolved."
    ]


def test_a_second_click_on_book_or_release_names_the_team_not_yours(
    admin_client, alice
):
    """The services speak to students ("Your team ..."); the admin speaks
    to a coordinator, who has no team."""
    project = make_team(alice)
    lab = LabFactory()
    book, release = page_url("slot_book", project), page_url("slot_release", project)

    admin_client.post(book, {"slot": lab.pk})
    booked_again = admin_client.post(book, {"slot": lab.pk})
    admin_client.post(release)
    released_again = admin_client.post(release)

    assert booked_again.status_code == released_again.status_code == 200
    booked_again = booked_again.content.decode()
    released_again = released_again.content.decode()
    assert f"{project} has this slot already." in booked_again
    assert f"{project} has no slot to release." in released_again
    assert "Your team" not in booked_again + released_again


def test_removing_a_member_twice_says_they_are_gone(admin_client, alice, bob):
    project = make_team(alice, bob)
    url = page_url("member_remove", project, member=bob)

    admin_client.post(url)
    response = admin_client.post(url)

    assert response.status_code == 302
    assert response["Location"] == project_url(project)
    assert messages_of(response)[-1] == (
        f"That member is no longer in {project}: the list below is up to date."
    )
    assert Membership.objects.filter(user=alice).exists()


@pytest.mark.parametrize("name", [*PAGES, "add"])
def test_each_page_refuses_other_methods(admin_client, alice, name):
    project = make_team(alice)

    response = admin_client.put(page_url(name, project))

    assert response.status_code == 405


def test_removing_a_member_of_another_team_is_a_404(admin_client, alice, bob):
    project = make_team(alice)
    make_team(bob)

    response = admin_client.post(
        reverse(
            "admin:projects_project_member_remove",
            args=[project.pk, bob.membership.pk],
        )
    )

    assert response.status_code == 404
    assert Membership.objects.filter(user=bob).exists()


# Booking ------------------------------------------------------------------


def test_booking_a_slot_goes_through_lab_book_with_via_admin(admin_client, alice, dana):
    project = make_team(alice)
    lab = lab_starting_in(30)  # within the cut-off: coordinators aren't bound

    response = admin_client.post(page_url("slot_book", project), {"slot": lab.pk})

    assert response.status_code == 302
    assert response["Location"] == project_url(project)
    project.refresh_from_db()
    assert project.lab == lab
    record = BookingRecord.objects.get()
    assert (record.action, record.via, record.actor) == ("book", "admin", dana)
    assert history(project) == [(CHANGE, f"Booked the slot {lab}.")]


def test_moving_the_slot_frees_the_old_one_in_the_same_step(admin_client, alice, dana):
    old = lab_starting_in(20)  # leaving within the cut-off: not binding either
    project = services.lab_book(user=dana, project=make_team(alice), lab=old)
    new = LabFactory(is_open=False)  # closed to students, not to coordinators

    response = admin_client.post(page_url("slot_book", project), {"slot": new.pk})

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.lab == new
    assert not Project.objects.filter(lab=old).exists()
    record = BookingRecord.objects.get(action="move")
    assert (record.via, record.from_lab, record.to_lab) == ("admin", old, new)
    assert history(project) == [(CHANGE, f"Moved from the slot {old} to {new}.")]


def test_a_taken_slot_is_refused_on_the_form_and_nothing_changes(
    admin_client, alice, bob
):
    lab = LabFactory()
    other = make_team(bob, lab=lab)
    project = make_team(alice, description="Old")

    page = admin_client.get(page_url("slot_book", project)).content.decode()
    response = admin_client.post(page_url("slot_book", project), {"slot": lab.pk})

    assert f"{lab} ({other})" in page  # the list says who holds each slot
    assert response.status_code == 200
    assert services.SLOT_TAKEN in response.context["form"].errors["slot"]
    assert services.SLOT_TAKEN in response.content.decode()
    project.refresh_from_db()
    assert (project.lab, project.description) == (None, "Old")
    assert Project.objects.get(lab=lab) == other
    assert BookingRecord.objects.count() == 1  # bob's own booking
    assert history(project) == []


def test_releasing_the_slot_goes_through_lab_release(admin_client, alice):
    lab = LabFactory()
    project = make_team(alice, lab=lab)

    page = admin_client.get(page_url("slot_release", project)).content.decode()
    response = admin_client.post(page_url("slot_release", project))

    assert f"Release <strong>{lab}</strong>?" in page
    assert response.status_code == 302
    project.refresh_from_db()
    assert project.lab is None
    assert BookingRecord.objects.filter(action="release", via="admin").exists()
    assert history(project) == [(CHANGE, f"Released the slot {lab}.")]


def test_releasing_without_a_slot_shows_the_reason_and_changes_nothing(
    admin_client, alice
):
    project = make_team(alice)

    page = admin_client.get(page_url("slot_release", project))
    response = admin_client.post(page_url("slot_release", project))

    assert "has no slot to release" in page.content.decode()
    assert "Yes, release the slot" not in page.content.decode()
    assert response.status_code == 200
    assert response.context["form"].non_field_errors() == [
        f"{project} has no slot to release."
    ]
    assert not BookingRecord.objects.exists()
    assert history(project) == []


# Members ------------------------------------------------------------------


def test_adding_a_member_goes_through_membership_add(admin_client, alice, bob):
    project = make_team(alice)

    response = admin_client.post(
        page_url("member_add", project), {"student": f" {bob.username} "}
    )

    assert response.status_code == 302
    assert Membership.objects.get(user=bob).project == project
    assert history(project) == [(CHANGE, f"Added the member {bob.username} Bob Baker.")]


def test_adding_to_a_full_team_is_refused_on_the_form(
    admin_client, alice, bob, charlie
):
    project = make_team(alice, bob)

    response = admin_client.post(
        page_url("member_add", project), {"student": charlie.username}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["student"] == ["That team is already full."]
    assert not Membership.objects.filter(user=charlie).exists()
    assert history(project) == []


def test_adding_a_student_already_in_a_team_is_refused_on_the_form(
    admin_client, alice, charlie
):
    project = make_team(alice)
    other = make_team(charlie)

    response = admin_client.post(
        page_url("member_add", project), {"student": charlie.username}
    )

    assert response.status_code == 200
    assert response.context["form"].errors["student"] == [
        "Charlie already belongs to a project."
    ]
    assert Membership.objects.get(user=charlie).project == other
    assert project.memberships.count() == 1


def test_adding_an_unknown_number_is_a_form_error(admin_client, alice, dana):
    project = make_team(alice)

    unknown = admin_client.post(page_url("member_add", project), {"student": "999"})
    staff = admin_client.post(page_url("member_add", project), {"student": "dana"})

    assert unknown.context["form"].errors["student"] == [
        "No student with the number '999'."
    ]
    assert staff.context["form"].errors["student"] == [
        "No student with the number 'dana'."
    ]
    assert project.memberships.count() == 1


def test_removing_a_member_keeps_the_team(admin_client, alice, bob):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)

    page = admin_client.get(page_url("member_remove", project, member=bob))
    response = admin_client.post(page_url("member_remove", project, member=bob))

    assert "They become a free student" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == project_url(project)
    project.refresh_from_db()
    assert [m.user for m in project.memberships.all()] == [alice]
    assert project.lab == lab
    assert history(project) == [
        (CHANGE, f"Removed a member, {bob.username} Bob Baker.")
    ]


def test_removing_the_last_member_dissolves_the_project(admin_client, alice):
    project = make_team(alice, lab=LabFactory())

    page = admin_client.get(page_url("member_remove", project))
    response = admin_client.post(page_url("member_remove", project))

    assert "Removing them dissolves the team" in page.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:projects_project_changelist")
    assert not Project.objects.exists()
    record = BookingRecord.objects.get(action="dissolve")
    assert record.members == alice.username
    assert history(project) == [
        (CHANGE, f"Removed the last member, {alice.username} Alice Able."),
        (DELETION, ""),
    ]


# Adding and dissolving ----------------------------------------------------


def test_adding_a_project_for_a_student(admin_client, alice, bob, dana):
    lab = LabFactory()

    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {"first_member": alice.username, "description": "Robots", "slot": lab.pk},
    )

    assert response.status_code == 302
    project = Project.objects.get()
    assert response["Location"] == project_url(project)
    assert (project.description, project.lab) == ("Robots", lab)
    record = BookingRecord.objects.get()
    assert (record.action, record.via, record.actor) == ("book", "admin", dana)
    assert history(project) == [
        (ADDITION, f"Added for {alice.username} Alice Able, with the slot {lab}.")
    ]

    admin_client.post(page_url("member_add", project), {"student": bob.username})

    assert [m.user for m in project.memberships.all()] == [alice, bob]


def test_adding_a_project_is_bound_by_neither_the_window_nor_the_cut_off(
    admin_client, alice
):
    BookingWindow.objects.filter(pk=BookingWindow.get().pk).update(
        booking_open=False, team_changes_open=False
    )
    lab = lab_starting_in(10)

    admin_client.post(
        reverse("admin:projects_project_add"),
        {"first_member": alice.username, "description": "Late", "slot": lab.pk},
    )

    assert Project.objects.get().lab == lab


def test_adding_a_project_for_a_teamed_student_changes_nothing(admin_client, alice):
    make_team(alice)

    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {"first_member": alice.username, "description": "Again"},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["first_member"] == [
        f"{alice.username} Alice Able already has a project."
    ]
    assert f'value="{alice.username}"' in response.content.decode()
    assert Project.objects.count() == 1
    assert not LogEntry.objects.exists()


def test_adding_a_project_with_a_taken_slot_changes_nothing(admin_client, alice, bob):
    lab = LabFactory()
    make_team(bob, lab=lab)

    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {"first_member": alice.username, "description": "Robots", "slot": lab.pk},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["slot"] == [services.SLOT_TAKEN]
    assert not Membership.objects.filter(user=alice).exists()
    assert not LogEntry.objects.exists()


def test_search_by_member_name_or_number(admin_client, alice, bob):
    robots = make_team(alice, description="Robots")
    boats = make_team(bob, description="Boats")
    url = reverse("admin:projects_project_changelist")

    assert results(admin_client.get(url, {"q": "Able"})) == [robots]
    assert results(admin_client.get(url, {"q": bob.username})) == [boats]


def test_dissolving_a_project_goes_through_the_service(admin_client, alice, bob):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    services.invitation_send(user=alice, project=project, invitee_number=bob.username)

    page = admin_client.get(page_url("dissolve", project)).content.decode()
    response = admin_client.post(page_url("dissolve", project))

    for what in (str(lab), "1 pending", "the team room and its history"):
        assert what in page
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:projects_project_changelist")
    assert not Project.objects.exists()
    assert not Membership.objects.exists()
    # Rule 5: cancelled, not deleted.
    assert Invitation.objects.get().status == Invitation.Status.CANCELLED
    assert BookingRecord.objects.filter(action="dissolve", via="admin").exists()
    assert history(project) == [(DELETION, "")]


@pytest.mark.parametrize("name", ["dissolve", "member_remove", "slot_release"])
def test_confirmations_do_not_free_a_slot_that_has_passed(admin_client, alice, name):
    """Letting go of a slot that has passed frees nothing for booking."""
    project = make_team(alice, lab=LabFactory())
    services.lab_book(
        user=admin_client.coordinator, project=project, lab=lab_starting_in(-30)
    )

    page = admin_client.get(page_url(name, project)).content.decode()

    assert "has passed" in page
    for promise in ("released", "is released", "free for other teams"):
        assert promise not in page


def test_dissolving_a_team_whose_slot_has_passed_says_nothing_is_freed(
    admin_client, alice
):
    project = make_team(alice)
    services.lab_book(
        user=admin_client.coordinator, project=project, lab=lab_starting_in(-30)
    )

    response = admin_client.post(page_url("dissolve", project), follow=True)

    assert messages_of(response) == [
        f"{project} was dissolved: its members are free (its slot had passed)."
    ]


def test_the_stock_delete_page_is_gone(admin_client, alice):
    project = make_team(alice, lab=LabFactory())

    admin_client.post(
        f"/admin/projects/project/{project.pk}/delete/", {"post": "yes"}, follow=True
    )

    assert Project.objects.filter(pk=project.pk).exists()
    with pytest.raises(NoReverseMatch):
        reverse("admin:projects_project_delete", args=[project.pk])


def test_the_dissolve_action_logs_each_project(admin_client, alice, bob):
    projects = [make_team(alice), make_team(bob)]

    run_action(admin_client, "project", "dissolve_projects", projects)

    assert not Project.objects.exists()
    assert [history(project) for project in projects] == [[(DELETION, "")]] * 2


# Invitations, window, records -------------------------------------------


def test_cancelling_invitations_in_bulk(admin_client, alice, bob, charlie):
    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )

    run_action(admin_client, "invitation", "cancel_invitations", [invitation])

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED


def test_a_dissolved_teams_invitation_shows_its_team_by_number(
    admin_client, alice, bob
):
    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )
    services.project_dissolve(user=alice, project=project)

    listing = admin_client.get(reverse("admin:projects_invitation_changelist"))
    page = admin_client.get(
        reverse("admin:projects_invitation_change", args=[invitation.pk])
    )

    assert listing.status_code == page.status_code == 200
    assert f"Team {project.pk} (dissolved)" in listing.content.decode()
    assert f"Team {project.pk} invites {bob.username} (cancelled)" in (
        page.content.decode()
    )


def test_the_window_list_opens_its_single_form(admin_client):
    response = admin_client.get(reverse("admin:projects_bookingwindow_changelist"))

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:projects_bookingwindow_change", args=[1]
    )
    assert BookingWindow.objects.count() == 1


def test_saving_the_window_goes_through_the_service(
    admin_client, django_capture_on_commit_callbacks
):
    url = reverse("admin:projects_bookingwindow_change", args=[1])
    BookingWindow.get()

    with django_capture_on_commit_callbacks() as callbacks:
        response = admin_client.post(
            url,
            {
                "mode": "first_come",
                "team_changes_open": "on",
                "schedule_published": "on",
            },
        )

    assert response.status_code == 302
    window = BookingWindow.get()
    assert window.booking_open is False
    assert window.schedule_published is True
    assert len(callbacks) == 1  # broadcast_all_labs refreshes the boards


def test_a_window_closing_before_it_opens_is_a_form_error(admin_client):
    url = reverse("admin:projects_bookingwindow_change", args=[1])
    BookingWindow.get()

    response = admin_client.post(
        url,
        {
            "booking_open": "on",
            "opens_at_0": "2099-05-20",
            "opens_at_1": "10:00",
            "closes_at_0": "2099-05-19",
            "closes_at_1": "10:00",
        },
    )

    assert response.status_code == 200
    assert BookingWindow.get().opens_at is None


@pytest.mark.parametrize("field", ["opens_at", "closes_at"])
def test_a_window_time_in_year_one_is_a_form_error(admin_client, field):
    BookingWindow.get()

    response = admin_client.post(
        reverse("admin:projects_bookingwindow_change", args=[1]),
        {"booking_open": "on", f"{field}_0": "0001-01-01", f"{field}_1": "00:00"},
    )

    assert response.status_code == 200
    assert "Pick a date between 2000 and 2999." in response.text
    assert getattr(BookingWindow.get(), field) is None
    assert admin_client.get("/labs/").status_code == 200


def test_booking_records_are_read_only_and_filterable(admin_client, alice):
    project = make_team(alice, lab=LabFactory())
    services.lab_release(user=alice, project=project)
    record = BookingRecord.objects.get(action="release")
    url = reverse("admin:projects_bookingrecord_changelist")

    released = admin_client.get(url, {"action__exact": "release"})
    change = admin_client.post(
        reverse("admin:projects_bookingrecord_change", args=[record.pk]),
        {"members": "forged"},
    )

    assert len(released.context["cl"].result_list) == 1
    assert (
        admin_client.get(reverse("admin:projects_bookingrecord_add")).status_code == 403
    )
    assert change.status_code == 403
    record.refresh_from_db()
    assert record.members == alice.username


def test_booking_records_download_as_csv(admin_client, alice):
    make_team(alice, lab=LabFactory())
    records = list(BookingRecord.objects.all())

    response = run_action(admin_client, "bookingrecord", "export_csv", records)

    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffdate,time,time_zone,")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[1][3:6] == ["Book", "Page", alice.username]


# Query budgets ------------------------------------------------------------


def count_queries(client, url):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


@pytest.mark.parametrize(
    "model", ["lab", "project", "invitation", "bookingrecord", "membership"]
)
def test_changelists_cost_the_same_queries_for_few_and_many_rows(admin_client, model):
    url = reverse(f"admin:projects_{model}_changelist")

    def add_teams(count):
        for _ in range(count):
            founder = StudentFactory()
            project = make_team(founder, lab=LabFactory())
            services.invitation_send(
                user=founder, project=project, invitee_number=StudentFactory().username
            )

    add_teams(2)
    few = count_queries(admin_client, url)
    add_teams(20)
    many = count_queries(admin_client, url)

    assert few == many
