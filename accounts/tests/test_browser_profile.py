"""The profile and password-change flows in Chromium against a real daphne process.

The live server's database lives for the whole session, so this module uses
student numbers of its own (the 731xxxxx range). No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "copper-willow-ferry-58"
NEW_PASSWORD = "saffron-glacier-tunnel-63"


def make_students(live_server, students: dict[str, str]) -> None:
    """Create students (number: first name) with PASSWORD."""
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        f"hashed = make_password({PASSWORD!r})\n"
        f"for number, name in {students!r}.items():\n"
        "    get_user_model().objects.create(\n"
        "        username=number, password=hashed, first_name=name,\n"
        "        last_name='Profile', email=number + '@student.example.edu'\n"
        "    )\n"
    )


def alert(page):
    return page.locator(".messages .alert").first


def test_student_sets_a_preferred_name_and_looks_for_a_partner(live_server, new_page):
    make_students(live_server, {"73100001": "Theodora", "73100002": "Searcher"})
    page = new_page()
    sign_in(page, "73100001", PASSWORD, wait=None)
    expect(page.get_by_test_id("nav-user")).to_have_text("Theodora")

    page.get_by_test_id("nav-user").click()
    expect(page.get_by_role("heading", name="Your profile")).to_be_visible()
    expect(page.locator("#id_looking_for_partner")).not_to_be_checked()
    page.fill("#id_preferred_name", "Teddy")
    page.check("#id_looking_for_partner")
    # The browser takes an address without a dot in the domain; the server
    # doesn't: the form keeps what was typed and nothing changes.
    page.fill("#id_email", "teddy@campus")
    page.get_by_role("button", name="Save profile").click()
    expect(page.get_by_text("Enter a valid email address.")).to_be_visible()
    expect(page.locator("#id_preferred_name")).to_have_value("Teddy")
    expect(page.locator("#id_email")).to_have_value("teddy@campus")
    expect(page.locator("#id_looking_for_partner")).to_be_checked()
    expect(page.get_by_test_id("nav-user")).to_have_text("Theodora")

    page.fill("#id_email", "teddy@student.example.edu")
    page.get_by_role("button", name="Save profile").click()

    expect(alert(page)).to_contain_text("Your profile was saved.")
    expect(page.get_by_test_id("nav-user")).to_have_text("Teddy")
    expect(page.locator("#id_preferred_name")).to_have_value("Teddy")
    expect(page.locator("#id_email")).to_have_value("teddy@student.example.edu")
    expect(page.locator("#id_looking_for_partner")).to_be_checked()

    # Another student finds Teddy in search, marked as looking.
    other = new_page()
    sign_in(other, "73100002", PASSWORD, wait=None)
    other.goto("/students/?q=73100001")
    row = other.locator("tr[data-student='73100001']")
    expect(row).to_contain_text("(Teddy)")
    expect(row).to_contain_text("Looking for a partner")


def test_student_changes_the_password_and_signs_in_with_the_new_one(live_server, page):
    make_students(live_server, {"73100003": "Ulla"})
    sign_in(page, "73100003", PASSWORD, wait=None)
    expect(page.get_by_test_id("nav-user")).to_have_text("Ulla")
    # A chat left open in another tab is ended by the password change.
    chat_tab = page.context.new_page()
    chat_tab.goto("/chat/lobby/")
    expect(chat_tab.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )

    page.get_by_test_id("nav-user").click()
    page.get_by_role("link", name="Change your password").click()
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    page.fill("#id_old_password", PASSWORD)
    page.fill("#id_new_password1", NEW_PASSWORD)
    page.fill("#id_new_password2", NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(
        page.get_by_role("heading", name="Your password was changed")
    ).to_be_visible()
    # Still signed in on this browser.
    expect(page.get_by_test_id("nav-user")).to_have_text("Ulla")
    expect(chat_tab.locator("#chat-notice")).to_contain_text("changed your password")
    expect(chat_tab.locator("#chat-connection")).to_have_attribute(
        "data-state", "closed"
    )
    chat_tab.close()

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)

    sign_in(page, "73100003", PASSWORD, wait=None)
    expect(page.get_by_test_id("nav-user")).to_have_count(0)
    expect(page.get_by_role("main")).to_contain_text(
        "Please enter a correct student number and password"
    )

    sign_in(page, "73100003", NEW_PASSWORD, wait=None)
    expect(page.get_by_test_id("nav-user")).to_have_text("Ulla")
    expect(page.get_by_role("heading", name="Hello, Ulla")).to_be_visible()
