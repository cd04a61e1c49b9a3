"""A date drill-down URL made by hand with a date out of range is a bad
lookup like any other: Django's redirect to `?e=1`, not a 500."""

from datetime import datetime

import pytest
from django.contrib import admin
from django.utils import timezone

from chat.models import Message, Room
from pairup.admin import DateDrillDownChangeList

pytestmark = pytest.mark.django_db

CHANGELISTS = {
    "/admin/chat/message/": "sent_at",
    "/admin/projects/bookingrecord/": "created_at",
    "/admin/notifications/emaildelivery/": "created_at",
    "/admin/axes/accessattempt/": "attempt_time",
}
BAD_DATES = [
    "year=9999",
    "year=9999&{field}__month=12",
    "year=9999&{field}__month=12&{field}__day=31",
    "year=1",
    "year=0",
    "year=-1",
    "year=abc",
    "year=2026&{field}__month=13",
    "year=2026&{field}__month=2&{field}__day=30",
]


@pytest.mark.parametrize("path", CHANGELISTS)
@pytest.mark.parametrize("date", BAD_DATES)
def test_a_date_out_of_range_redirects_like_a_bad_lookup(client, dana, path, date):
    field = CHANGELISTS[path]
    client.force_login(dana)

    response = client.get(f"{path}?{field}__{date.format(field=field)}")

    assert response.status_code == 302
    assert response["Location"] == f"{path}?e=1"


@pytest.mark.parametrize("path", CHANGELISTS)
def test_the_last_month_a_date_can_end_in_still_lists(client, dana, path):
    field = CHANGELISTS[path]
    client.force_login(dana)

    response = client.get(f"{path}?{field}__year=9999&{field}__month=11")

    assert response.status_code == 200


def test_a_year_in_range_still_filters(client, dana, alice):
    lobby = Room.objects.get(slug="lobby")
    for year in (2025, 2026):
        Message.objects.create(
            room=lobby,
            author=alice,
            text=f"said in {year}",
            sent_at=timezone.make_aware(datetime(year, 6, 1, 12)),  # noqa: DTZ001
        )
    client.force_login(dana)

    response = client.get("/admin/chat/message/?sent_at__year=2025")

    assert response.status_code == 200
    assert "said in 2025" in response.text
    assert "said in 2026" not in response.text


def test_every_date_drill_down_of_the_site_uses_the_guarded_changelist(rf):
    drilled = [
        model_admin
        for model_admin in admin.site._registry.values()
        if model_admin.date_hierarchy
    ]

    assert len(drilled) >= len(CHANGELISTS)
    for model_admin in drilled:
        changelist = model_admin.get_changelist(rf.get("/"))
        assert issubclass(changelist, DateDrillDownChangeList), model_admin
