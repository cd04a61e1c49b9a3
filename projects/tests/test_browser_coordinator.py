"""The coordinator's overview and CSV download in Chromium against daphne.

The live server's database lives for the whole session and other modules add
students to it, so counts are checked as differences. Student numbers 734xxxxx
and a room of this module's own. No ORM here.
"""

import csv
import io

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "meadow-copper-signal-86"
FORMULA = '=HYPERLINK("http://evil.example","Eve")'


def read_counts(page) -> dict[str, int]:
    return page.get_by_test_id("counts").evaluate(
        """counts => Object.fromEntries(
            Array.from(counts.querySelectorAll("dt"), (dt) =>
                [dt.textContent.trim(), Number(dt.nextElementSibling.textContent)])
        )"""
    )


def make_unit(live_server) -> None:
    """Two free students, a solo project with a slot, a full team without one,
    and a free upcoming slot."""
    live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects.models import Invitation, Lab\n"
        "from projects.services import invitation_accept, project_create\n"
        "from django.contrib.auth.hashers import make_password\n"
        "User = get_user_model()\n"
        f"hashed = make_password({PASSWORD!r})\n"
        "def student(number, first, last, **flags):\n"
        "    return User.objects.create(\n"
        "        username=number, password=hashed, first_name=first,\n"
        "        last_name=last, email=number + '@student.example.edu', **flags)\n"
        "student('73400001', 'Wanda', 'Aardvark', please_assign_me=True)\n"
        f"student('73400002', {FORMULA!r}, 'Aardwolf', looking_for_partner=True)\n"
        "solo = student('73400003', 'Xena', 'Solo')\n"
        "yan = student('73400004', 'Yan', 'Team')\n"
        "zoe = student('73400005', 'Zoe', 'Team')\n"
        "start = timezone.now() + timedelta(days=7)\n"
        "labs = [Lab.objects.create(room='Coordinator Lab', start=start + timedelta(minutes=20 * i),\n"
        "                           end=start + timedelta(minutes=20 * i + 15)) for i in range(2)]\n"
        "project_create(user=solo, description='Xena alone', lab=labs[0])\n"
        "project_create(user=yan, description='Yan and Zoe', partner_number='73400005')\n"
        "invitation_accept(user=zoe, invitation=Invitation.objects.get(invitee=zoe))\n"
    )


def test_coordinator_sees_the_unit_and_downloads_the_free_students(live_server, page):
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_user(\n"
        f"    username='coord734', password={PASSWORD!r}, first_name='Cora',\n"
        "    is_staff=True)\n"
    )
    assert "coord734 is now a coordinator" in live_server.manage(
        "make_coordinator", "coord734"
    )
    sign_in(page, "coord734", PASSWORD)
    # The navbar's link (the dashboard's card also links to the page).
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="Coordinator", exact=True
    ).click()
    expect(page.get_by_role("heading", name="The unit at a glance")).to_be_visible()
    before = read_counts(page)

    make_unit(live_server)
    page.reload()
    after = read_counts(page)
    assert {name: after[name] - before[name] for name in after} == {
        "Students": 5,
        "In full teams": 2,
        "In solo projects": 1,
        "Without a project": 2,
        "Teams with a slot": 1,
        "Teams without a slot": 1,
        "Free upcoming slots": 1,
    }

    page.get_by_label("Name or student number").fill("734")
    page.get_by_label("Status").select_option("free")
    page.get_by_role("button", name="Show").click()
    table = page.get_by_test_id("roster")
    wanda = table.locator("tr", has_text="73400001")
    expect(wanda).to_contain_text("Wanda Aardvark")
    expect(wanda).to_contain_text("Please assign me")
    expect(wanda).not_to_contain_text("Looking for a partner")
    formula = table.locator("tr", has_text="73400002")
    expect(formula).to_contain_text(FORMULA)
    expect(formula).to_contain_text("Looking for a partner")
    expect(table).not_to_contain_text("73400003")
    expect(table).not_to_contain_text("coord734")
    page.get_by_label("Status").select_option("unbooked")
    page.get_by_role("button", name="Show").click()
    expect(table.locator("tr", has_text="73400004")).to_contain_text("with Zoe")
    expect(table).not_to_contain_text("73400003")

    header = [
        "student_number",
        "first_name",
        "last_name",
        "preferred_name",
        "email",
        "looking_for_partner",
        "please_assign_me",
        "team",
        "room",
        "date",
        "start",
        "end",
        "time_zone",
    ]
    rows = download(page, "Students without a project (CSV)")
    assert rows[0] == header
    by_number = {row[0]: row for row in rows[1:]}
    assert by_number["73400002"][1] == "'" + FORMULA
    assert by_number["73400002"][5:7] == ["yes", "no"]
    assert by_number["73400001"][1:8] == [
        "Wanda",
        "Aardvark",
        "",
        "73400001@student.example.edu",
        "no",
        "yes",
        "",
    ]
    assert "73400003" not in by_number
    assert "coord734" not in by_number

    teams = download(page, "Teams without a slot (CSV)")
    assert teams[0][:4] == ["team", "description", "size", "member_1_number"]
    (yan_and_zoe,) = [row for row in teams if row[1] == "Yan and Zoe"]
    assert yan_and_zoe[2:9] == [
        "2",
        "73400004",
        "Yan Team",
        "73400004@student.example.edu",
        "73400005",
        "Zoe Team",
        "73400005@student.example.edu",
    ]
    assert not [row for row in teams if row[1] == "Xena alone"]

    # The filtered table downloads as it is shown.
    shown = download(page, "Download these students (CSV)")
    assert [row[0] for row in shown[1:]] == ["73400004", "73400005"]


def download(page, link: str) -> list[list[str]]:
    with page.expect_download() as download_info:
        page.get_by_role("link", name=link).click()
    with open(download_info.value.path(), "rb") as file:
        data = file.read()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def test_student_on_the_coordinator_page_gets_the_403_page(live_server, page):
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_user(\n"
        f"    username='73400011', password={PASSWORD!r}, first_name='Pip')\n"
    )
    sign_in(page, "73400011", PASSWORD)
    expect(page.get_by_role("link", name="Coordinator")).to_have_count(0)

    response = page.goto("/coordinator/")
    assert response.status == 403
    expect(
        page.get_by_role("heading", name="You don't have access to this page")
    ).to_be_visible()
    expect(page.get_by_test_id("counts")).to_have_count(0)

    response = page.goto("/coordinator/students.csv")
    assert response.status == 403
