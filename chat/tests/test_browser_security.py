"""Security rules as a user meets them, in Chromium against daphne (issue 14):
the coordinator badge a name can't fake, a room closed by a coordinator, and
a coordinator's forged escalation in the user admin.

The live server's database lives for the whole session, so this module uses
student numbers (736xxxxx) and room names of its own. No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "thistle-harbor-pepper-71"


def make_users(live_server, users: dict[str, dict], then: str = "") -> str:
    """Create users (username: fields) with PASSWORD, then run `then`."""
    return live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from django.contrib.auth.hashers import make_password\n"
        "from accounts.coordinators import coordinator_make\n"
        "User = get_user_model()\n"
        f"hashed = make_password({PASSWORD!r})\n"
        f"for username, fields in {users!r}.items():\n"
        "    User.objects.create(username=username, password=hashed, **fields)\n"
        "    if fields.get('is_staff'):\n"
        "        coordinator_make(username=username)\n" + then
    )


def enter_room(page, name: str) -> None:
    page.goto("/chat/")
    page.get_by_label("Room name").fill(name)
    page.get_by_role("button", name="Open room").click()
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )


def say(page, text: str) -> None:
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")
    expect(page.locator(".chat-text", has_text=text)).to_have_count(1)


def test_only_the_real_coordinator_wears_the_badge(live_server, new_page):
    # Casey's name predates the rule; the rule now refuses new ones.
    make_users(
        live_server,
        {
            "73600001": {
                "first_name": "Casey",
                "preferred_name": "Casey (coordinator)",
                "email": "casey736@example.edu",
            },
            "coord736": {"first_name": "Mona", "is_staff": True},
        },
    )
    casey, mona = new_page(), new_page()
    sign_in(casey, "73600001", PASSWORD)
    sign_in(mona, "coord736", PASSWORD)
    enter_room(casey, "Badge 736")
    enter_room(mona, "Badge 736")
    say(casey, "I am in charge here")
    say(mona, "office hours at 3")

    for page in (casey, mona):
        real = page.locator(".chat-message", has_text="office hours at 3")
        fake = page.locator(".chat-message", has_text="I am in charge here")
        expect(real.locator(".badge")).to_have_text("Coordinator")
        expect(fake.locator(".badge")).to_have_count(0)
        expect(fake.locator(".chat-author")).to_have_text("Casey (coordinator)")
        presence = page.locator("#chat-presence li")
        expect(presence.filter(has_text="Mona").locator(".badge")).to_have_count(1)
        expect(
            presence.filter(has_text="Casey (coordinator)").locator(".badge")
        ).to_have_count(0)

    casey.goto("/accounts/profile/")
    casey.get_by_label("Preferred name").fill("The Coordinator")
    casey.get_by_role("button", name="Save profile").click()
    expect(casey.get_by_role("main")).to_contain_text(
        "Names can't contain “coordinator”"
    )


def test_a_room_closed_in_the_admin_disconnects_and_stays_closed(live_server, new_page):
    make_users(
        live_server,
        {
            "73600011": {"first_name": "Noor"},
            "close736": {"first_name": "Olga", "is_staff": True},
        },
    )
    noor, olga = new_page(), new_page()
    sign_in(noor, "73600011", PASSWORD)
    sign_in(olga, "close736", PASSWORD)
    enter_room(noor, "Spam 736")
    say(noor, "spam spam spam")

    olga.goto("/admin/chat/room/?q=spam-736")
    olga.locator("input[name=_selected_action]").first.check()
    olga.select_option("select[name=action]", "close_rooms")
    olga.locator("button[name=index]").click()
    expect(olga.locator(".messagelist")).to_contain_text("1 room(s) closed")

    expect(noor.locator("#chat-notice")).to_contain_text("a coordinator closed it")
    expect(noor.locator("#chat-connection")).to_have_attribute("data-state", "closed")
    response = noor.goto("/chat/spam-736/")
    assert response.status == 410
    expect(noor.get_by_test_id("room-closed")).to_have_text(
        "This room was closed by a coordinator."
    )
    noor.goto("/chat/")
    expect(noor.get_by_test_id("room-list")).not_to_contain_text("Spam 736")
    noor.get_by_label("Room name").fill("Spam 736")
    noor.get_by_role("button", name="Open room").click()
    expect(noor.get_by_role("main")).to_contain_text(
        "This room was closed by a coordinator."
    )


def test_a_coordinator_cannot_escalate_through_the_user_admin(live_server, page):
    output = make_users(
        live_server,
        {
            "73600021": {"first_name": "Pia"},
            "esc736": {"first_name": "Quinn", "is_staff": True},
        },
        then="print(User.objects.get(username='73600021').pk,"
        " User.objects.get(username='esc736').pk)\n",
    )
    student_id, own_id = output.split()[-2:]
    sign_in(page, "esc736", PASSWORD)

    page.goto(f"/admin/accounts/user/{own_id}/change/")
    expect(page.locator("input[name=is_superuser]")).to_have_count(0)
    expect(page.locator("input[name=first_name]")).to_have_count(0)  # view only

    page.goto(f"/admin/accounts/user/{student_id}/change/")
    expect(page.locator("input[name=first_name]")).to_have_value("Pia")
    expect(page.locator("input[name=is_superuser]")).to_have_count(0)
    # Forge what the form doesn't offer, as an attacker would.
    page.evaluate(
        """() => {
          const form = document.querySelector("#user_form");
          for (const name of ["is_superuser", "is_staff"]) {
            const input = document.createElement("input");
            input.type = "hidden";
            input.name = name;
            input.value = "on";
            form.append(input);
          }
        }"""
    )
    page.locator("input[name=first_name]").fill("Pia Q")
    page.locator("input[name=_save]").click()
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")

    result = live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        f"u = get_user_model().objects.get(pk={student_id})\n"
        "print(u.first_name, u.is_staff, u.is_superuser)\n"
    )
    assert result.split()[-4:] == ["Pia", "Q", "False", "False"]

    # Not even their own staff account's password page (403).
    response = page.goto(f"/admin/accounts/user/{own_id}/password/")
    assert response.status == 403
