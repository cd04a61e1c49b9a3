"""Notification emails: their content, retries when the server fails, and
what the admin shows."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend
from django.utils import timezone

from notifications import mail as notification_mail
from notifications import services as notification_services
from notifications.models import Category, EmailDelivery, Notification
from notifications.tasks import send_emails
from notifications.tests.conftest import mailed, run_worker
from notifications.worker import tick
from projects import services
from projects.tests.factories import make_team

pytestmark = pytest.mark.django_db


class DownBackend(EmailBackend):
    """A mail server that refuses every message."""

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server not answering")


@pytest.fixture
def solo(alice):
    return make_team(alice, description="Line-following robot")


def invite(committed, solo, alice, bob):
    return committed(
        services.invitation_send, user=alice, project=solo, invitee_number=bob.username
    )


def test_the_email_has_plain_text_html_a_link_back_and_the_unit_name(
    committed, settings, solo, alice, bob
):
    settings.PAIRUP_UNIT_NAME = "COMP1234 Projects"
    settings.PAIRUP_SITE_URL = "https://pairup.example.edu"
    invitation = invite(committed, solo, alice, bob)

    [email] = mailed(bob)
    assert email.subject.startswith("[COMP1234 Projects] Alice invited you")
    assert email.from_email == settings.DEFAULT_FROM_EMAIL
    [notification] = Notification.objects.filter(user=bob)
    link = f"https://pairup.example.edu/notifications/{notification.pk}/?next="
    assert f"{link}%2F%23invitation-{invitation.pk}" in email.body
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    assert f'href="{link}%2F%23invitation-{invitation.pk}"' in html
    assert "https://pairup.example.edu/accounts/profile/#notifications" in email.body


def test_the_email_link_opens_the_notification_so_the_bell_counts_it_read(
    committed, client, solo, alice, bob
):
    """As a click in the bell does: read from the email, the notification
    isn't left unread, and the link still lands where it acts."""
    invitation = invite(committed, solo, alice, bob)
    [email] = mailed(bob)
    [notification] = Notification.objects.filter(user=bob)
    path = f"/notifications/{notification.pk}/"
    assert path in email.body
    client.force_login(bob)

    response = client.get(path)

    assert response.status_code == 302
    assert response.url == f"/#invitation-{invitation.pk}"
    notification.refresh_from_db()
    assert notification.read_at is not None


@pytest.mark.parametrize(
    ("unit", "signed"),
    [
        ("Pair-Up", "Pair-Up"),  # the default: not "Pair-Up on Pair-Up"
        ("COMP1234 Projects", "COMP1234 Projects on Pair-Up"),
    ],
)
def test_the_footer_names_the_unit_once(
    committed, settings, solo, alice, bob, unit, signed
):
    settings.PAIRUP_UNIT_NAME = unit
    invite(committed, solo, alice, bob)

    [email] = mailed(bob)
    footer = email.body.split("\n--\n", 1)[1]
    assert footer.splitlines()[0] == signed
    assert "Pair-Up on Pair-Up" not in email.body
    [(html, _mimetype)] = email.alternatives
    assert f'color: #495057;">{signed}. You get this email' in html
    assert "Pair-Up on Pair-Up" not in html


def test_a_multi_line_announcement_is_mailed_with_a_one_line_subject(
    committed, alice, dana
):
    notification_services.preferences_update(
        user=alice, email={Category.ANNOUNCEMENTS: True}
    )
    committed(
        notification_services.announcement_send,
        actor=dana,
        message="Labs moved.\r\n\n  See the board.\tThanks",
    )

    delivery = EmailDelivery.objects.get(user=alice)
    assert delivery.status == EmailDelivery.Status.SENT, delivery.last_error
    [email] = mailed(alice)
    assert email.subject == (
        "[Pair-Up] Dana (coordinator): Labs moved. See the board. Thanks"
    )
    assert "See the board." in email.body


def test_a_multi_line_announcement_keeps_its_line_breaks_in_the_html_part(
    committed, alice, dana
):
    notification_services.preferences_update(
        user=alice, email={Category.ANNOUNCEMENTS: True}
    )
    committed(
        notification_services.announcement_send,
        actor=dana,
        message="Bring:\nyour laptop\nO'Brien & <b>Zoë</b>",
    )

    [email] = mailed(alice)
    assert "Bring:\nyour laptop\nO'Brien & <b>Zoë</b>" in email.body
    [(html, _mimetype)] = email.alternatives
    assert "Bring:<br>your laptop<br>O&#x27;Brien &amp; &lt;b&gt;Zoë&lt;/b&gt;" in html


def test_a_subject_collapses_every_run_of_whitespace_to_one_space():
    subject = notification_mail.subject_for("Robot\nthat\u2028sorts \x0b\r kits")

    assert subject == "[Pair-Up] Robot that sorts kits"


@pytest.mark.parametrize("line_break", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_a_stored_multi_line_subject_is_sent_on_one_line(line_break, alice):
    # Rows stored before subjects were collapsed when rendered still hold
    # the line break, which no mail header may carry.
    subject = f"[Pair-Up] Labs moved.{line_break}  See the board."
    delivery = EmailDelivery.objects.create(
        user=alice,
        to=alice.email,
        kind="announcement",
        subject=subject,
        body="x",
        html="x",
    )
    send_emails.enqueue([delivery.pk])

    run_worker()

    delivery.refresh_from_db()
    assert delivery.status == EmailDelivery.Status.SENT, delivery.last_error
    assert delivery.attempts == 1
    assert delivery.subject == subject  # the record keeps what was stored
    [email] = mailed(alice)
    assert email.subject == "[Pair-Up] Labs moved. See the board."


def test_sending_waits_for_the_worker_so_the_action_never_waits_for_mail(
    django_capture_on_commit_callbacks, solo, alice, bob
):
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send(user=alice, project=solo, invitee_number=bob.username)

    assert mail.outbox == []
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.PENDING
    run_worker()
    assert len(mail.outbox) == 1
    assert EmailDelivery.objects.get().status == EmailDelivery.Status.SENT


def test_a_failing_mail_server_never_fails_the_action_and_is_retried(
    committed, settings, solo, alice, bob
):
    settings.EMAIL_BACKEND = "notifications.tests.test_mail.DownBackend"
    invitation = invite(committed, solo, alice, bob)  # no exception

    assert invitation.pk is not None
    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.PENDING
    assert delivery.attempts == 1
    assert "SMTP server not answering" in delivery.last_error
    assert delivery.next_attempt_at > timezone.now()

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with time_machine.travel(delivery.next_attempt_at + timedelta(seconds=1)):
        run_worker()

    delivery.refresh_from_db()
    assert delivery.status == EmailDelivery.Status.SENT
    assert delivery.attempts == 2
    assert len(mailed(bob)) == 1


def test_an_email_that_keeps_failing_is_marked_failed_after_the_last_attempt(
    committed, settings, solo, alice, bob
):
    settings.EMAIL_BACKEND = "notifications.tests.test_mail.DownBackend"
    invite(committed, solo, alice, bob)
    moment = timezone.now()
    for _ in range(notification_mail.MAX_ATTEMPTS):
        moment += timedelta(hours=3)
        with time_machine.travel(moment):
            run_worker()

    delivery = EmailDelivery.objects.get()
    assert delivery.status == EmailDelivery.Status.FAILED
    assert delivery.attempts == notification_mail.MAX_ATTEMPTS
    assert mail.outbox == []


def test_an_email_whose_task_was_lost_is_queued_again_by_the_clock(
    django_capture_on_commit_callbacks, solo, alice, bob
):
    from django_tasks_db.models import DBTaskResult

    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_send(user=alice, project=solo, invitee_number=bob.username)
    DBTaskResult.objects.all().delete()  # the queued task is gone

    with time_machine.travel(timezone.now() + timedelta(minutes=20)):
        tick()
        run_worker()

    assert len(mailed(bob)) == 1


def test_the_admin_shows_sent_and_failed_emails_read_only(
    committed, settings, client, solo, alice, bob, dana
):
    invite(committed, solo, alice, bob)
    settings.EMAIL_BACKEND = "notifications.tests.test_mail.DownBackend"
    EmailDelivery.objects.update(status=EmailDelivery.Status.SENT)
    failed = EmailDelivery.objects.create(
        user=bob,
        to=bob.email,
        kind="announcement",
        subject="[Pair-Up] Broken",
        body="x",
        html="x",
        status=EmailDelivery.Status.FAILED,
        attempts=5,
        last_error="ConnectionRefusedError: SMTP server not answering",
    )
    client.force_login(dana)

    listing = client.get("/admin/notifications/emaildelivery/")
    detail = client.get(f"/admin/notifications/emaildelivery/{failed.pk}/change/")

    assert listing.status_code == 200
    body = listing.content.decode()
    assert "Alice invited you" in body and "[Pair-Up] Broken" in body
    assert "SMTP server not answering" in body
    assert detail.status_code == 200
    assert 'name="_save"' not in detail.content.decode()  # read-only
    assert client.get("/admin/notifications/emaildelivery/add/").status_code == 403


def test_the_email_link_still_leads_on_once_the_notification_is_gone(
    committed, client, solo, alice, bob, charlie
):
    """Notifications are kept 90 days, emails for ever: an old email's link,
    or one opened while signed in as someone else, goes where it acts (that
    page checks access as always), answering alike for both (nothing leaks)."""
    invitation = invite(committed, solo, alice, bob)
    [email] = mailed(bob)
    [notification] = Notification.objects.filter(user=bob)
    [link] = [w for w in email.body.split() if "/notifications/" in w]
    path = link.removeprefix("http://127.0.0.1:8000")

    client.force_login(charlie)
    someone_elses = client.get(path)
    notification.delete()
    client.force_login(bob)
    gone = client.get(path)

    for response in (someone_elses, gone):
        assert response.status_code == 302
        assert response.url == f"/#invitation-{invitation.pk}"


def test_an_email_link_follows_only_a_same_site_target(client, bob):
    client.force_login(bob)

    response = client.get("/notifications/999/?next=https://evil.example/")

    assert response.status_code == 404
