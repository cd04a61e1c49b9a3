"""The bell, `/notifications/`, email choices and the calendar feed pages,
all without JavaScript."""

import re

import pytest
from django.utils import timezone
from django.utils.html import escape
from icalendar import Calendar

from notifications import calendar as feeds
from notifications.models import CalendarFeed, Category, EmailPreference, Notification
from notifications.selectors import unread_count
from pairup.tests.html import assert_every_control_labelled
from projects import services
from projects.tests.factories import LabFactory

pytestmark = pytest.mark.django_db
LIST = "/notifications/"


def notify(user, text="Hello", link="/labs/", read=False):
    return Notification.objects.create(
        user=user,
        kind="announcement",
        text=text,
        link=link,
        read_at=timezone.now() if read else None,
    )


def bell(html: str) -> str:
    return re.search(r'<a class="nav-link bell".*?</a>', html, re.S)[0]


def test_every_signed_in_page_shows_the_bell_with_the_unread_count(client, alice):
    notify(alice)
    notify(alice)
    notify(alice, read=True)
    client.force_login(alice)

    html = client.get("/").content.decode()

    assert 'aria-label="Notifications, 2 unread"' in bell(html)
    assert 'data-testid="bell-count">2</span>' in bell(html)
    assert 'href="/notifications/"' in bell(html)
    assert 'aria-live="polite"' in html  # where new ones are announced


def test_the_bell_counts_only_this_users_unread_notifications(client, alice, bob):
    notify(alice)
    notify(alice, read=True)
    notify(bob)
    notify(bob)
    client.force_login(alice)

    html = client.get("/").content.decode()

    assert 'data-testid="bell-count">1</span>' in bell(html)
    assert unread_count(user=bob) == 2
    assert unread_count(user=alice) == (
        Notification.objects.unread().filter(user=alice).count()
    )


def test_the_bell_shows_no_badge_without_unread_notifications(client, alice):
    client.force_login(alice)

    html = client.get("/").content.decode()

    assert 'aria-label="Notifications"' in bell(html)
    assert "d-none" in bell(html)


def test_a_signed_out_page_has_no_bell(client, db):
    assert 'class="nav-link bell"' not in client.get("/").content.decode()


def test_the_list_shows_my_notifications_newest_first_with_unread_marked(
    client, alice, bob
):
    notify(alice, "first", read=True)
    notify(alice, "second")
    notify(bob, "not mine")
    client.force_login(alice)

    response = client.get(LIST)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.index("second") < html.index("first")
    assert "not mine" not in html
    assert html.count(">New</span>") == 1
    assert "Mark all read" in html


def test_the_list_keeps_an_announcements_line_breaks_and_escapes_it_once(client, alice):
    notify(alice, text="Dana (coordinator): Bring:\nyour laptop\nO'Brien & <b>Zoë</b>")
    client.force_login(alice)

    html = client.get(LIST).content.decode()

    assert "Bring:<br>your laptop<br>O&#x27;Brien &amp; &lt;b&gt;Zoë&lt;/b&gt;" in html


def test_the_list_costs_the_same_queries_however_many_there_are(
    client, alice, django_assert_num_queries
):
    notify(alice)
    client.force_login(alice)
    # session, user, the bell's unread count, one page of notifications
    with django_assert_num_queries(4):
        client.get(LIST)
    for n in range(80):
        notify(alice, f"n{n}")
    with django_assert_num_queries(4):
        response = client.get(LIST)
    assert "Older notifications" in response.content.decode()


def test_older_notifications_page_by_id(client, alice):
    items = [notify(alice, f"number {n}") for n in range(35)]
    client.force_login(alice)

    first = client.get(LIST).content.decode()
    older = client.get(LIST, {"before": items[5].pk}).content.decode()

    assert "number 34" in first and "number 4 " not in first
    assert "number 4" in older and "number 5" not in older
    assert "Back to the newest" in older
    assert client.get(LIST, {"before": "junk"}).status_code == 200


@pytest.mark.parametrize(
    "before", ["\u00b2", "\u0661\u0662", "\uff15", "9" * 5000, "-3", "0", str(2**63)]
)
def test_a_before_that_is_no_id_shows_the_newest(client, alice, before):
    # Digits that str.isdigit() accepts but int() refuses (superscripts)
    # or reads (Arabic-Indic, full-width), and more digits than int()
    # converts: never a server error, and no page of "older" ones.
    notify(alice, "the newest")
    client.force_login(alice)

    response = client.get(LIST, {"before": before})

    assert response.status_code == 200
    assert "the newest" in response.content.decode()
    assert "Back to the newest" not in response.content.decode()  # not paged


def test_mark_all_read(client, alice, bob):
    notify(alice)
    theirs = notify(bob)
    client.force_login(alice)

    response = client.post("/notifications/read/")

    assert response.status_code == 302
    assert Notification.objects.unread().filter(user=alice).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_opening_a_notification_marks_it_read_and_goes_where_it_acts(client, alice):
    notification = notify(alice, link="/#invitation-7")
    client.force_login(alice)

    response = client.get(f"/notifications/{notification.pk}/")

    assert response.status_code == 302
    assert response["Location"] == "/#invitation-7"
    notification.refresh_from_db()
    assert notification.read_at is not None


def test_someone_elses_notification_is_404(client, alice, bob):
    notification = notify(bob)
    client.force_login(alice)

    assert client.get(f"/notifications/{notification.pk}/").status_code == 404
    notification.refresh_from_db()
    assert notification.read_at is None


def test_anonymous_is_sent_to_sign_in(client, db):
    for url in (LIST, "/notifications/1/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")


def test_wrong_methods_are_405(client, alice):
    client.force_login(alice)

    assert client.get("/notifications/read/").status_code == 405
    assert client.post(LIST).status_code == 405
    assert client.get("/notifications/preferences/").status_code == 405
    assert client.get("/calendar/new/").status_code == 405


def test_the_profile_page_has_email_choices_with_the_defaults(client, alice):
    client.force_login(alice)

    html = client.get("/accounts/profile/").content.decode()

    assert 'id="notifications"' in html
    for category in Category:
        assert escape(category.label) in html
    assert re.search(r'name="invitations" id="id_invitations" checked', html)
    assert re.search(r'name="announcements" id="id_announcements">', html)
    assert_every_control_labelled(html)


def test_saving_email_choices(client, alice):
    client.force_login(alice)

    response = client.post(
        "/notifications/preferences/", {"announcements": "on", "reminders": "on"}
    )

    assert response.status_code == 302
    assert response["Location"] == "/accounts/profile/#notifications"
    chosen = dict(
        EmailPreference.objects.filter(user=alice).values_list("category", "email")
    )
    assert chosen["announcements"] is True
    assert chosen["reminders"] is True
    assert chosen["invitations"] is False


def test_a_student_creates_and_subscribes_to_a_calendar_feed(client, team, alice):
    lab = LabFactory()
    services.lab_book(user=alice, project=team, lab=lab)
    client.force_login(alice)

    client.post("/calendar/new/")
    html = client.get("/accounts/profile/").content.decode()
    url = re.search(r'value="(http://127\.0\.0\.1:8000/calendar/\w+\.ics)"', html)[1]
    client.logout()
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))

    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    [event] = Calendar.from_ical(response.content).events
    assert event.start == lab.start


def test_a_new_feed_address_replaces_the_old_and_revoking_ends_it(client, alice):
    client.force_login(alice)
    client.post("/calendar/new/")
    old = feeds.feed_url(CalendarFeed.objects.get(user=alice))
    client.post("/calendar/new/")
    new = feeds.feed_url(CalendarFeed.objects.get(user=alice))

    assert old != new
    assert client.get(old.removeprefix("http://127.0.0.1:8000")).status_code == 404
    assert client.get(new.removeprefix("http://127.0.0.1:8000")).status_code == 200
    client.post("/calendar/revoke/")
    assert client.get(new.removeprefix("http://127.0.0.1:8000")).status_code == 404


def test_a_forged_feed_token_is_404(client, alice):
    feed = feeds.calendar_feed_regenerate(user=alice)

    assert client.get(f"/calendar/{feed.nonce}{'0' * 32}.ics").status_code == 404
    assert client.get("/calendar/short.ics").status_code == 404


def test_a_feed_stops_working_when_the_account_is_deactivated(client, alice):
    feed = feeds.calendar_feed_regenerate(user=alice)
    path = feeds.feed_url(feed).removeprefix("http://127.0.0.1:8000")
    alice.is_active = False
    alice.save()

    assert client.get(path).status_code == 404


def test_the_feed_costs_the_same_queries_for_a_coordinator(
    client, dana, django_assert_num_queries
):
    from accounts.tests.factories import StudentFactory
    from projects.tests.factories import make_team

    feed = feeds.calendar_feed_regenerate(user=dana)
    path = feeds.feed_url(feed).removeprefix("http://127.0.0.1:8000")
    make_team(StudentFactory(), lab=LabFactory())
    # the feed with its user, the coordinator group, the events
    with django_assert_num_queries(3):
        client.get(path)
    for _ in range(5):
        make_team(StudentFactory(), lab=LabFactory())
    with django_assert_num_queries(3):
        response = client.get(path)
    assert len(Calendar.from_ical(response.content).events) == 6


def test_turning_off_a_feed_already_off_says_so(client, alice):
    # A second tab, or the button pressed twice: before, the profile came
    # back with no message at all.
    client.force_login(alice)

    response = client.post("/calendar/revoke/", follow=True)

    assert response.redirect_chain[-1][0] == "/accounts/profile/#calendar"
    assert "Your calendar feed was already off." in response.content.decode()
