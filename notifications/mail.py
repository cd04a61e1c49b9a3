"""Notification emails: rendered when the notification is stored, sent by
the worker, retried when the mail server fails, recorded either way.

An email is rendered once, into its `EmailDelivery` row (plain text, HTML,
the .ics file), so the admin shows exactly what was sent and a retry sends
the same thing. Sending runs in the `send_emails` task: a failure is
recorded and retried later with growing delays (MAX_ATTEMPTS in all); it
never reaches the action that caused the email, which committed before.
"""

import logging
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from notifications import ics
from notifications.kinds import category_of
from notifications.models import Category, EmailDelivery, Notification

logger = logging.getLogger(__name__)

# Delays before the 2nd, 3rd, ... attempt; the last failure is final.
RETRY_DELAYS = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A queued email whose task never ran (a crash, a lost row), or one claimed
# by a worker that died while sending, is queued again after this long.
STALE_AFTER = timedelta(minutes=15)
SUBJECT_MAX = 120
PRODUCT = "Pair-Up"
DEACTIVATED = "Not sent: the account was deactivated."


def site_url() -> str:
    """The address mailed links and feeds use (never a request's Host).

    PAIRUP_SITE_URL comes with the deployment settings (README, Configuration).
    """
    return settings.PAIRUP_SITE_URL


def absolute(path: str) -> str:
    return f"{site_url()}{path}" if path.startswith("/") else path


def one_line(text: str) -> str:
    """Return `text` with every run of whitespace as one space, trimmed."""
    return " ".join(text.split())


def subject_for(text: str) -> str:
    """Return the one-line subject of an email saying `text`.

    Every run of whitespace becomes one space: user text (an announcement,
    a description, a name) may hold a newline, and a header can't.
    """
    text = one_line(text)
    if len(text) > SUBJECT_MAX:
        text = text[: SUBJECT_MAX - 1].rstrip() + "…"
    return f"[{settings.PAIRUP_UNIT_NAME}] {text}"


def signature(unit: str) -> str:
    """Return who an email is from, as its footer says: "<unit> on
    Pair-Up", or just "Pair-Up" when the unit kept the default name."""
    if unit.casefold() == PRODUCT.casefold():
        return PRODUCT
    return f"{unit} on {PRODUCT}"


def _opening(notification: Notification) -> str:
    """The email's link: through the notification, which marks it read
    (as a click in the bell does) and goes where it acts."""
    if notification.pk is None:  # not stored (a database without RETURNING)
        return notification.link or reverse("notifications:notification_list")
    opening = reverse("notifications:notification_open", args=[notification.pk])
    if notification.link:
        opening += "?" + urlencode({"next": notification.link})
    return opening


def render(notification: Notification, *, event: dict | None) -> EmailDelivery:
    """Return the (unsaved) email of a notification to its user."""
    user = notification.user
    category = category_of(notification.kind)
    context = {
        "user": user,
        "text": notification.text,
        "link": absolute(_opening(notification)),
        "unit": settings.PAIRUP_UNIT_NAME,
        "signature": signature(settings.PAIRUP_UNIT_NAME),
        "category": Category(category).label,
        "preferences": absolute(reverse("profile") + "#notifications"),
        "event": event,
        "cancelled": bool(event) and event["method"] == ics.CANCEL,
    }
    attachment = ""
    if event is not None:
        attachment = ics.message(
            event, attendee=user.email, attendee_name=user.get_full_name()
        )
    return EmailDelivery(
        notification=notification,
        user=user,
        to=user.email,
        kind=notification.kind,
        subject=subject_for(notification.text),
        body=render_to_string("notifications/email/notification.txt", context),
        html=render_to_string("notifications/email/notification.html", context),
        ics=attachment,
    )


def queue(notifications: list[Notification], *, event: dict | None) -> None:
    """Store the emails of these notifications and queue them for the worker.

    Call inside a transaction: with the database task backend the task row
    commits with the emails, or neither does.
    """
    if not notifications:
        return
    from notifications.tasks import send_emails

    deliveries = EmailDelivery.objects.bulk_create(
        [render(notification, event=event) for notification in notifications]
    )
    send_emails.enqueue([delivery.pk for delivery in deliveries])


def message_of(delivery: EmailDelivery, connection=None) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        # Rows stored before subjects were made one line when rendered may
        # hold a line break, which Django refuses in a header (every retry).
        one_line(delivery.subject),
        delivery.body,
        settings.DEFAULT_FROM_EMAIL,
        [delivery.to],
        connection=connection,
    )
    message.attach_alternative(delivery.html, "text/html")
    if delivery.ics:
        method = "CANCEL" if "METHOD:CANCEL" in delivery.ics else "REQUEST"
        message.attach(
            "cancel.ics" if method == "CANCEL" else "invite.ics",
            delivery.ics,
            f"text/calendar; method={method}",
        )
    return message


def send(delivery_ids: list[int], *, now=None) -> dict:
    """Send the waiting emails among `delivery_ids`; return what happened.

    Each email is claimed first (waiting -> being sent, one UPDATE), so two
    workers never send one twice. A failure is recorded and the email is
    queued again after a delay, or marked failed after MAX_ATTEMPTS. An
    email to an account deactivated since it was queued is marked failed
    unsent.
    """
    from notifications.tasks import send_emails

    Status = EmailDelivery.Status
    result = {"sent": 0, "retrying": 0, "failed": 0}
    retry_at = None
    retry_ids = []
    connection = None
    for pk in delivery_ids:
        now = timezone.now()
        claimed = EmailDelivery.objects.filter(pk=pk, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
        )
        if not claimed:
            continue
        delivery = EmailDelivery.objects.select_related("user").get(pk=pk)
        if not delivery.user.is_active:
            # Deactivated after the email was queued (or between retries).
            EmailDelivery.objects.filter(pk=pk).update(
                status=Status.FAILED,
                next_attempt_at=None,
                last_error=DEACTIVATED,
            )
            result["failed"] += 1
            continue
        try:
            if connection is None:
                connection = get_connection()
            message_of(delivery, connection).send()
        except Exception as error:
            connection = None
            detail = f"{type(error).__name__}: {error}"[:2000]
            if delivery.attempts >= MAX_ATTEMPTS:
                logger.error("email %s failed for good: %s", pk, detail)
                fields = {"status": Status.FAILED, "next_attempt_at": None}
                result["failed"] += 1
            else:
                when = now + RETRY_DELAYS[delivery.attempts - 1]
                logger.warning("email %s failed (%s); retrying at %s", pk, detail, when)
                fields = {"status": Status.PENDING, "next_attempt_at": when}
                retry_ids.append(pk)
                retry_at = min(retry_at or when, when)
                result["retrying"] += 1
            EmailDelivery.objects.filter(pk=pk).update(last_error=detail, **fields)
        else:
            EmailDelivery.objects.filter(pk=pk).update(
                status=Status.SENT, sent_at=timezone.now(), next_attempt_at=None
            )
            result["sent"] += 1
    if retry_ids:
        send_emails.using(run_after=retry_at).enqueue(retry_ids)
    return result


def requeue_stale(*, now=None) -> int:
    """Queue again the emails whose task was lost or whose worker died."""
    from notifications.tasks import send_emails

    Status = EmailDelivery.Status
    now = now or timezone.now()
    cutoff = now - STALE_AFTER
    EmailDelivery.objects.filter(status=Status.SENDING, claimed_at__lt=cutoff).update(
        status=Status.PENDING
    )
    stale = list(
        EmailDelivery.objects.filter(status=Status.PENDING)
        .filter(
            Q(next_attempt_at__lt=cutoff)
            | Q(next_attempt_at__isnull=True, created_at__lt=cutoff)
        )
        .values_list("pk", flat=True)[:1000]
    )
    if stale:
        send_emails.enqueue(stale)
    return len(stale)
