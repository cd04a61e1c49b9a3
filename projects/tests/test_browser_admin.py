"""A coordinator changing a team through the project admin's own pages, in
Chromium against daphne.

The live server's database lives for the whole session, so this module uses
student numbers (737xxxxx) and a room of its own. No ORM here.
"""

import re

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "lantern-quarry-meadow-37"


def make_team(live_server) -> tuple[int, str, str]:
    """A coordinator, Una and Vic's team in one slot, a free slot; return the
    team's id and the two slots as the admin names them."""
    output = live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from django.utils import timezone\n"
        "from accounts.coordinators import coordinator_make\n"
        "from projects.models import Invitation, Lab\n"
        "from projects.services import invitation_accept, project_create\n"
        "User = get_user_model()\n"
        f"hashed = make_password({PASSWORD!r})\n"
        "def user(number, first, last, **extra):\n"
        "    return User.objects.create(username=number, password=hashed,\n"
        "                               first_name=first, last_name=last, **extra)\n"
        "user('coord737', 'Cora', 'Ordinator', is_staff=True)\n"
        "coordinator_make(username='coord737')\n"
        "una = user('73700001', 'Una', 'Able')\n"
        "vic = user('73700002', 'Vic', 'Baker')\n"
        "start = timezone.now() + timedelta(days=5)\n"
        "old, new = [Lab.objects.create(room='Admin Lab 737',\n"
        "                               start=start + timedelta(minutes=20 * i),\n"
        "                               end=start + timedelta(minutes=20 * i + 15))\n"
        "            for i in range(2)]\n"
        "project = project_create(user=una, description='Una and Vic', lab=old,\n"
        "                         partner_number='73700002')\n"
        "invitation_accept(user=vic, invitation=Invitation.objects.get(invitee=vic))\n"
        "print(project.pk)\n"
        "print(old)\n"
        "print(new)\n"
    )
    project_id, old, new = output.strip().splitlines()[-3:]
    return int(project_id), old, new


def test_coordinator_moves_a_teams_slot_then_removes_a_member(live_server, page):
    project_id, old, new = make_team(live_server)
    team = f"Team {project_id}"
    sign_in(page, "coord737", PASSWORD)

    page.goto("/admin/projects/project/?q=Una+and+Vic")
    page.get_by_role("link", name=team, exact=True).click()
    expect(page.locator(".field-slot .readonly")).to_have_text(old)
    members = page.get_by_test_id("members")
    expect(members).to_contain_text("73700002")

    # Move the slot.
    page.get_by_role("link", name="Book or move the slot").click()
    expect(
        page.get_by_role("heading", name=f"Book or move the slot of {team}")
    ).to_be_visible()
    page.get_by_label("Lab slot").select_option(label=f"{new} (free)")
    page.get_by_role("button", name="Move to this slot").click()
    expect(page).to_have_url(
        re.compile(rf"/admin/projects/project/{project_id}/change/$")
    )
    expect(page.locator(".messagelist")).to_contain_text(
        f"{team}: Moved from the slot {old} to {new}."
    )
    expect(page.locator(".field-slot .readonly")).to_have_text(new)

    # Remove Vic: a confirmation first, then the team keeps Una and the slot.
    page.get_by_role("link", name="Remove 73700002 Vic Baker").click()
    expect(
        page.get_by_role("heading", name=f"Remove 73700002 Vic Baker from {team}")
    ).to_be_visible()
    expect(page.locator("#content-main")).to_contain_text("They become a free student")
    page.get_by_role("button", name="Yes, remove them").click()
    expect(page.locator(".messagelist")).to_contain_text(
        f"{team}: removed the member 73700002 Vic Baker."
    )
    expect(members).not_to_contain_text("73700002")
    expect(members).to_contain_text("73700001")
    expect(page.locator(".field-slot .readonly")).to_have_text(new)

    # Both changes are in the admin's history.
    page.get_by_role("link", name="History").click()
    history = page.locator("#change-history")
    expect(history).to_contain_text(f"Moved from the slot {old} to {new}.")
    expect(history).to_contain_text("Removed a member, 73700002 Vic Baker.")

    records = live_server.shell(
        "from projects.models import BookingRecord, Membership\n"
        f"record = BookingRecord.objects.get(project_number={project_id},\n"
        "                                   action='move')\n"
        "print(record.via, record.actor_username)\n"
        "print(Membership.objects.filter(user__username='73700002').exists())\n"
    )
    assert records.split() == ["admin", "coord737", "False"]
