"""The coordinators' admin: every write through the services, errors as form
errors, coordinators only."""

import csv
import io
from datetime import timedelta
from html.parser import HTMLParser

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse
from django.utils import timezone

from accounts.tests.factories import StudentFactory
from projects import services
from projects.models import (
    BookingRecord,
    BookingWindow,
    Invitation,
    Lab,
    Membership,
    Project,
)
from projects.tests.factories import LabFactory, lab_starting_in, make_team


class HiddenInputs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.data = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type") == "hidden" and attrs.get("name"):
            self.data[attrs["name"]] = attrs.get("value") or ""


def change_form_data(client, url, **fields):
    """The change form's hidden inputs (inline management forms) plus fields."""
    parser = HiddenInputs()
    parser.feed(client.get(url).content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return {**parser.data, **fields}


@pytest.fixture
def admin_client(client, dana):
    client.force_login(dana)
    return client


def results(response):
    return list(response.context["cl"].result_list)


def project_url(project):
    return reverse("admin:projects_project_change", args=[project.pk])


def run_action(client, model, action, objects):
    return client.post(
        reverse(f"admin:projects_{model}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [obj.pk for obj in objects]},
    )


# Access -------------------------------------------------------------------


@pytest.mark.parametrize(
    "model", ["lab", "project", "invitation", "bookingwindow", "bookingrecord"]
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

    index = client.get(reverse("admin:index"))
    labs = client.get(reverse("admin:projects_lab_changelist"))

    assert "Labs" not in index.content.decode()
    assert labs.status_code == 403


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
    assert row[6] == "'@SUM(1)"
    assert row[7] == alice.username


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


# Projects ---------------------------------------------------------------


def test_assigning_a_slot_goes_through_lab_book_with_via_admin(
    admin_client, alice, dana
):
    project = make_team(alice)
    lab = lab_starting_in(30)  # within the cut-off: coordinators aren't bound
    url = project_url(project)

    response = admin_client.post(
        url,
        change_form_data(admin_client, url, description="Robots", slot=lab.pk),
    )

    assert response.status_code == 302
    project.refresh_from_db()
    assert project.lab == lab
    record = BookingRecord.objects.get()
    assert (record.action, record.via, record.actor) == ("book", "admin", dana)


def test_a_taken_slot_is_a_form_error_and_nothing_changes(admin_client, alice, bob):
    lab = LabFactory()
    make_team(bob, lab=lab)
    project = make_team(alice, description="Old")
    url = project_url(project)

    response = admin_client.post(
        url, change_form_data(admin_client, url, description="New", slot=lab.pk)
    )

    assert response.status_code == 200
    assert services.SLOT_TAKEN in response.context["adminform"].form.errors["slot"]
    project.refresh_from_db()
    assert project.lab is None
    assert project.description == "Old"


def test_clearing_the_slot_releases_it(admin_client, alice):
    project = make_team(alice, lab=LabFactory())
    url = project_url(project)

    admin_client.post(
        url, change_form_data(admin_client, url, description="x", slot="")
    )

    project.refresh_from_db()
    assert project.lab is None
    assert BookingRecord.objects.filter(action="release", via="admin").exists()


def test_adding_a_member_goes_through_membership_add(admin_client, alice, bob):
    project = make_team(alice)
    url = project_url(project)

    admin_client.post(
        url,
        change_form_data(admin_client, url, description="x", add_member=bob.username),
    )

    assert Membership.objects.get(user=bob).project == project


def test_adding_to_a_full_team_is_a_form_error(admin_client, alice, bob, charlie):
    project = make_team(alice, bob)
    url = project_url(project)

    response = admin_client.post(
        url,
        change_form_data(
            admin_client, url, description="x", add_member=charlie.username
        ),
    )

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["add_member"]
    assert errors == ["That team is already full."]
    assert not Membership.objects.filter(user=charlie).exists()


def test_removing_the_last_member_dissolves_the_project(admin_client, alice):
    project = make_team(alice, lab=LabFactory())
    url = project_url(project)

    response = admin_client.post(
        url,
        change_form_data(
            admin_client,
            url,
            description="x",
            remove_members=[alice.membership.pk],
        ),
    )

    assert response.status_code == 302
    assert not Project.objects.exists()
    record = BookingRecord.objects.get(action="dissolve")
    assert record.members == alice.username


def test_adding_a_project_for_a_student(admin_client, alice, bob):
    lab = LabFactory()

    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {
            "first_member": alice.username,
            "description": "Robots",
            "slot": lab.pk,
            "add_member": bob.username,
        },
    )

    assert response.status_code == 302
    project = Project.objects.get()
    assert project.lab == lab
    assert [m.user for m in project.memberships.all()] == [alice, bob]


def test_adding_a_project_for_a_teamed_student_changes_nothing(admin_client, alice):
    make_team(alice)

    response = admin_client.post(
        reverse("admin:projects_project_add"),
        {"first_member": alice.username, "description": "Again"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors
    assert Project.objects.count() == 1


def test_search_by_member_name_or_number(admin_client, alice, bob):
    robots = make_team(alice, description="Robots")
    boats = make_team(bob, description="Boats")
    url = reverse("admin:projects_project_changelist")

    assert results(admin_client.get(url, {"q": "Able"})) == [robots]
    assert results(admin_client.get(url, {"q": bob.username})) == [boats]


def test_deleting_a_project_dissolves_it_through_the_service(admin_client, alice, bob):
    project = make_team(alice, bob, lab=LabFactory())

    admin_client.post(
        reverse("admin:projects_project_delete", args=[project.pk]), {"post": "yes"}
    )

    assert not Project.objects.exists()
    assert not Membership.objects.exists()
    assert BookingRecord.objects.filter(action="dissolve", via="admin").exists()


def test_the_dissolve_action(admin_client, alice, bob):
    projects = [make_team(alice), make_team(bob)]

    run_action(admin_client, "project", "dissolve_projects", projects)

    assert not Project.objects.exists()


# Invitations, window, records -------------------------------------------


def test_cancelling_invitations_in_bulk(admin_client, alice, bob, charlie):
    project = make_team(alice)
    invitation = services.invitation_send(
        user=alice, project=project, invitee_number=bob.username
    )

    run_action(admin_client, "invitation", "cancel_invitations", [invitation])

    invitation.refresh_from_db()
    assert invitation.status == Invitation.Status.CANCELLED


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
            url, {"team_changes_open": "on", "schedule_published": "on"}
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
    assert body.startswith("\ufeffwhen (")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert rows[1][1:4] == ["Book", "Page", alice.username]


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
