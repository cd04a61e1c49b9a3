"""Opening rooms, moderation and closed team rooms in Chromium against daphne.

The live server's database lives for the whole session, so this module uses
student numbers (735xxxxx) and room names of its own. No ORM here. With the
in-memory channel layer only the server process reaches open sockets, so the
live changes are made through the UI and the admin.
"""

import re

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "thistle-harbor-pepper-71"


def make_students(live_server, students: dict[str, str], then: str = "") -> str:
    """Create students (number: first name), then run the code `then`."""
    return live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "User = get_user_model()\n"
        f"hashed = make_password({PASSWORD!r})\n"
        f"for number, name in {students!r}.items():\n"
        "    User.objects.create(username=number, password=hashed, first_name=name)\n"
        + then
    )


def expect_connected(page) -> None:
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )


def say(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    expect(page.locator(".chat-text", has_text=text)).to_have_count(1)


def test_student_opens_a_public_room_by_name(live_server, page):
    make_students(live_server, {"73500001": "Vera"})
    sign_in(page, "73500001", PASSWORD)

    page.get_by_role("link", name="Chat").click()
    page.get_by_label("Room name").fill("Team Rocket 735")
    page.get_by_role("button", name="Open room").click()
    expect(page.get_by_role("main")).to_contain_text(
        'Names starting with "team" are kept for team rooms.'
    )
    expect(page.get_by_label("Room name")).to_have_value("Team Rocket 735")

    page.get_by_label("Room name").fill("Rocket Club 735")
    page.get_by_role("button", name="Open room").click()
    expect(page).to_have_url(re.compile(r"/chat/rocket-club-735/$"))
    expect(page.get_by_role("heading", name="Rocket Club 735")).to_be_visible()
    expect_connected(page)
    say(page, "first!")

    page.get_by_role("link", name="All rooms").click()
    expect(page.get_by_test_id("room-list")).to_contain_text("Rocket Club 735")

    # An unknown room offers to open it.
    response = page.goto("/chat/kite-club-735/")
    assert response.status == 404
    page.get_by_test_id("open-room-link").click()
    expect(page.get_by_label("Room name")).to_have_value("kite-club-735")
    page.get_by_role("button", name="Open room").click()
    expect(page).to_have_url(re.compile(r"/chat/kite-club-735/$"))
    expect_connected(page)


def test_a_message_deleted_in_the_admin_disappears_from_an_open_room(
    live_server, new_page
):
    make_students(
        live_server,
        {"73500011": "Wim", "mod735": "Mona"},
        then="from accounts.coordinators import coordinator_make\n"
        "User.objects.filter(username='mod735').update(is_staff=True)\n"
        "coordinator_make(username='mod735')\n",
    )
    wim, mona = new_page(), new_page()
    sign_in(wim, "73500011", PASSWORD)
    sign_in(mona, "mod735", PASSWORD)
    wim.goto("/chat/")
    wim.get_by_label("Room name").fill("Moderated 735")
    wim.get_by_role("button", name="Open room").click()
    expect_connected(wim)
    say(wim, "a fine message")
    say(wim, "a rude message 735")
    rude = wim.locator(".chat-message", has_text="a rude message 735")
    message_id = rude.get_attribute("data-id")

    mona.goto("/admin/chat/message/?q=rude+message+735")
    mona.locator(f"input[name=_selected_action][value='{message_id}']").check()
    mona.select_option("select[name=action]", "delete_selected")
    # The action button says "Go" on Django 5.2 and "Run" on Django 6.
    mona.locator("button[name=index]").click()
    mona.get_by_role("button", name=re.compile(r"^Yes, I.m sure$")).click()
    expect(mona.locator(".messagelist")).to_contain_text("Successfully deleted 1")

    expect(rude).to_have_count(0)
    expect(wim.locator(".chat-text", has_text="a fine message")).to_have_count(1)
    expect_connected(wim)
    wim.reload()
    expect_connected(wim)
    expect(wim.locator(".chat-text", has_text="a fine message")).to_have_count(1)
    expect(wim.locator(".chat-text", has_text="a rude message")).to_have_count(0)


def test_dissolving_a_team_closes_the_partners_team_room(live_server, new_page):
    output = make_students(
        live_server,
        {"73500021": "Xavi", "73500022": "Yara"},
        then="from projects.models import Invitation\n"
        "from projects.services import invitation_accept, project_create\n"
        "xavi = User.objects.get(username='73500021')\n"
        "yara = User.objects.get(username='73500022')\n"
        "project = project_create(user=xavi, description='Xavi and Yara',\n"
        "                         partner_number='73500022')\n"
        "invitation_accept(user=yara, invitation=Invitation.objects.get(invitee=yara))\n"
        "print(project.pk)\n",
    )
    project_id = int(output.split()[-1])
    xavi, yara = new_page(), new_page()
    sign_in(xavi, "73500021", PASSWORD)
    sign_in(yara, "73500022", PASSWORD)
    yara.goto("/chat/")
    yara.get_by_test_id("team-room-link").click()
    expect(yara).to_have_url(re.compile(rf"/chat/team-{project_id}/$"))
    expect_connected(yara)
    say(yara, "shall we split?")

    xavi.goto("/projects/mine/")
    xavi.get_by_role("link", name="Dissolve project").click()
    xavi.get_by_role("button", name="Dissolve the project").click()
    expect(xavi.locator(".messages .alert").first).to_contain_text("was dissolved")

    expect(yara.locator("#chat-notice")).to_have_text(
        "This room is closed to you now: a coordinator closed it, its team "
        "was dissolved, or you are no longer in it."
    )
    expect(yara.locator("#chat-connection")).to_have_attribute("data-state", "closed")
    expect(yara.locator("#chat-input")).not_to_be_editable()
    expect(yara.locator("#chat-send")).to_be_disabled()
    # It stays closed: no reconnect attempts into a room that is gone.
    yara.wait_for_timeout(1500)
    expect(yara.locator("#chat-connection")).to_have_attribute("data-state", "closed")

    yara.goto("/chat/")
    expect(yara.get_by_test_id("team-room-link")).to_have_count(0)
    response = yara.goto(f"/chat/team-{project_id}/")
    assert response.status == 404
