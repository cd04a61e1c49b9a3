"""The bell in Chromium against a real daphne process: it counts up live
when a partner invites, and the notification leads to the invitation.

No ORM here (see conftest.py): students register through the pages.
"""

import re

import pytest

from pairup.tests.helpers import nested_live_regions

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "amber-heron-kettle-41"


def register(page, number: str, first_name: str) -> None:
    page.goto("/accounts/register/")
    page.fill("#id_username", number)
    page.fill("#id_first_name", first_name)
    page.fill("#id_last_name", "Bell")
    page.fill("#id_email", f"{number}@student.example.edu")
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_test_id("nav-user")).to_have_text(first_name)


def test_bobs_bell_counts_up_live_and_leads_to_the_invitation(new_page):
    alice, bob = new_page(), new_page()
    register(alice, "81700001", "Alicia")
    register(bob, "81700002", "Bobby")
    bell = bob.get_by_test_id("bell")
    expect(bell).to_have_attribute("data-live", "true")  # /ws/me/ is open
    expect(bob.get_by_test_id("bell-count")).to_be_hidden()

    alice.goto("/projects/new/")
    alice.fill("#id_description", "A kiln that phones home")
    alice.fill("#id_partner", "81700002")
    alice.get_by_role("button", name="Create project").click()
    expect(alice.locator(".messages .alert").first).to_be_visible()

    # Bob's page, untouched, counts up and announces it (aria-live).
    expect(bob.get_by_test_id("bell-count")).to_have_text("1")
    expect(bell).to_have_attribute("aria-label", "Notifications, 1 unread")
    toast = bob.get_by_test_id("bell-toasts")
    expect(toast).to_contain_text("Alicia invited you to join")
    # Read once: the toast is no live region of its own inside the
    # container's, which screen readers could announce twice.
    assert nested_live_regions(bob) == []

    # The bell opens the list; the notification opens the invitation.
    bell.click()
    expect(bob).to_have_url(re.compile(r"/notifications/$"))
    bob.get_by_test_id("notification").first.get_by_role("link").click()
    expect(bob).to_have_url(re.compile(r"/#invitation-\d+$"))
    invitation = bob.locator(":target")
    expect(invitation).to_contain_text("Alicia invites you")
    expect(invitation.get_by_role("button", name="Accept")).to_be_visible()
    expect(bob.get_by_test_id("bell-count")).to_be_hidden()  # read now

    # Accepting tells Alice live too.
    invitation.get_by_role("button", name="Accept").click()
    expect(alice.get_by_test_id("bell-count")).to_have_text("1")
    expect(alice.get_by_test_id("bell-toasts")).to_contain_text(
        "Bobby accepted the invitation"
    )


def test_a_toast_waits_while_focus_is_on_it_then_goes(new_page):
    carla, dev = new_page(), new_page()
    dev.clock.install()  # the page's timers, run on demand
    register(carla, "81700011", "Carla")
    register(dev, "81700012", "Dev")
    expect(dev.get_by_test_id("bell")).to_have_attribute("data-live", "true")

    carla.goto("/projects/new/")
    carla.fill("#id_description", "A clock that waits")
    carla.fill("#id_partner", "81700012")
    carla.get_by_role("button", name="Create project").click()
    toast = dev.get_by_test_id("bell-toast")
    expect(toast).to_contain_text("Carla invited you to join")

    toast.get_by_role("link").focus()
    dev.clock.run_for(30_000)
    expect(toast).to_have_count(1)  # still there while it has the focus

    dev.get_by_test_id("bell").focus()
    dev.clock.run_for(6_000)
    expect(toast).to_have_count(0)


def test_a_toast_keeps_the_line_breaks_of_an_announcement(live_server, new_page):
    """A coordinator's announcement over several lines shows over several
    lines in the toast, as on /notifications/, not run together."""
    from pairup.tests.helpers import sign_in

    live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects import services\n"
        "from projects.models import Lab\n"
        "User = get_user_model()\n"
        "coordinator = User.objects.create_superuser(username='bell-coord',\n"
        f"    password={PASSWORD!r}, first_name='Tess', email='tess@staff.example.edu')\n"
        "student = User.objects.create_user(username='81700021',\n"
        f"    password={PASSWORD!r}, first_name='Lina', last_name='Bell',\n"
        "    email='81700021@student.example.edu')\n"
        "start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)\n"
        "lab = Lab.objects.create(room='Toast Lab', start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "project = services.project_create(user=student, description='Lines')\n"
        "services.lab_book(user=coordinator, project=project, lab=lab)\n"
    )
    coordinator, lina = new_page(), new_page()
    sign_in(lina, "81700021", PASSWORD)
    expect(lina.get_by_test_id("bell")).to_have_attribute("data-live", "true")

    sign_in(coordinator, "bell-coord", PASSWORD)
    coordinator.goto("/coordinator/")
    form = coordinator.get_by_test_id("announcement-form")
    form.get_by_label("Tell").select_option("slot")
    form.get_by_label("Their slot's room").select_option("Toast Lab")
    form.get_by_label("Message").fill("Room 2.\nAt 9.\nGo.")
    form.get_by_role("button", name="Send").click()
    expect(coordinator.get_by_text("Sent to 1 student(s)")).to_be_visible()

    toast = lina.get_by_test_id("bell-toast")
    expect(toast).to_contain_text("Go.")
    text = toast.get_by_role("link")
    # Where each line of the message starts: one line box below the other.
    tops = text.evaluate(
        """el => ["Room 2.", "At 9.", "Go."].map(part => {
          const node = el.firstChild;
          const range = document.createRange();
          range.setStart(node, node.data.indexOf(part));
          range.setEnd(node, node.data.indexOf(part) + part.length);
          return range.getBoundingClientRect().top;
        })"""
    )
    assert tops[0] < tops[1] < tops[2], tops  # run together, they share a line
    # Text, never markup: the line breaks are the text's own.
    assert text.evaluate("el => el.children.length") == 0


def test_a_long_address_in_an_announcement_stays_inside_the_toast_and_the_list(
    live_server, new_page
):
    """An announcement with a long unbroken word (an address) wraps: the
    toast keeps its Dismiss button inside it, and /notifications/ on a
    phone doesn't scroll sideways."""
    from pairup.tests.helpers import sign_in

    live_server.shell(
        "from datetime import timedelta\n"
        "from django.contrib.auth import get_user_model\n"
        "from django.utils import timezone\n"
        "from projects import services\n"
        "from projects.models import Lab\n"
        "User = get_user_model()\n"
        "coordinator = User.objects.create_superuser(username='bell-coord-2',\n"
        f"    password={PASSWORD!r}, first_name='Tess', email='tess2@staff.example.edu')\n"
        "student = User.objects.create_user(username='81700031',\n"
        f"    password={PASSWORD!r}, first_name='Lou', last_name='Bell',\n"
        "    email='81700031@student.example.edu')\n"
        "start = (timezone.now() + timedelta(days=3)).replace(microsecond=0)\n"
        "lab = Lab.objects.create(room='Wrap Lab', start=start,\n"
        "                         end=start + timedelta(minutes=15))\n"
        "project = services.project_create(user=student, description='Wraps')\n"
        "services.lab_book(user=coordinator, project=project, lab=lab)\n"
    )
    address = "https://lms.example.edu/courses/12345/" + "posters-and-slides-" * 6
    coordinator, lou = new_page(), new_page()
    sign_in(lou, "81700031", PASSWORD)
    expect(lou.get_by_test_id("bell")).to_have_attribute("data-live", "true")

    sign_in(coordinator, "bell-coord-2", PASSWORD)
    coordinator.goto("/coordinator/")
    form = coordinator.get_by_test_id("announcement-form")
    form.get_by_label("Tell").select_option("slot")
    form.get_by_label("Their slot's room").select_option("Wrap Lab")
    form.get_by_label("Message").fill(f"Upload here: {address}")
    form.get_by_role("button", name="Send").click()
    expect(coordinator.get_by_text("Sent to 1 student(s)")).to_be_visible()

    toast = lou.get_by_test_id("bell-toast")
    expect(toast).to_contain_text("Upload here")
    box = toast.bounding_box()
    dismiss = toast.get_by_role("button", name="Dismiss").bounding_box()
    text = toast.get_by_role("link").bounding_box()
    for inner in (dismiss, text):
        assert inner["x"] >= box["x"] and (
            inner["x"] + inner["width"] <= box["x"] + box["width"] + 0.5
        ), (inner, box)

    lou.set_viewport_size({"width": 375, "height": 740})
    lou.goto("/notifications/")
    expect(lou.get_by_test_id("notification").first).to_contain_text("Upload here")
    assert lou.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"
    )
