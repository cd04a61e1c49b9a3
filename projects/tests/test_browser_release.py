"""Releasing a slot and editing the description in Chromium against daphne.

The live server's database lives for the whole session, so this module uses
student numbers (733xxxxx) and a room of its own. No ORM here.
"""

import re

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "pebble-saddle-harvest-19"
ROOM = "Release Lab 3.03"


def make_booked_team(
    live_server,
    number: str,
    first_name: str,
    *,
    days: int,
    description: str,
    others: dict[str, str] | None = None,
) -> int:
    """Create a student with a solo project holding a new slot, and free
    students `others` (number: first name); return the slot's id."""
    students = {number: first_name, **(others or {})}
    output = live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        "from projects.services import project_create\n"
        f"hashed = make_password({PASSWORD!r})\n"
        f"for username, name in {students!r}.items():\n"
        "    get_user_model().objects.create(\n"
        "        username=username, password=hashed, first_name=name\n"
        "    )\n"
        f"user = get_user_model().objects.get(username={number!r})\n"
        f"start = (timezone.now() + timedelta(days={days})).replace(second=0, microsecond=0)\n"
        f"lab = Lab.objects.create(room={ROOM!r}, start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        f"project_create(user=user, description={description!r}, lab=lab)\n"
        "print(lab.pk)\n"
    )
    return int(output.split()[-1])


def alert(page):
    return page.locator(".messages .alert").first


def test_member_releases_the_slot_and_the_board_shows_it_free(live_server, new_page):
    lab = make_booked_team(
        live_server,
        "73300001",
        "Lia",
        days=5,
        description="Lia grows crystals",
        others={"73300002": "Milo"},
    )
    lia, milo = new_page(), new_page()
    sign_in(lia, "73300001", PASSWORD)
    sign_in(milo, "73300002", PASSWORD)
    # Milo watches the board while Lia releases.
    milo.goto(f"/labs/?room={ROOM}")
    expect(milo.get_by_test_id("board-connection")).to_contain_text("Live")
    milo_status = milo.locator(f"#lab-{lab}").get_by_test_id("status")
    expect(milo_status).to_have_text("Taken")

    lia.get_by_role("link", name="My project").click()
    slot = lia.get_by_test_id("my-slot").inner_text()
    lia.get_by_role("link", name="Release slot").click()
    expect(lia.get_by_role("heading", name="Release your lab slot?")).to_be_visible()
    expect(lia.get_by_role("main")).to_contain_text(slot)
    lia.get_by_role("button", name="Release the slot").click()

    expect(alert(lia)).to_contain_text(f"You released {slot}")
    expect(lia).to_have_url(re.compile(r"/projects/mine/$"))
    expect(lia.get_by_test_id("my-slot")).to_have_count(0)
    expect(lia.get_by_text("No slot yet.")).to_be_visible()

    expect(milo_status).to_have_text("Free")

    lia.goto(f"/labs/?room={ROOM}")
    row = lia.locator(f"#lab-{lab}")
    expect(row.get_by_test_id("status")).to_have_text("Free")
    expect(row.get_by_role("button", name="Book")).to_be_visible()
    expect(row).not_to_contain_text("Your slot")


def test_member_edits_the_description_past_a_too_long_value(live_server, page):
    make_booked_team(
        live_server, "73300011", "Noa", days=6, description="Noa tunes bells"
    )
    sign_in(page, "73300011", PASSWORD)
    page.goto("/projects/mine/")
    description = page.get_by_role("textbox", name="Description")
    expect(description).to_have_value("Noa tunes bells")

    # The browser stops typing at 64 characters ...
    description.fill("")
    description.press_sequentially("x" * 70)
    expect(description).to_have_value("x" * 64)
    # ... so a too-long value only reaches the server from a browser that
    # ignores `maxlength`; the server refuses it and keeps the text.
    too_long = "A weather balloon that tweets the temperature every ten minutes"
    too_long += " from the stratosphere"
    description.evaluate("element => element.removeAttribute('maxlength')")
    description.fill(too_long)
    page.get_by_role("button", name="Save description").click()

    expect(page.locator("#id_description")).to_have_value(too_long)
    expect(page.get_by_role("main")).to_contain_text(
        f"Ensure this value has at most 64 characters (it has {len(too_long)})."
    )
    expect(page.locator(".messages")).to_have_count(0)
    page.goto("/")
    expect(page.get_by_role("main")).to_contain_text("Noa tunes bells")

    page.goto("/projects/mine/")
    page.get_by_role("textbox", name="Description").fill(
        "A weather balloon that tweets"
    )
    page.get_by_role("button", name="Save description").click()
    expect(alert(page)).to_contain_text("The description was saved.")
    expect(page.get_by_role("textbox", name="Description")).to_have_value(
        "A weather balloon that tweets"
    )
    page.goto("/")
    expect(page.get_by_role("main")).to_contain_text("A weather balloon that tweets")
