"""The whole pairing flow in Chromium against a real daphne process.

The live server's database lives for the whole session, so this module uses
student numbers (811xxxxx) and a room of its own. No ORM here: state is set
up through the UI or `live_server.shell(...)`.
"""

import re

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "orchid-lantern-canal-77"
ROOM = "Flow Lab 1.01"


def make_labs(live_server, count: int) -> list[int]:
    output = live_server.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        "start = (timezone.now() + timedelta(days=4)).replace(second=0, microsecond=0)\n"
        "ids = []\n"
        f"for i in range({count}):\n"
        "    lab, _ = Lab.objects.get_or_create(\n"
        f"        room={ROOM!r}, start=start + timedelta(minutes=20 * i),\n"
        "        defaults={'end': start + timedelta(minutes=20 * i + 15)},\n"
        "    )\n"
        "    ids.append(lab.pk)\n"
        "print(*ids)\n"
    )
    return [int(pk) for pk in output.split()]


def make_student_with_project(live_server, number: str) -> None:
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.services import project_create\n"
        "user = get_user_model().objects.create_user(\n"
        f"    username={number!r}, password={PASSWORD!r}, first_name='Cleo'\n"
        ")\n"
        "project_create(user=user, description='Cleo builds a kiln')\n"
    )


def book_for(live_server, number: str, lab_id: int) -> None:
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.models import Lab\n"
        "from projects.selectors import project_for_user\n"
        "from projects.services import lab_book\n"
        f"user = get_user_model().objects.get(username={number!r})\n"
        "lab_book(user=user, project=project_for_user(user=user),\n"
        f"         lab=Lab.objects.get(pk={lab_id}))\n"
    )


def register(page, number: str, first_name: str) -> None:
    page.goto("/accounts/register/")
    page.fill("#id_username", number)
    page.fill("#id_first_name", first_name)
    page.fill("#id_last_name", "Tester")
    page.fill("#id_email", f"{number}@student.example.edu")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("nav-user")).to_have_text(first_name)


def alert(page):
    return page.locator(".messages .alert").first


def test_two_students_pair_book_and_split(live_server, browser):
    first, taken = make_labs(live_server, 2)
    make_student_with_project(live_server, "81100003")
    a_context = browser.new_context(base_url=live_server.url)
    # B's page goes stale on purpose (the live board would hide the button).
    b_context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        a, b = a_context.new_page(), b_context.new_page()
        for context in (a_context, b_context):
            context.set_default_timeout(10_000)

        register(b, "81100002", "Bea")
        register(a, "81100001", "Ari")

        # A creates a project and invites B.
        a.goto("/projects/new/")
        a.fill("#id_description", "A plant-watering robot")
        a.fill("#id_partner", "81100002")
        a.get_by_role("button", name="Create project").click()
        expect(alert(a)).to_contain_text("Invitation sent to Bea (81100002).")
        expect(a.get_by_test_id("outgoing")).to_contain_text("Bea")

        # B accepts on the dashboard.
        b.goto("/")
        expect(b.get_by_test_id("incoming-invitation")).to_contain_text("Ari")
        b.get_by_role("button", name="Accept").click()
        expect(alert(b)).to_contain_text("You joined Team")
        expect(b.get_by_test_id("dashboard-partner")).to_contain_text("Ari")

        # A books the first slot from the board (in the background: the
        # outcome shows in the row, the page stays).
        a.goto(f"/labs/?room={ROOM}")
        a.locator(f"#lab-{first}").get_by_role("button", name="Book").click()
        expect(a.locator(f"#lab-{first}").get_by_role("status")).to_contain_text(
            "Your team booked"
        )
        expect(a.locator(f"#lab-{first}")).to_contain_text("Your slot")

        # B sees the slot on the dashboard.
        b.goto("/")
        slot_text = (
            a.locator(f"#lab-{first} td").first.inner_text().split("\N{EN DASH}")[0]
        )
        expect(b.get_by_test_id("dashboard-slot")).to_contain_text(slot_text)

        # B opens the board; Cleo books a slot; B, on the stale page, tries
        # the slot Cleo now holds and is told why.
        b.goto(f"/labs/?room={ROOM}")
        move = b.locator(f"#lab-{taken}").get_by_role("button", name="Move here")
        expect(move).to_be_visible()
        book_for(live_server, "81100003", taken)
        move.click()
        expect(alert(b)).to_have_text(
            re.compile("That slot was just taken by another team")
        )
        expect(b.locator(f"#lab-{first}")).to_contain_text("Your slot")

        # A dissolves; both are free again and the slot is free.
        a.goto("/projects/mine/dissolve/")
        expect(a.get_by_test_id("dissolve-effects")).to_contain_text(
            "chat room and its whole history"
        )
        a.get_by_role("button", name="Dissolve the project").click()
        expect(alert(a)).to_contain_text("was dissolved")
        expect(a.get_by_test_id("dashboard-free")).to_be_visible()
        b.goto("/")
        expect(b.get_by_test_id("dashboard-free")).to_be_visible()
        b.goto(f"/labs/?room={ROOM}")
        expect(b.locator(f"#lab-{first}").get_by_test_id("status")).to_have_text("Free")
    finally:
        a_context.close()
        b_context.close()
