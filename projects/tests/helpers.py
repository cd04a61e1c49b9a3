"""Helpers for the projects app's tests: the messages a page queued, the
booking window set, and the lab board opened in a browser."""

import time

from django.contrib.messages import get_messages

from projects import services
from projects.models import BookingWindow


def messages_of(response) -> list[str]:
    """The texts of the messages queued while answering `response`."""
    return [str(m) for m in get_messages(response.wsgi_request)]


def set_window(actor=None, /, **fields) -> None:
    """Set the booking window's `fields`: through `booking_window_update` as
    the coordinator `actor` (its side effects included), or, without an
    actor, saved directly (only the row changes)."""
    window = BookingWindow.get()
    for name, value in fields.items():
        setattr(window, name, value)
    if actor is None:
        window.save()
    else:
        services.booking_window_update(actor=actor, window=window, fields=list(fields))


def open_board(page, room: str) -> None:
    """Open the lab board on one room in a browser and wait until it is live.

    Slots a test makes with `live_server.shell` are made in another process,
    which can't tell the server (in-memory cache and channel layer): they
    reach the server's copy of the board within `board_cache.MAX_AGE`
    seconds. Until the room is listed, the board is loaded again.
    """
    from playwright.sync_api import expect

    from projects.board_cache import MAX_AGE

    deadline = time.monotonic() + MAX_AGE + 3
    while True:
        page.goto(f"/labs/?room={room}")
        listed = page.locator(f'select[name="room"] option[value="{room}"]')
        if listed.count() or time.monotonic() > deadline:
            break
        page.wait_for_timeout(500)
    expect(page.get_by_test_id("board-connection")).to_contain_text("Live")
