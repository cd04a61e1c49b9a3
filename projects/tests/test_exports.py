"""One exports module: the page, the API, the admin and the command write the
same files (issue 19, item 7)."""

import csv
import io

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.urls import reverse

from accounts.tests.api_helpers import ApiClient
from projects import exports, services
from projects.models import BookingRecord, BookingWindow, Lab, Project
from projects.tests.factories import LabFactory, StudentFactory, make_team

pytestmark = pytest.mark.django_db


@pytest.fixture
def unit(alice, bob, charlie, dana):
    BookingWindow.get()
    booked = make_team(alice, bob, description="=Robots", lab=LabFactory())
    solo = make_team(charlie, description="Solo")
    free = StudentFactory(
        username="20000009",
        first_name="@Zed",
        last_name="Zulu",
        preferred_name="Zee",
        please_assign_me=True,
    )
    return {"booked": booked, "solo": solo, "free": free, "coordinator": dana}


def body(response) -> str:
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff"), "a download starts with a BOM"
    return text[1:]


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def command_output() -> str:
    out = io.StringIO()
    call_command("export_allocations", stdout=out)
    return out.getvalue()


def test_the_page_and_the_api_write_the_same_students_file(client, unit):
    client.force_login(unit["coordinator"])

    page = body(client.get(reverse("projects:coordinator_students_csv")))
    api = body(ApiClient(unit["coordinator"]).get("/coordinator/students.csv"))

    assert page == api
    header, *data = rows(page)
    assert header == exports.STUDENT_HEADER
    assert data == [
        ["20000009", "'@Zed", "Zulu", "Zee", unit["free"].email, "no", "yes"] + [""] * 6
    ]


def test_the_page_and_the_api_write_the_same_teams_without_a_slot(client, unit):
    client.force_login(unit["coordinator"])

    page = body(client.get(reverse("projects:coordinator_teams_csv")))
    api = body(ApiClient(unit["coordinator"]).get("/coordinator/projects.csv"))

    assert page == api
    header, *data = rows(page)
    assert header == exports.team_header()
    assert [row[0] for row in data] == [str(unit["solo"].pk)]


def test_page_api_and_command_write_the_same_allocations(client, unit):
    client.force_login(unit["coordinator"])

    page = body(client.get(reverse("projects:coordinator_allocations_csv")))
    api = body(ApiClient(unit["coordinator"]).get("/coordinator/allocations.csv"))

    assert page == api == command_output()
    header, booked, solo = rows(page)
    assert header == exports.team_header()
    assert booked[:3] == [str(unit["booked"].pk), "'=Robots", "2"]
    assert booked[-1] == "Page"
    assert solo[0] == str(unit["solo"].pk)


def test_the_admin_team_download_is_the_same_file(client, unit):
    client.force_login(unit["coordinator"])

    response = client.post(
        reverse("admin:projects_project_changelist"),
        {
            "action": "export_csv",
            ACTION_CHECKBOX_NAME: [p.pk for p in Project.objects.all()],
        },
    )

    assert body(response) == command_output()
    assert "teams.csv" in response["Content-Disposition"]


def test_booked_via_names_the_path_of_the_record_that_placed_the_current_slot(
    unit, dana
):
    booked, solo = unit["booked"], unit["solo"]
    later = LabFactory()
    services.lab_book(user=dana, project=booked, lab=later, via=BookingRecord.Via.ADMIN)
    services.lab_book(
        user=solo.memberships.get().user,
        project=solo,
        lab=LabFactory(),
        via=BookingRecord.Via.API,
    )
    unbooked = make_team(StudentFactory())
    by_hand = make_team(StudentFactory())
    Project.objects.filter(pk=by_hand.pk).update(lab=LabFactory())

    via = exports.booked_via(list(Project.objects.all()))

    assert via == {booked.pk: "Admin", solo.pk: "API"}
    assert unbooked.pk not in via


def test_changing_a_booked_slots_time_keeps_how_the_team_booked_it(unit, dana):
    """A coordinator moving a slot in the Labs admin moves its team with it
    (a record of its own), but the team still got the slot as it did: the
    allocations file's booked_via says so, not "Admin"."""
    from datetime import timedelta

    solo = unit["solo"]
    lab = LabFactory()
    services.lab_book(
        user=solo.memberships.get().user,
        project=solo,
        lab=lab,
        via=BookingRecord.Via.API,
    )
    lab.start += timedelta(hours=1)
    lab.end += timedelta(hours=1)
    services.lab_save(actor=dana, lab=lab)
    assert BookingRecord.objects.filter(
        project_number=solo.pk, action=BookingRecord.Action.MOVE
    ).exists()

    assert exports.booked_via([Project.objects.get(pk=solo.pk)]) == {solo.pk: "API"}


def test_the_labs_file_lists_each_slot_with_its_team(unit):
    LabFactory(room="CSSE 2.02", is_open=False)

    header, *data = rows(_text(exports.labs(Lab.objects.all())))

    assert header == exports.LAB_HEADER
    by_room = {row[0]: row for row in data}
    assert by_room["CSSE 2.02"][5:] == ["no", "", "", ""]
    booked = by_room["CSSE 2.01"]
    assert booked[5:] == [
        "yes",
        str(unit["booked"].pk),
        "'=Robots",
        "20000001; 20000002",
    ]
    assert booked[4] == "Australia/Perth"


def test_the_booking_records_file_lists_each_change_oldest_first(unit):
    header, *data = rows(_text(exports.booking_records(BookingRecord.objects.all())))

    assert header == exports.BOOKING_RECORD_HEADER
    (record,) = data
    assert record[2:8] == [
        "Australia/Perth",
        "Book",
        "Page",
        "20000001",
        str(unit["booked"].pk),
        "20000001",
    ]


def _text(export) -> str:
    buffer = io.StringIO()
    export.write(buffer)
    return buffer.getvalue()
