"""Helpers for the ballot's tests: a window in ballot mode, and rankings."""

from datetime import timedelta

from django.utils import timezone

from accounts.tests.factories import CoordinatorFactory
from projects import services
from projects.models import BookingWindow

CLOSES_IN = timedelta(days=1)
OPENS_IN = timedelta(days=2)  # the factory's slots start 3 days ahead


def open_ballot(
    *, closes_in: timedelta = CLOSES_IN, opens_in: timedelta = OPENS_IN, actor=None
) -> BookingWindow:
    """Put the booking window in ballot mode through the service, as a
    coordinator does: the ballot closes `closes_in` from now, first come
    opens `opens_in` from now."""
    now = timezone.now()
    window = BookingWindow.get()
    window.mode = BookingWindow.Mode.BALLOT
    window.booking_open = True
    window.ballot_closes_at = now + closes_in
    window.opens_at = now + opens_in
    window.closes_at = None
    services.booking_window_update(
        actor=actor or CoordinatorFactory(),
        window=window,
        fields=["mode", "booking_open", "ballot_closes_at", "opens_at", "closes_at"],
    )
    return BookingWindow.get()


def after_closing(window: BookingWindow, minutes: int = 1):
    return window.ballot_closes_at + timedelta(minutes=minutes)
