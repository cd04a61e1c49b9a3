"""Whole account flows in Chromium against a real daphne process.

The live server's database lives for the whole session, so every test uses
student numbers of its own (the 71xxxxxx range belongs to this module).
"""

import quopri
import re
import time

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "lantern-quiet-meadow-42"


def fill_registration(page, number, password2=PASSWORD):
    page.goto("/accounts/register/")
    page.fill("#id_username", number)
    page.fill("#id_first_name", "Rosa")
    page.fill("#id_last_name", "Rivera")
    page.fill("#id_preferred_name", "Ro")
    page.fill("#id_email", f"{number}@student.example.edu")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", password2)
    page.get_by_role("button", name="Create account").click()


def mailed_link(log, email: str, timeout: float = 10) -> str:
    """Return the set-password path from the last console email to `email`."""
    deadline = time.monotonic() + timeout
    while True:
        text = log.read_text()
        to = text.rfind(f"To: {email}")
        if to != -1:
            # The console backend prints headers, a blank line, the body and
            # a line of dashes; Django 6 encodes the body quoted-printable.
            mail = text[text.rfind("Content-Type:", 0, to) :].split("\n" + "-" * 20)[0]
            headers, _, body = mail.partition("\n\n")
            if "quoted-printable" in headers:
                body = quopri.decodestring(body.encode()).decode()
            match = re.search(r"https?://[^/\s]+(/accounts/reset/\S+/)", body)
            if match:
                return match[1]
        if time.monotonic() > deadline:
            raise AssertionError(f"no mail to {email} in the server log:\n{text}")
        time.sleep(0.1)


def test_student_registers_signs_out_and_signs_in_again(page):
    fill_registration(page, "71000001")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", name="Hello, Ro")).to_be_visible()
    expect(page.get_by_test_id("nav-user")).to_have_text("Ro")

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    expect(page.get_by_test_id("nav-user")).to_have_count(0)

    sign_in(page, "71000001", PASSWORD, wait=None)
    expect(page.get_by_role("heading", name="Hello, Ro")).to_be_visible()


def test_mismatched_passwords_show_the_error_and_keep_the_names(page):
    fill_registration(page, "71000002", password2="something-else-entirely-9")

    expect(page.get_by_text("The two password fields didn")).to_be_visible()
    expect(page.locator("#id_username")).to_have_value("71000002")
    expect(page.locator("#id_first_name")).to_have_value("Rosa")
    expect(page.locator("#id_last_name")).to_have_value("Rivera")
    expect(page.locator("#id_preferred_name")).to_have_value("Ro")
    expect(page.get_by_test_id("nav-user")).to_have_count(0)


def test_imported_student_sets_a_password_from_the_mailed_link(page, live_server):
    live_server.shell(
        "from accounts.models import User\n"
        "u = User(username='71000003', first_name='Ida', last_name='Imported',"
        " email='ida.71000003@roster.example.edu')\n"
        "u.set_unusable_password()\n"
        "u.save()\n"
    )
    page.goto("/")
    page.get_by_role("link", name="Set or reset your password").click()
    page.fill("#id_email", "ida.71000003@roster.example.edu")
    page.get_by_role("button", name="Send me the link").click()
    expect(page.get_by_role("heading", name="Check your email")).to_be_visible()

    page.goto(mailed_link(live_server.log, "ida.71000003@roster.example.edu"))
    page.fill("#id_new_password1", PASSWORD)
    page.fill("#id_new_password2", PASSWORD)
    page.get_by_role("button", name="Set password").click()
    expect(page.get_by_role("heading", name="Your password is set")).to_be_visible()

    page.get_by_role("main").get_by_role("link", name="Sign in").click()
    page.fill("#id_username", "71000003")
    page.fill("#id_password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Hello, Ida")).to_be_visible()
