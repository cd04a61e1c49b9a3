"""Reminders: before each team's slot, and before booking opens.

A reminder is a row, scheduled inside the transaction that books the slot
(or sets the booking window's opening) and withdrawn inside the one that
moves or releases it. A deferred task (`send_due_reminders`, run after the
reminder's time) sends it; the worker's clock runs the same sweep every
half minute, so a reminder whose task was lost (a crash, a restart) still
goes out. Each reminder is claimed with one conditional UPDATE in the same
transaction that stores its notifications: two workers racing for it send
it once, and a worker that dies before committing leaves it for the next.
A reminder for a slot that has passed is never sent.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications.models import Kind, Reminder

User = get_user_model()
logger = logging.getLogger(__name__)

BOOKING_OPENS_NOTICE = timedelta(hours=1)


def _enqueue_at(moments) -> None:
    """Queue the sweep to run at each moment (inside the caller's transaction)."""
    from notifications.tasks import send_due_reminders

    for moment in sorted(set(moments)):
        send_due_reminders.using(run_after=moment).enqueue()


# Before a slot -------------------------------------------------------------


def schedule_for_slot(event, *, now=None, new: bool = False) -> list[Reminder]:
    """(Re)schedule the reminders of a booking at its current time.

    `new`: the event was made just now, so it has no reminders to withdraw.
    """
    now = now or timezone.now()
    if not new:
        withdraw_for_slot(event)
    reminders = [
        Reminder(
            type=Reminder.Type.SLOT,
            event=event,
            before=before,
            due_at=event.start - before,
        )
        for before in settings.PAIRUP_REMINDERS
        if event.start - before > now
    ]
    Reminder.objects.bulk_create(reminders)
    _enqueue_at(reminder.due_at for reminder in reminders)
    return reminders


def withdraw_for_slot(event) -> None:
    Reminder.objects.filter(event=event, status=Reminder.Status.SCHEDULED).update(
        status=Reminder.Status.CANCELLED
    )


# Before booking opens -------------------------------------------------------


def _upcoming_opening(window, now) -> datetime | None:
    """The moment booking opens by the window's times, if that is ahead."""
    if window.booking_open and window.opens_at and window.opens_at > now:
        return window.opens_at
    return None


def schedule_booking_opening(*, before, after, now=None) -> Reminder | None:
    """Schedule the "booking opens" notice for the window's next opening.

    `before` and `after` are the booking window's states around a change.
    An opening is `opens_at` ahead with the switch on, or now, when the
    change itself opened booking. Notices for other openings are withdrawn;
    each opening is told once (a reminder per opening, sent or not).
    """
    now = now or timezone.now()
    opening = _upcoming_opening(after, now)
    if (
        opening is None
        and after.is_booking_open(now)
        and not before.is_booking_open(now)
    ):
        opening = now
    scheduled = Reminder.objects.filter(
        type=Reminder.Type.BOOKING_OPENS, status=Reminder.Status.SCHEDULED
    )
    if opening is None:
        scheduled.update(status=Reminder.Status.CANCELLED)
        return None
    scheduled.exclude(opening=opening).update(status=Reminder.Status.CANCELLED)
    due = max(opening - BOOKING_OPENS_NOTICE, now)
    reminder, created = Reminder.objects.get_or_create(
        type=Reminder.Type.BOOKING_OPENS,
        opening=opening,
        defaults={"due_at": due},
    )
    if not created:
        if reminder.status != Reminder.Status.CANCELLED:
            return reminder  # already scheduled, or already told
        reminder.status = Reminder.Status.SCHEDULED
        reminder.due_at = due
        reminder.save(update_fields=["status", "due_at"])
    _enqueue_at([due])
    return reminder


# Sending -----------------------------------------------------------------


def _in(delta: timedelta) -> str:
    minutes = max(1, round(delta.total_seconds() / 60))
    if minutes >= 48 * 60:
        days = round(minutes / (24 * 60))
        return f"in {days} days"
    if minutes >= 90:
        return f"in {round(minutes / 60)} hours"
    if minutes >= 55:
        return "in 1 hour"
    return f"in {minutes} minute{'s' if minutes != 1 else ''}"


def _claim_next(now) -> Reminder | None:
    """Claim one due reminder (call inside a transaction), or return None.

    PostgreSQL skips rows another worker holds; the conditional UPDATE makes
    the claim safe on SQLite too, whose transactions queue instead.
    """
    while True:
        candidate = (
            Reminder.objects.select_for_update(skip_locked=True)
            .filter(status=Reminder.Status.SCHEDULED, due_at__lte=now)
            .order_by("due_at", "pk")
            .first()
        )
        if candidate is None:
            return None
        claimed = Reminder.objects.filter(
            pk=candidate.pk, status=Reminder.Status.SCHEDULED
        ).update(status=Reminder.Status.SENT, sent_at=now)
        if claimed:
            return candidate


def _skip(reminder: Reminder) -> None:
    Reminder.objects.filter(pk=reminder.pk).update(status=Reminder.Status.SKIPPED)


def _send_slot_reminder(reminder: Reminder, now) -> bool:
    from notifications.services import deliver
    from pairup.dates import slot_label
    from projects.models import Membership

    event = reminder.event
    if event is None or event.cancelled or event.project_id is None:
        _skip(reminder)
        return False
    if event.start <= now or event.start - reminder.before != reminder.due_at:
        _skip(reminder)  # the slot has started, or moved since
        return False
    later = Reminder.objects.filter(
        event=event,
        status=Reminder.Status.SCHEDULED,
        due_at__gt=reminder.due_at,
        due_at__lte=now,
    )
    if later.exists():
        _skip(reminder)  # a later reminder is due too: send that one only
        return False
    members = list(
        Membership.objects.filter(project_id=event.project_id).values_list(
            "user_id", flat=True
        )
    )
    lab = event.lab
    deliver(
        kind=Kind.SLOT_REMINDER,
        user_ids=members,
        link=reverse("projects:project_mine"),
        params={
            "team": f"Team {event.project_id}",
            "when": _in(event.start - now),
            "slot": slot_label(lab) if lab is not None else event.room,
        },
    )
    return True


# Who is told that booking opens, what they can do, and where it is done.
# A student without a project can't book until they start or join one.
BOOKING_OPENS_NEXT_STEP = {
    "team": (
        "Your team has no lab slot yet: book one on the board.",
        "projects:lab_board",
    ),
    "free": (
        "You have no project yet: start one or join a team, then book its slot.",
        "home",
    ),
}


def _students_without_a_slot() -> dict[str, list[int]]:
    """The students without a slot, split into "team" (their project has
    none) and "free" (no project)."""
    rows = (
        User.objects.students()
        .exclude(membership__project__lab__isnull=False)
        .values_list("pk", "membership__project")
    )
    told = {"team": [], "free": []}
    for pk, project_id in rows:
        told["free" if project_id is None else "team"].append(pk)
    return told


def _send_booking_opens(reminder: Reminder, now) -> bool:
    from notifications.services import deliver
    from projects.models import BookingWindow

    window = BookingWindow.get()
    opening = reminder.opening
    if opening > now:
        still = _upcoming_opening(window, now) == opening
        local = timezone.localtime(opening)
        when = f"Booking opens at {local:%H:%M} on {local:%a %d %b} ({_in(opening - now)})."
    else:
        still = window.is_booking_open(now)
        when = "Booking is open now."
    if not still:
        _skip(reminder)
        return False
    for group, user_ids in _students_without_a_slot().items():
        next_step, link = BOOKING_OPENS_NEXT_STEP[group]
        if user_ids:
            deliver(
                kind=Kind.BOOKING_OPENS,
                user_ids=user_ids,
                link=reverse(link),
                params={"when": when, "next_step": next_step},
            )
    return True


def send_due_reminders(*, now=None) -> int:
    """Send every reminder that is due; return how many were sent.

    Each is claimed and delivered in one transaction (see the module's
    docstring), so it is sent exactly once whatever runs this, and when.
    """
    sent = 0
    while True:
        moment = now or timezone.now()
        with transaction.atomic():
            reminder = _claim_next(moment)
            if reminder is None:
                return sent
            if reminder.type == Reminder.Type.SLOT:
                delivered = _send_slot_reminder(reminder, moment)
            else:
                delivered = _send_booking_opens(reminder, moment)
        sent += delivered
