"""Student search and invitations in Chromium against a real daphne process.

The live server's database lives for the whole session, so this module uses
student numbers (732xxxxx) and first names of its own. No ORM here: state
is set up through `live_server.shell(...)` and the UI.
"""

import re

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "juniper-anchor-velvet-24"


def make_students(live_server, students: list[dict], *, with_project=()) -> None:
    """Create students; those in `with_project` get a solo project."""
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from projects.services import project_create\n"
        f"hashed = make_password({PASSWORD!r})\n"
        f"for fields in {students!r}:\n"
        "    user = get_user_model().objects.create(\n"
        "        password=hashed, email=fields['username'] + '@example.edu', **fields\n"
        "    )\n"
        f"    if user.username in {list(with_project)!r}:\n"
        "        project_create(user=user, description='A search demo')\n"
    )


def alert(page):
    return page.locator(".messages .alert").first


def test_student_invites_from_search_and_the_invitee_declines(live_server, new_page):
    make_students(
        live_server,
        [
            {"username": "73200001", "first_name": "Ines", "last_name": "Host"},
            {"username": "73200002", "first_name": "Quorra", "last_name": "Aalto"},
            {
                "username": "73200003",
                "first_name": "Quorra",
                "last_name": "Byrne",
                "looking_for_partner": True,
            },
            {"username": "73200004", "first_name": "Quorra", "last_name": "Cole"},
        ],
        with_project=["73200001", "73200004"],
    )
    ines, byrne = new_page(), new_page()
    sign_in(ines, "73200001", PASSWORD)
    sign_in(byrne, "73200003", PASSWORD)

    ines.get_by_role("link", name="Find a partner").first.click()
    ines.get_by_label("Name or student number").fill("quorra")
    ines.get_by_role("button", name="Search").click()
    expect(ines).to_have_url(re.compile(r"/students/\?q=quorra"))

    rows = ines.get_by_test_id("search-results").locator("tbody tr")
    expect(rows).to_have_count(3)
    # The student looking for a partner comes first and is marked.
    expect(rows.nth(0)).to_contain_text("Quorra Byrne")
    expect(rows.nth(0)).to_contain_text("Looking for a partner")
    expect(rows.nth(1)).to_contain_text("Quorra Aalto")
    expect(rows.nth(1)).not_to_contain_text("Looking for a partner")
    expect(rows.nth(2)).to_contain_text("Quorra Cole")
    expect(rows.nth(2)).to_contain_text("In a team")
    expect(rows.nth(2).get_by_role("button", name="Invite")).to_have_count(0)

    # Two students are called Quorra: each button names its student number.
    invite_byrne = ines.get_by_role("button", name="Invite Quorra (73200003)")
    expect(invite_byrne).to_have_count(1)
    invite_byrne.click()
    expect(alert(ines)).to_contain_text("Invitation sent to Quorra (73200003)")
    expect(ines).to_have_url(re.compile(r"/students/\?q=quorra"))
    # The row now says so, with a Cancel in place of a second Invite.
    byrne_row = rows.filter(has_text="73200003")
    expect(byrne_row.get_by_test_id("invited")).to_have_text("Invited")
    expect(invite_byrne).to_have_count(0)
    expect(
        byrne_row.get_by_role(
            "button", name="Cancel the invitation to Quorra (73200003)"
        )
    ).to_have_count(1)

    byrne.goto("/")
    invitation = byrne.get_by_test_id("incoming-invitation")
    expect(invitation).to_contain_text("Ines invites you to Team")
    expect(invitation).to_contain_text("A search demo")
    invitation.get_by_role("button", name="Decline").click()
    expect(alert(byrne)).to_contain_text("You declined the invitation from Ines.")
    expect(byrne.get_by_test_id("incoming-invitation")).to_have_count(0)
    expect(byrne.get_by_test_id("dashboard-free")).to_be_visible()

    ines.goto("/")
    expect(ines.get_by_test_id("outgoing-invitation")).to_have_count(0)
    ines.goto("/projects/mine/")
    expect(ines.get_by_test_id("outgoing")).to_have_count(0)


def test_student_invites_by_number_then_cancels(live_server, new_page):
    make_students(
        live_server,
        [
            {"username": "73200011", "first_name": "Jonas", "last_name": "Host"},
            {"username": "73200012", "first_name": "Kaia", "last_name": "Guest"},
        ],
        with_project=["73200011"],
    )
    jonas, kaia = new_page(), new_page()
    sign_in(jonas, "73200011", PASSWORD)
    sign_in(kaia, "73200012", PASSWORD)

    jonas.get_by_role("link", name="My project").click()
    jonas.get_by_label("Partner's student number").fill("73200012")
    jonas.get_by_role("button", name="Send invitation").click()
    expect(alert(jonas)).to_contain_text("Invitation sent to Kaia (73200012)")
    outgoing = jonas.get_by_test_id("outgoing")
    expect(outgoing).to_contain_text("Kaia (73200012)")

    kaia.goto("/")
    expect(kaia.get_by_test_id("incoming-invitation")).to_contain_text("Jonas")

    outgoing.get_by_role("button", name="Cancel").click()
    expect(alert(jonas)).to_contain_text("The invitation to Kaia was cancelled.")
    expect(jonas).to_have_url(re.compile(r"/projects/mine/$"))
    expect(jonas.get_by_test_id("outgoing")).to_have_count(0)

    kaia.reload()
    expect(kaia.get_by_test_id("incoming-invitation")).to_have_count(0)
    expect(kaia.get_by_text("No pending invitations.")).to_be_visible()
