"""Test helpers shared by every app: signing in a browser page, and the
session cookie a WebSocket test sends."""

from django.test import Client


def sign_in(page, username: str, password: str, *, wait: str | None = "visible"):
    """Sign in through the login page as `username` (a student number or a
    coordinator's name).

    Then wait for the signed-in menu: `wait="visible"` for the name in the
    navigation bar, `"attached"` for it being in the page at all (the menu
    is collapsed at phone width), None not at all (a sign-in that may fail).
    """
    from playwright.sync_api import expect

    page.goto("/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()
    if wait == "visible":
        expect(page.get_by_test_id("nav-user")).to_be_visible()
    elif wait == "attached":
        expect(page.get_by_test_id("nav-user")).to_be_attached()


def session_cookie(user) -> str:
    """A session key signed in as `user` (the `sessionid` cookie's value)."""
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


LIVE_REGION = "[aria-live], [role=status], [role=alert], [role=log]"


def nested_live_regions(page) -> list[str]:
    """Live regions inside another live region: screen readers may read
    what changes in them twice. The start of each one's markup."""
    return page.evaluate(
        """(live) => Array.from(document.querySelectorAll(live))
            .filter((el) => el.parentElement && el.parentElement.closest(live))
            .map((el) => "live region inside another: " + el.outerHTML.slice(0, 80))""",
        LIVE_REGION,
    )
