"""Back after booking on the board, in Chromium: the pages a student came
from show the booking, not the copy the browser kept.

Student numbers from 81810001 and rooms of this module's own: the live server's
database lives for the whole session. No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in
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


def book_from(page, lab: int) -> None:
    """On the board the page just opened, book `lab` in the background."""
    expect(page.get_by_test_id("board-connection")).to_contain_text("Live")
    row = page.locator(f"#lab-{lab}")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_test_id("status")).to_have_text("Your slot")


def test_back_to_my_project_after_booking_shows_the_slot(live_server, new_page):
    make_users(live_server, ("81810001", "Rae"))
    (lab,) = make_labs(live_server, "Back Mine Lab", 1, days=5)
    page = new_page()
    sign_in(page, "81810001", PASSWORD)
    create_project(page, "Rae goes back")
    page.goto("/projects/mine/")
    page.get_by_role("link", name="Book a slot").click()
    book_from(page, lab)

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/projects/mine/")
    expect(page.get_by_test_id("my-slot")).to_contain_text("Back Mine Lab")


def test_back_to_the_dashboard_after_booking_shows_the_slot(live_server, new_page):
    make_users(live_server, ("81810002", "Sol"))
    (lab,) = make_labs(live_server, "Back Home Lab", 1, days=5)
    page = new_page()
    sign_in(page, "81810002", PASSWORD)
    create_project(page, "Sol goes back")
    page.goto("/")
    page.get_by_role("link", name="Book a lab slot").click()
    book_from(page, lab)

    page.go_back()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("dashboard-slot")).to_contain_text("Back Home Lab")
