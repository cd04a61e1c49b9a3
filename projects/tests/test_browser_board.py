"""The live lab board in Chromium against a real daphne process.

Student numbers 812xxxxx and rooms of this module's own: the live server's
database lives for the whole session. No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in
from projects.tests.helpers import open_board

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "harbour-violet-engine-31"


def shell_ids(live_server, code: str) -> list[int]:
    return [int(pk) for pk in live_server.shell(code).split()]


def make_people(live_server) -> None:
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.services import project_create\n"
        "User = get_user_model()\n"
        "ann = User.objects.create_user(\n"
        f"    username='81200001', password={PASSWORD!r}, first_name='Ann'\n"
        ")\n"
        "User.objects.create_user(\n"
        f"    username='81200002', password={PASSWORD!r}, first_name='Ben'\n"
        ")\n"
        "project_create(user=ann, description='Ann builds a drone')\n"
    )


def make_lab(live_server, room: str, *, seconds_from_now: int) -> int:
    (lab_id,) = shell_ids(
        live_server,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        f"start = timezone.now() + timedelta(seconds={seconds_from_now})\n"
        f"lab = Lab.objects.create(room={room!r}, start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "print(lab.pk)\n",
    )
    return lab_id


def test_board_changes_live_when_another_team_books(live_server, new_page):
    make_people(live_server)
    lab = make_lab(live_server, "Live Lab 1", seconds_from_now=3 * 86400)
    ann, ben = new_page(), new_page()
    sign_in(ann, "81200001", PASSWORD)
    sign_in(ben, "81200002", PASSWORD)
    open_board(ben, "Live Lab 1")
    status = ben.locator(f"#lab-{lab}").get_by_test_id("status")
    expect(status).to_have_text("Free")

    open_board(ann, "Live Lab 1")
    ann.locator(f"#lab-{lab}").get_by_role("button", name="Book").click()
    expect(ann.locator(f"#lab-{lab}")).to_contain_text("Your slot")

    expect(status).to_have_text("Taken")
    expect(ben.get_by_test_id("board-live")).to_contain_text("was just taken")
    assert "Ann" not in ben.locator(f"#lab-{lab}").inner_text()


def test_board_follows_the_clock_without_a_write(live_server, new_page):
    """The cut-off passing and a slot starting change the board on their own."""
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "get_user_model().objects.create_user(\n"
        f"    username='81200003', password={PASSWORD!r}, first_name='Cat'\n"
        ")\n"
    )
    page = new_page()
    sign_in(page, "81200003", PASSWORD)
    # The live server runs with the default cut-off of 60 minutes.
    cutoff_soon, starts_soon = shell_ids(
        live_server,
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        "now = timezone.now()\n"
        "for seconds in (3600 + 10, 14):\n"
        "    start = now + timedelta(seconds=seconds)\n"
        "    lab = Lab.objects.create(room='Clock Lab', start=start,\n"
        "                             end=start + timedelta(minutes=15))\n"
        "    print(lab.pk)\n",
    )
    open_board(page, "Clock Lab")
    cutoff_status = page.locator(f"#lab-{cutoff_soon}").get_by_test_id("status")
    expect(cutoff_status).to_have_text("Free")
    expect(page.locator(f"#lab-{starts_soon}")).to_be_visible()

    expect(cutoff_status).to_have_text("Free (too late to book)", timeout=20_000)
    expect(page.locator(f"#lab-{starts_soon}")).to_have_count(0, timeout=20_000)
    expect(page.get_by_test_id("board-live")).to_contain_text("has started")


def unpublish(live_server) -> None:
    live_server.shell(
        "from projects.models import BookingWindow\n"
        "BookingWindow.objects.filter(pk=1).update(schedule_published=False)\n"
    )


def test_publishing_the_schedule_shows_team_names_on_an_open_board(
    live_server, new_page
):
    (lab,) = shell_ids(
        live_server,
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects.models import Lab\n"
        "from projects.services import project_create\n"
        "User = get_user_model()\n"
        "dee = User.objects.create_user(username='81200004', first_name='Dee')\n"
        "User.objects.create_user(\n"
        f"    username='81200005', password={PASSWORD!r}, first_name='Eve'\n"
        ")\n"
        "User.objects.create_superuser(\n"
        f"    username='publisher', password={PASSWORD!r}, first_name='Pat'\n"
        ")\n"
        "start = timezone.now() + timedelta(days=5)\n"
        "lab = Lab.objects.create(room='Publish Lab', start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "project_create(user=dee, description='Dee sorts seeds', lab=lab)\n"
        "print(lab.pk)\n",
    )
    student, coordinator = new_page(), new_page()
    sign_in(student, "81200005", PASSWORD)
    sign_in(coordinator, "publisher", PASSWORD)
    open_board(student, "Publish Lab")
    row = student.locator(f"#lab-{lab}")
    expect(row.get_by_test_id("status")).to_have_text("Taken")
    expect(row).not_to_contain_text("Dee")

    try:
        coordinator.goto("/admin/projects/bookingwindow/1/change/")
        coordinator.check("#id_schedule_published")
        coordinator.locator("input[name=_save]").click()
        expect(coordinator.locator(".messagelist")).to_be_visible()

        expect(row).to_contain_text("Dee", timeout=15_000)
        expect(row).to_contain_text("Dee sorts seeds")
    finally:
        unpublish(live_server)


def test_board_opens_for_booking_when_the_window_opens(live_server, new_page):
    """No write happens when `opens at` passes: the page's clock drives it."""
    (lab,) = shell_ids(
        live_server,
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects.models import BookingWindow, Lab\n"
        "from projects.services import project_create\n"
        "fay = get_user_model().objects.create_user(\n"
        f"    username='81200006', password={PASSWORD!r}, first_name='Fay'\n"
        ")\n"
        "project_create(user=fay, description='Fay folds proteins')\n"
        "start = timezone.now() + timedelta(days=6)\n"
        "lab = Lab.objects.create(room='Window Lab', start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "print(lab.pk)\n",
    )
    page = new_page()
    sign_in(page, "81200006", PASSWORD)
    live_server.shell(
        "from datetime import timedelta\n"
        "from django.utils import timezone\n"
        "from projects.models import BookingWindow\n"
        "BookingWindow.get()\n"
        "BookingWindow.objects.filter(pk=1).update(\n"
        "    opens_at=timezone.now() + timedelta(seconds=8))\n"
    )
    try:
        open_board(page, "Window Lab")
        book = page.locator(f"#lab-{lab}").get_by_role("button", name="Book")
        expect(page.get_by_test_id("booking-state")).to_contain_text("Booking opens")
        expect(book).to_have_count(0)

        expect(page.get_by_test_id("booking-state")).to_have_text(
            "Booking is open.", timeout=20_000
        )
        expect(book).to_be_visible()
    finally:
        live_server.shell(
            "from projects.models import BookingWindow\n"
            "BookingWindow.objects.filter(pk=1).update(opens_at=None)\n"
        )
