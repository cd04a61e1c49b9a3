"""The board for keyboard and screen reader users, in Chromium: where focus
goes after a background action, and what is announced.

Student numbers from 81600001 and rooms of this module's own: the live server's
database lives for the whole session. No ORM here.
"""

import re

import pytest

from pairup.tests.helpers import sign_in
from projects.tests.helpers import open_board
from projects.tests.test_browser_board_frames import (
    PASSWORD,
    create_project,
    make_labs,
    make_users,
)

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser


# Everything the board's live region says, in order (each text once).
RECORD_LIVE = """() => {
  window.liveSaid = [];
  const live = document.getElementById("board-live");
  new MutationObserver(() => {
    if (live.textContent) { window.liveSaid.push(live.textContent); }
  }).observe(live, { childList: true, characterData: true, subtree: true });
}"""


def focused(page) -> str:
    """The focused element's accessible text, or "body" when focus is lost."""
    return page.evaluate(
        """() => document.activeElement === document.body ? "body"
            : document.activeElement.textContent.trim()"""
    )


def test_focus_stays_in_the_row_when_its_button_is_replaced(live_server, new_page):
    make_users(live_server, ("81600001", "Kim"))
    first, second = make_labs(live_server, "Focus Lab", 2, days=5)
    page = new_page()
    sign_in(page, "81600001", PASSWORD)
    create_project(page, "Kim keys everything")
    open_board(page, "Focus Lab")

    row, other = page.locator(f"#lab-{first}"), page.locator(f"#lab-{second}")
    row.get_by_role("button", name="Book").focus()
    page.keyboard.press("Enter")
    expect(row.get_by_test_id("status")).to_have_text("Your slot")
    expect(row.get_by_role("link", name="Release")).to_be_focused()

    other.get_by_role("button", name="Move here").focus()
    page.keyboard.press("Enter")
    expect(other.get_by_test_id("status")).to_have_text("Your slot")
    expect(other.get_by_role("link", name="Release")).to_be_focused()

    page.once("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("Enter")
    expect(other.get_by_test_id("status")).to_have_text("Free")
    expect(other.get_by_role("button", name="Book")).to_be_focused()
    assert focused(page) != "body"


def test_focus_moves_to_a_neighbouring_row_when_its_row_goes(live_server, new_page):
    """A coordinator deletes the slot a keyboard user is on, or moves it out
    of the room shown: focus goes to the next row's control (the previous
    row's for the last row), then to the board's heading, never the page's
    start; the live region says why the row went."""
    make_users(live_server, ("81600005", "Oda"), superuser="focus-coordinator")
    first, middle, last = make_labs(live_server, "Gone Lab", 3, days=5)
    page, admin = new_page(), new_page()
    sign_in(page, "81600005", PASSWORD)
    create_project(page, "Oda tabs through")
    open_board(page, "Gone Lab")
    sign_in(admin, "focus-coordinator", PASSWORD)
    live = page.get_by_test_id("board-live")

    page.locator(f"#lab-{middle}").get_by_role("button", name="Book").focus()
    admin.goto(f"/admin/projects/lab/{middle}/delete/")
    admin.get_by_role("button", name=re.compile("Yes")).click()
    expect(page.locator(f"#lab-{middle}")).to_have_count(0)
    expect(
        page.locator(f"#lab-{last}").get_by_role("button", name="Book")
    ).to_be_focused()
    expect(live).to_contain_text("was removed.")

    admin.goto(f"/admin/projects/lab/{last}/change/")
    admin.fill("#id_room", "Gone Lab Elsewhere")
    admin.locator("input[name=_save]").click()
    expect(page.locator(f"#lab-{last}")).to_have_count(0)
    expect(
        page.locator(f"#lab-{first}").get_by_role("button", name="Book")
    ).to_be_focused()
    expect(live).to_contain_text("was moved and is no longer shown here.")

    admin.goto(f"/admin/projects/lab/{first}/delete/")
    admin.get_by_role("button", name=re.compile("Yes")).click()
    expect(page.get_by_test_id("no-slots")).to_be_visible()
    expect(page.get_by_role("heading", name="Lab slots")).to_be_focused()
    assert focused(page) != "body"


def test_the_outcome_of_ones_own_action_is_announced_once(live_server, new_page):
    """The row's status line says it; the board's live region doesn't
    repeat it (it speaks of other people's changes)."""
    make_users(live_server, ("81600002", "Lou"), ("81600003", "Max"))
    first, second = make_labs(live_server, "Announce Lab", 2, days=5)
    lou, max_ = new_page(), new_page()
    for page, number in ((lou, "81600002"), (max_, "81600003")):
        sign_in(page, number, PASSWORD)
        create_project(page, f"Team of {number}")
        open_board(page, "Announce Lab")
    lou.evaluate(RECORD_LIVE)

    row, other = lou.locator(f"#lab-{first}"), lou.locator(f"#lab-{second}")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_role("status")).to_contain_text("Your team booked")
    other.get_by_role("button", name="Move here").click()
    expect(other.get_by_role("status")).to_contain_text("Your team moved to")
    expect(row.get_by_test_id("status")).to_have_text("Free")
    lou.once("dialog", lambda dialog: dialog.accept())
    other.get_by_role("link", name="Release").click()
    expect(other.get_by_role("status")).to_contain_text("You released")
    expect(other.get_by_test_id("status")).to_have_text("Free")

    # Someone else's booking is still announced.
    max_.locator(f"#lab-{first}").get_by_role("button", name="Book").click()
    expect(lou.get_by_test_id("board-live")).to_contain_text("was just taken")
    assert lou.evaluate("window.liveSaid") == [
        lou.get_by_test_id("board-live").text_content()
    ]


def test_the_back_button_after_booking_shows_the_booking(live_server, new_page):
    """Back to the board from another page shows the board as it is now,
    not the copy the browser kept from before the booking."""
    make_users(live_server, ("81600004", "Ned"))
    (lab,) = make_labs(live_server, "Back Lab", 1, days=5)
    page = new_page()
    sign_in(page, "81600004", PASSWORD)
    create_project(page, "Ned goes back")
    open_board(page, "Back Lab")
    row = page.locator(f"#lab-{lab}")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_test_id("status")).to_have_text("Your slot")

    page.goto("/projects/mine/")
    page.go_back()
    expect(page.get_by_test_id("board-connection")).to_contain_text("Live")
    expect(row.get_by_test_id("status")).to_have_text("Your slot")
    expect(page.get_by_test_id("board-mine")).to_contain_text("presents at")
