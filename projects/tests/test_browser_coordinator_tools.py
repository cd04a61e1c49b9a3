"""The coordinator's tools and live page in Chromium against daphne.

This module runs its own live server (its own database): pairing and
placing act on every free student and unbooked team, which would change
other modules' people on the shared one. No ORM here.
"""

import subprocess

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "quartz-lantern-meadow-47"


def assert_accessible(page) -> None:
    """axe at WCAG 2.2 AA, as test_browser_accessibility.py runs it."""
    from pairup.tests.test_browser_accessibility import blocking_violations

    assert blocking_violations(page) == [], page.url


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from pairup.tests.browser import start_live_server

    server = start_live_server(tmp_path_factory.mktemp("coordinator-tools"))
    server.shell(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_superuser(\n"
        f"    username='coord-tools', password={PASSWORD!r}, first_name='Cleo',\n"
        "    email='cleo@staff.example.edu')\n"
    )
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def students(live_server, *rows: str) -> None:
    """Students from `number first flag` rows (flag: assign, looking or -)."""
    code = [
        "from django.contrib.auth import get_user_model",
        "User = get_user_model()",
    ]
    for row in rows:
        number, first, flag = row.split()
        code.append(
            f"User.objects.create_user(username={number!r}, password={PASSWORD!r}, "
            f"first_name={first!r}, last_name='Tools', "
            f"email={number + '@student.example.edu'!r}, "
            f"please_assign_me={flag == 'assign'}, "
            f"looking_for_partner={flag == 'looking'})"
        )
    live_server.shell("\n".join(code) + "\n")


def make_lab(live_server, room: str, days: int) -> tuple[int, str]:
    """A slot `days` ahead; return its id and local day (YYYY-MM-DD)."""
    lab_id, day = live_server.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        f"start = (timezone.now() + timedelta(days={days})).replace(microsecond=0)\n"
        # Two calls within one second would ask for the same start.
        f"while Lab.objects.filter(room={room!r}, start=start).exists():\n"
        "    start += timedelta(seconds=1)\n"
        f"lab = Lab.objects.create(room={room!r}, start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "print(lab.pk, timezone.localtime(lab.start).date())\n"
    ).split()
    return int(lab_id), day


def count(page, name: str):
    return page.get_by_test_id("counts").locator(f'dt:text-is("{name}") + dd')


def test_the_page_counts_up_as_a_student_books_in_another_browser(
    live_server, new_page
):
    students(live_server, "70100001 Ann -", "70100002 Ben -")
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.services import project_create\n"
        "ann = get_user_model().objects.get(username='70100001')\n"
        "project_create(user=ann, description='Ann builds a kite')\n"
    )
    lab, _ = make_lab(live_server, "Live Count Lab", days=4)
    coordinator, ann, ben = new_page(), new_page(), new_page()
    sign_in(coordinator, "coord-tools", PASSWORD)
    coordinator.goto("/coordinator/?q=7010")
    expect(coordinator.get_by_test_id("coordinator-connection")).to_contain_text("Live")
    booked = int(count(coordinator, "Teams with a slot").inner_text())
    free_slots = int(count(coordinator, "Free upcoming slots").inner_text())
    without = int(count(coordinator, "Without a project").inner_text())
    ann_row = coordinator.locator('tr[data-number="70100001"]')
    expect(ann_row).to_contain_text("No slot")
    requests = []
    coordinator.on(
        "request",
        lambda request: (
            requests.append(request.url)
            if "/coordinator/live/" in request.url
            else None
        ),
    )

    sign_in(ann, "70100001", PASSWORD)
    ann.goto("/labs/?room=Live+Count+Lab")
    expect(ann.get_by_test_id("board-connection")).to_contain_text("Live")
    ann.locator(f"#lab-{lab}").get_by_role("button", name="Book").click()
    expect(ann.locator(f"#lab-{lab}")).to_contain_text("Your slot")

    # No reload: the counts, the table and the pictures follow.
    expect(count(coordinator, "Teams with a slot")).to_have_text(str(booked + 1))
    expect(count(coordinator, "Free upcoming slots")).to_have_text(str(free_slots - 1))
    expect(ann_row).to_contain_text("Live Count Lab")
    expect(coordinator.get_by_test_id("coordinator-announcer")).to_contain_text(
        f"Teams with a slot: {booked + 1} (was {booked})"
    )
    expect(coordinator.get_by_test_id("fill-chart")).to_contain_text("Live Count Lab")
    # The filters and the page's address hold through the update.
    assert requests and all("q=7010" in url for url in requests)
    assert_accessible(coordinator)

    sign_in(ben, "70100002", PASSWORD)
    ben.goto("/projects/new/")
    ben.get_by_label("Description").fill("Ben builds a boat")
    ben.get_by_role("button", name="Create project").click()
    expect(ben.get_by_text("Your project was created.")).to_be_visible()

    expect(count(coordinator, "Without a project")).to_have_text(str(without - 1))
    expect(coordinator.locator('tr[data-number="70100002"]')).to_contain_text("Team ")
    # One request per change at most: two changes, never one per frame.
    assert len(requests) <= 4, requests


def test_a_coordinator_pairs_places_and_tells_them_from_the_page(live_server, new_page):
    students(
        live_server,
        "70200001 Cai assign",
        "70200002 Dee assign",
        "70200003 Eli looking",
        "70200004 Gus -",
    )
    # The teams without a slot are Gus's and the one paired below, whichever
    # tests ran before on this server (xdist may run them on another): any
    # other team gets a slot elsewhere first.
    live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects import services\n"
        "from projects.models import Lab, Project\n"
        "User = get_user_model()\n"
        "cleo = User.objects.get(username='coord-tools')\n"
        "start = timezone.now().replace(microsecond=0) + timedelta(days=9)\n"
        "for n, team in enumerate(Project.objects.filter(lab__isnull=True)):\n"
        "    at = start + timedelta(minutes=20 * n)\n"
        "    lab = Lab.objects.create(room='Elsewhere Lab', start=at,\n"
        "                             end=at + timedelta(minutes=15))\n"
        "    services.lab_book(user=cleo, project=team, lab=lab)\n"
        "services.project_create(user=User.objects.get(username='70200004'),\n"
        "                        description='Gus grows moss')\n"
    )
    # Two slots: one for each team without one.
    _, day = make_lab(live_server, "Tools Lab", days=6)
    make_lab(live_server, "Tools Lab", days=6)
    coordinator = new_page()
    sign_in(coordinator, "coord-tools", PASSWORD)

    # Pair: the preview, then apply it.
    coordinator.goto("/coordinator/")
    coordinator.get_by_label("Students who asked").check()
    coordinator.get_by_role("button", name="Preview the pairs").click()
    planned = coordinator.get_by_test_id("planned-teams")
    expect(planned).to_contain_text("Cai Tools (70200001) and Dee Tools (70200002)")
    expect(coordinator.get_by_test_id("left-out")).to_contain_text(
        "Eli Tools (70200003): Odd one out"
    )
    assert_accessible(coordinator)
    coordinator.get_by_role("button", name="Make these").click()
    expect(coordinator.get_by_text("not paired.")).to_be_visible()
    result = coordinator.get_by_test_id("pairing-result")
    expect(result).to_contain_text("Cai Tools (70200001), Dee Tools (70200002)")
    expect(result).to_contain_text("Eli Tools (70200003): Odd one out")
    assert_accessible(coordinator)

    # Place: every team without a slot, in Tools Lab on its day.
    coordinator.goto("/coordinator/")
    coordinator.get_by_label("Day", exact=True).select_option(day)
    coordinator.get_by_label("Room", exact=True).select_option("Tools Lab")
    coordinator.get_by_role("button", name="Preview the places").click()
    places = coordinator.get_by_test_id("planned-places")
    expect(places).to_contain_text("Cai, Dee")
    expect(places).to_contain_text("Tools Lab")
    assert_accessible(coordinator)
    coordinator.get_by_role("button", name="Place these").click()
    expect(coordinator.get_by_test_id("placement-result")).to_contain_text("Tools Lab")
    assert_accessible(coordinator)
    expect(coordinator.get_by_test_id("nothing-to-do")).to_contain_text(
        "every team has a slot"
    )

    # Tell the teams presenting in Tools Lab: Cai, Dee and Gus.
    coordinator.goto("/coordinator/")
    form = coordinator.get_by_test_id("announcement-form")
    form.get_by_label("Tell").select_option("slot")
    form.get_by_label("Their slot's room").select_option("Tools Lab")
    form.get_by_label("Message").fill("Bring your poster to Tools Lab.")
    form.get_by_role("button", name="Preview who it reaches").click()
    expect(coordinator.get_by_test_id("audience")).to_contain_text("reaches 3 students")
    expect(coordinator.get_by_label("Message")).to_have_value(
        "Bring your poster to Tools Lab."
    )
    assert_accessible(coordinator)
    coordinator.get_by_role("button", name="Send").click()
    expect(coordinator.get_by_text("Sent to 3 student(s)")).to_be_visible()
    expect(coordinator.get_by_test_id("announcements")).to_contain_text(
        "Bring your poster to Tools Lab."
    )
    assert_accessible(coordinator)

    cai = new_page()
    sign_in(cai, "70200001", PASSWORD)
    cai.goto("/notifications/")
    expect(cai.locator("main")).to_contain_text("Bring your poster to Tools Lab.")
    expect(cai.locator("main")).to_contain_text("booked the lab slot")
    expect(cai.locator("main")).to_contain_text("added you to Team")


def test_after_a_failed_update_the_page_tries_again_and_says_it_is_live(
    live_server, new_page
):
    """One live update that fails (a server restart, a dropped connection)
    says so and is tried again a few seconds later: the change it missed
    shows, and the warning goes, so the page never asks the coordinator to
    reload a page that is up to date."""
    import re

    students(live_server, "70300001 Fay -")
    coordinator, fay = new_page(), new_page()
    sign_in(coordinator, "coord-tools", PASSWORD)
    coordinator.goto("/coordinator/?q=7030")
    connection = coordinator.get_by_test_id("coordinator-connection")
    expect(connection).to_contain_text("Live")
    failures = []

    def fail_once(route):
        if not failures:
            failures.append(route.request.url)
            route.fulfill(status=503, body="busy")
        else:
            route.continue_()

    coordinator.route(re.compile(r"/coordinator/live/"), fail_once)

    sign_in(fay, "70300001", PASSWORD)
    fay.goto("/projects/new/")
    fay.get_by_label("Description").fill("Fay flies a drone")
    fay.get_by_role("button", name="Create project").click()
    expect(fay.get_by_text("Your project was created.")).to_be_visible()
    expect(connection).to_contain_text("The last update failed")

    # No other change comes: the retry alone brings the page up to date.
    fay_row = coordinator.locator('tr[data-number="70300001"]')
    expect(fay_row).to_contain_text("Team ", timeout=10_000)
    expect(connection).to_contain_text("Live")
    expect(connection).not_to_contain_text("failed")
    assert len(failures) == 1
