"""`GET /api/v1/me/notifications`, `POST /api/v1/me/notifications/read`,
and the calendar feed's URL in `/me`."""

import pytest
from django.utils import timezone

from accounts.tests.api_helpers import ApiClient, assert_error
from notifications import calendar as feeds
from notifications.models import Notification

pytestmark = pytest.mark.django_db


def notify(user, text="Hello", read=False, link="/labs/"):
    return Notification.objects.create(
        user=user,
        kind="announcement",
        text=text,
        link=link,
        read_at=timezone.now() if read else None,
    )


def test_lists_my_notifications_newest_first_with_counts(alice, bob):
    old = notify(alice, "old", read=True)
    new = notify(alice, "new")
    notify(bob, "not mine")

    body = ApiClient(alice).get("/me/notifications").json()

    assert body["count"] == 2
    assert body["unread"] == 1
    assert [item["id"] for item in body["items"]] == [new.pk, old.pk]
    item = body["items"][0]
    assert item["text"] == "new"
    assert item["read"] is False
    assert item["link"] == "http://127.0.0.1:8000/labs/"
    assert item["kind"] == "announcement"
    assert item["created_at"].endswith("+08:00")


def test_filters_unread_and_pages(alice):
    for n in range(5):
        notify(alice, f"n{n}")
    notify(alice, "seen", read=True)

    api = ApiClient(alice)
    unread = api.get("/me/notifications?unread=true&limit=2&offset=1").json()
    read = api.get("/me/notifications?unread=false").json()

    assert unread["count"] == 5
    assert [item["text"] for item in unread["items"]] == ["n3", "n2"]
    assert [item["text"] for item in read["items"]] == ["seen"]


def test_bad_paging_is_400(alice):
    assert_error(ApiClient(alice).get("/me/notifications?limit=0"), 400, "invalid")


def test_marking_all_read(alice, bob):
    notify(alice)
    theirs = notify(bob)

    response = ApiClient(alice).post("/me/notifications/read", {})

    assert response.status_code == 200
    assert response.json() == {"unread": 0}
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_marking_some_read_ignores_others_notifications(alice, bob):
    mine, other = notify(alice), notify(alice)
    theirs = notify(bob)

    response = ApiClient(alice).post(
        "/me/notifications/read", {"ids": [mine.pk, theirs.pk, 2**70]}
    )

    assert response.json() == {"unread": 1}
    mine.refresh_from_db()
    other.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.read_at is not None
    assert other.read_at is None
    assert theirs.read_at is None


def test_marking_read_needs_a_json_body_and_changes_nothing_without(alice):
    notification = notify(alice)

    assert_error(ApiClient(alice).post("/me/notifications/read"), 400, "invalid")
    notification.refresh_from_db()
    assert notification.read_at is None


def test_anonymous_gets_401(db):
    assert_error(ApiClient().get("/me/notifications"), 401, "unauthorized")
    assert_error(ApiClient().post("/me/notifications/read", {}), 401)


def test_me_gives_the_calendar_feed_url_once_there_is_one(alice):
    api = ApiClient(alice)
    assert api.get("/me").json()["calendar_url"] is None

    feed = feeds.calendar_feed_regenerate(user=alice)

    url = api.get("/me").json()["calendar_url"]
    assert url == feeds.feed_url(feed)
    assert url.startswith("http://127.0.0.1:8000/calendar/") and url.endswith(".ics")


def test_the_schema_documents_the_endpoints(client, db):
    schema = client.get("/api/v1/openapi.json").json()

    assert "get" in schema["paths"]["/api/v1/me/notifications"]
    assert "post" in schema["paths"]["/api/v1/me/notifications/read"]
    assert "calendar_url" in schema["components"]["schemas"]["MeOut"]["properties"]
