from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.tests.api_helpers import ApiClient, assert_error
from projects import selectors
from projects.models import BookingRecord, BookingWindow, Lab, Project
from projects.tests.factories import LabFactory, lab_starting_in, make_team


@pytest.fixture
def window(db):
    return BookingWindow.get()


def close_booking(window):
    window.booking_open = False
    window.save()


# GET /labs -----------------------------------------------------------------


def test_labs_lists_upcoming_slots_with_their_state(alice, window):
    free = LabFactory()
    closed = LabFactory(is_open=False)
    soon = lab_starting_in(30)  # inside the cut-off: free but not bookable
    lab_starting_in(-30)  # past: hidden

    response = ApiClient(alice).get("/labs")

    assert response.status_code == 200
    body = response.json()
    states = {item["id"]: (item["state"], item["available"]) for item in body["items"]}
    assert states == {
        free.pk: ("free", True),
        closed.pk: ("closed", False),
        soon.pk: ("free", False),
    }
    assert body["count"] == 3


def test_labs_show_times_in_the_units_time_zone(alice, window):
    LabFactory()

    item = ApiClient(alice).get("/labs").json()["items"][0]

    assert item["start"].endswith("+08:00")


def test_labs_filter_by_room_day_and_bookable(alice, window):
    # Explicit days: the factory's sequence moves slots later test by test.
    a = LabFactory(room="A", start=timezone.now() + timedelta(days=2))
    b = LabFactory(room="B", start=timezone.now() + timedelta(days=6))
    LabFactory(
        room="A", is_open=False, start=timezone.now() + timedelta(days=2, hours=1)
    )
    api = ApiClient(alice)

    by_room = api.get("/labs?room=B").json()["items"]
    day = timezone.localtime(b.start).date().isoformat()
    by_day = api.get(f"/labs?day={day}").json()["items"]
    bookable = api.get("/labs?bookable=true&room=A").json()["items"]

    assert [item["id"] for item in by_room] == [b.pk]
    assert [item["id"] for item in by_day] == [b.pk]
    assert [item["id"] for item in bookable] == [a.pk]


def test_labs_are_paginated(alice, window):
    labs = LabFactory.create_batch(5)
    api = ApiClient(alice)

    first = api.get("/labs?limit=2").json()
    third = api.get("/labs?limit=2&offset=4").json()

    assert first["count"] == third["count"] == 5
    assert [item["id"] for item in first["items"]] == [labs[0].pk, labs[1].pk]
    assert [item["id"] for item in third["items"]] == [labs[4].pk]


def test_labs_bad_filters_get_400(alice, window):
    api = ApiClient(alice)

    assert "day" in assert_error(api.get("/labs?day=2026-13-40"), 400)["errors"]
    assert "limit" in assert_error(api.get("/labs?limit=0"), 400)["errors"]
    assert "day" in assert_error(api.get("/labs?day=9999-12-31"), 400)["errors"]


def test_labs_hide_other_teams_names_until_the_schedule_is_published(
    alice, bob, charlie, window
):
    lab = LabFactory()
    make_team(alice, bob, lab=lab)
    api = ApiClient(charlie)

    before = api.get("/labs").json()["items"][0]
    window.schedule_published = True
    window.save()
    after = api.get("/labs").json()["items"][0]

    assert (before["state"], before["team"]) == ("taken", None)
    assert after["team"] == f"Team {lab.project.pk}: Alice, Bob"


def test_labs_mark_my_slot_with_my_team_name(alice, window):
    lab = LabFactory()
    make_team(alice, lab=lab)

    item = ApiClient(alice).get("/labs").json()["items"][0]

    assert item["mine"] is True
    assert item["team"].startswith("Team ")


def test_anonymous_labs_get_401(client, window):
    assert_error(client.get("/api/v1/labs"), 401)


# POST /labs/{id}/book ---------------------------------------------------------


def test_member_books_a_slot(alice, bob, window):
    project = make_team(alice, bob)
    lab = LabFactory()
    assert project.lab is None

    response = ApiClient(bob).post(f"/labs/{lab.pk}/book")

    assert response.status_code == 200
    assert response.json()["lab"]["id"] == lab.pk
    project.refresh_from_db()
    assert project.lab == lab
    record = BookingRecord.objects.get()
    assert (record.action, record.via, record.actor) == ("book", "api", bob)


def test_member_moves_to_another_slot(alice, window):
    old, new = LabFactory.create_batch(2)
    project = make_team(alice, lab=old)

    response = ApiClient(alice).post(f"/labs/{new.pk}/book")

    assert response.status_code == 200
    project.refresh_from_db()
    assert project.lab == new
    record = BookingRecord.objects.filter(action="move").get()
    assert (record.from_lab, record.to_lab, record.via) == (old, new, "api")


def test_booking_a_taken_slot_gets_409_and_changes_nothing(alice, charlie, window):
    lab = LabFactory()
    make_team(alice, lab=lab)
    mine = make_team(charlie)

    response = ApiClient(charlie).post(f"/labs/{lab.pk}/book")

    body = assert_error(response, 409, "slot_taken")
    assert "just taken" in body["detail"]
    mine.refresh_from_db()
    assert mine.lab is None


def test_booking_while_closed_gets_409(alice, window):
    project = make_team(alice)
    lab = LabFactory()
    close_booking(window)

    body = assert_error(ApiClient(alice).post(f"/labs/{lab.pk}/book"), 409)

    assert body["code"] == "booking_closed"
    assert body["detail"] == "Booking is closed."
    project.refresh_from_db()
    assert project.lab is None


def test_booking_inside_the_cut_off_gets_409(alice, window):
    project = make_team(alice)
    lab = lab_starting_in(30)

    assert_error(ApiClient(alice).post(f"/labs/{lab.pk}/book"), 409, "slot_cutoff")
    project.refresh_from_db()
    assert project.lab is None


def test_booking_without_a_project_gets_409(charlie, window):
    lab = LabFactory()

    assert_error(ApiClient(charlie).post(f"/labs/{lab.pk}/book"), 409, "no_project")
    assert not Project.objects.exists()


def test_booking_a_missing_slot_gets_404(alice, window):
    make_team(alice)

    assert_error(ApiClient(alice).post("/labs/999999/book"), 404, "not_found")
    assert_error(ApiClient(alice).post(f"/labs/{2**70}/book"), 404, "not_found")


def test_booking_a_slot_removed_meanwhile_gets_409(alice, window, monkeypatch):
    make_team(alice)
    lab = LabFactory()
    found = selectors.lab_get

    def found_then_removed(*, lab_id):
        slot = found(lab_id=lab_id)
        Lab.objects.filter(pk=slot.pk).delete()
        return slot

    monkeypatch.setattr(selectors, "lab_get", found_then_removed)

    response = ApiClient(alice).post(f"/labs/{lab.pk}/book")

    assert_error(response, 409, "slot_gone")


def test_anonymous_booking_gets_401(client, window):
    lab = LabFactory()

    assert_error(client.post(f"/api/v1/labs/{lab.pk}/book"), 401)
    assert not BookingRecord.objects.exists()


def test_booking_by_get_gets_405(alice, window):
    lab = LabFactory()

    response = ApiClient(alice).get(f"/labs/{lab.pk}/book")

    assert_error(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"


# DELETE /me/project/lab -----------------------------------------------------------


def test_member_releases_the_slot(alice, bob, window):
    lab = LabFactory()
    project = make_team(alice, bob, lab=lab)

    response = ApiClient(bob).delete("/me/project/lab")

    assert response.status_code == 200
    assert response.json()["lab"] is None
    project.refresh_from_db()
    assert project.lab is None
    record = BookingRecord.objects.filter(action="release").get()
    assert (record.from_lab, record.via) == (lab, "api")


def test_releasing_without_a_slot_gets_409(alice, window):
    make_team(alice)

    assert_error(ApiClient(alice).delete("/me/project/lab"), 409, "no_slot")


def test_releasing_while_closed_gets_409(alice, window):
    lab = LabFactory()
    project = make_team(alice, lab=lab)
    close_booking(window)

    assert_error(ApiClient(alice).delete("/me/project/lab"), 409, "booking_closed")
    project.refresh_from_db()
    assert project.lab == lab


def test_releasing_without_a_project_gets_409(charlie, window):
    assert_error(ApiClient(charlie).delete("/me/project/lab"), 409, "no_project")


def test_anonymous_release_gets_401(client, window):
    assert_error(client.delete("/api/v1/me/project/lab"), 401)
