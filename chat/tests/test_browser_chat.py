"""Chat flows in Chromium against a real daphne process.

The live server's database lives for the whole session, so this module uses
student numbers of its own (the 72xxxxxx range).
"""

import json
import re

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "lantern-quiet-meadow-42"


def make_students(live_server, students: dict[str, str]) -> None:
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        f"for number, name in {students!r}.items():\n"
        "    get_user_model().objects.create_user(\n"
        f"        username=number, password={PASSWORD!r}, first_name=name\n"
        "    )\n"
    )


def make_team(live_server, number: str) -> int:
    output = live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.services import project_create\n"
        f"user = get_user_model().objects.get(username={number!r})\n"
        "print(project_create(user=user, description='Chat demo').pk)\n"
    )
    return int(output.strip().splitlines()[-1])


def enter_room(page, slug):
    page.goto(f"/chat/{slug}/")
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )


def say(page, text):
    page.fill("#chat-input", text)
    page.press("#chat-input", "Enter")


def test_two_students_see_each_others_messages_as_text(live_server, new_page):
    make_students(live_server, {"72000001": "Maya", "72000002": "Noor"})
    maya, noor = new_page(), new_page()
    dialogs = []
    for page in (maya, noor):
        page.on(
            "dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss())
        )
    sign_in(maya, "72000001", PASSWORD)
    sign_in(noor, "72000002", PASSWORD)
    enter_room(maya, "lobby")
    enter_room(noor, "lobby")
    expect(maya.locator("#chat-presence")).to_contain_text("Noor")

    say(maya, "hello from Maya")
    expect(noor.locator("#chat-messages")).to_contain_text("hello from Maya")
    say(noor, "<img src=x onerror=alert(1)>")
    last = maya.locator("#chat-messages .chat-message .chat-text").last
    expect(last).to_have_text("<img src=x onerror=alert(1)>")
    assert maya.locator("#chat-messages img").count() == 0
    assert dialogs == []
    expect(maya.locator("#chat-input")).to_have_value("")

    maya.reload()  # history survives a reload, without duplicates
    expect(maya.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )
    expect(maya.locator(".chat-text", has_text="hello from Maya")).to_have_count(1)


def test_outsider_is_refused_a_team_room_page(live_server, page):
    make_students(live_server, {"72000011": "Omar", "72000012": "Pia"})
    project_id = make_team(live_server, "72000011")
    sign_in(page, "72000012", PASSWORD)
    response = page.goto(f"/chat/team-{project_id}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="No such room")).to_be_visible()
    expect(page.locator("#chat-log")).to_have_count(0)


def test_signing_out_in_one_tab_ends_the_chat_in_another(live_server, new_page):
    make_students(live_server, {"72000021": "Quinn"})
    chat_tab = new_page()
    sign_in(chat_tab, "72000021", PASSWORD)
    enter_room(chat_tab, "lobby")
    other_tab = chat_tab.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()

    expect(chat_tab.locator("#chat-notice")).to_contain_text("Your session ended")
    expect(chat_tab.locator("#chat-connection")).to_have_attribute(
        "data-state", "closed"
    )
    expect(chat_tab.locator("#chat-input")).not_to_be_editable()
    # It does not keep retrying: still closed a moment later.
    chat_tab.wait_for_timeout(1500)
    expect(chat_tab.locator("#chat-connection")).to_have_attribute(
        "data-state", "closed"
    )


def test_team_room_from_the_rooms_index(live_server, page):
    make_students(live_server, {"72000031": "Rui"})
    project_id = make_team(live_server, "72000031")
    sign_in(page, "72000031", PASSWORD)
    page.goto("/chat/")
    page.get_by_test_id("team-room-link").click()
    expect(page).to_have_url(re.compile(rf"/chat/team-{project_id}/$"))
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected"
    )
    say(page, "team only")
    expect(page.locator("#chat-messages")).to_contain_text("team only")
    data = json.loads(page.locator("#chat-page").text_content())
    assert data["socket_path"] == f"/ws/chat/team-{project_id}/"


def test_a_muted_student_is_told_until_when_and_keeps_the_text(live_server, page):
    make_students(live_server, {"72000041": "Sam"})
    live_server.shell(
        "from datetime import datetime\n"
        "from zoneinfo import ZoneInfo\n"
        "from django.contrib.auth import get_user_model\n"
        "from chat.models import Mute\n"
        "user = get_user_model().objects.get(username='72000041')\n"
        "until = datetime(2099, 1, 2, 13, 30, tzinfo=ZoneInfo('Australia/Perth'))\n"
        "Mute.objects.create(user=user, until=until)\n"
    )
    sign_in(page, "72000041", PASSWORD)
    enter_room(page, "lobby")
    say(page, "can anyone hear me")
    expect(page.locator("#chat-error")).to_have_text(
        "You are muted until 02 Jan 2099, 13:30 (Australia/Perth)."
    )
    expect(page.locator("#chat-input")).to_have_value("can anyone hear me")
    expect(page.locator(".chat-text", has_text="can anyone hear me")).to_have_count(0)


def test_a_client_closed_for_falling_behind_reconnects_and_resyncs(
    live_server, new_page
):
    make_students(live_server, {"72000051": "Tara", "72000052": "Uma"})
    tara, uma = new_page(), new_page()
    sockets = []  # (page side, server side) of each of Tara's sockets

    def through(route):
        sockets.append((route, route.connect_to_server()))

    tara.route_web_socket(re.compile(r"/ws/chat/"), through)
    sign_in(tara, "72000051", PASSWORD)
    sign_in(uma, "72000052", PASSWORD)
    enter_room(tara, "lobby")
    enter_room(uma, "lobby")
    say(tara, "before the drop")
    expect(tara.locator(".chat-text", has_text="before the drop")).to_have_count(1)

    page_side, server_side = sockets[-1]
    page_side.close(code=4413, reason="too slow")
    server_side.close()
    say(uma, "while you were away")

    expect(tara.locator("#chat-notice")).to_contain_text("fell behind")
    expect(tara.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected", timeout=15_000
    )
    assert len(sockets) == 2
    expect(tara.locator(".chat-text", has_text="while you were away")).to_have_count(1)
    expect(tara.locator(".chat-text", has_text="before the drop")).to_have_count(1)
    expect(tara.locator("#chat-notice")).to_be_hidden()


def test_a_long_paste_is_kept_whole_and_counted_as_the_server_counts(live_server, page):
    # 700 emoji are 700 characters to the server (code points), 1400 UTF-16
    # units to the browser: the box must take them all, and send them.
    make_students(live_server, {"72000061": "Vic"})
    sign_in(page, "72000061", PASSWORD)
    enter_room(page, "lobby")
    page.focus("#chat-input")
    emoji = "\N{GRINNING FACE}" * 700
    page.keyboard.insert_text(emoji)
    expect(page.locator("#chat-input")).to_have_value(emoji)
    page.press("#chat-input", "Enter")
    expect(page.locator(".chat-text", has_text=emoji)).to_have_count(1)
    expect(page.locator("#chat-input")).to_have_value("")

    # Over 1000 characters: nothing is cut off, nothing is sent, and the
    # page says by how much it is over.
    page.focus("#chat-input")
    page.keyboard.insert_text("a" * 1003)
    expect(page.locator("#chat-input")).to_have_value("a" * 1003)
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-error")).to_have_text(
        "Keep messages to 1000 characters or fewer: this one has 1003."
    )
    expect(page.locator("#chat-input")).to_have_value("a" * 1003)
    expect(page.locator(".chat-text", has_text="a" * 1003)).to_have_count(0)


def test_a_draft_left_when_the_session_ends_can_still_be_copied(live_server, new_page):
    make_students(live_server, {"72000071": "Wren"})
    chat_tab = new_page()
    sign_in(chat_tab, "72000071", PASSWORD)
    enter_room(chat_tab, "lobby")
    chat_tab.fill("#chat-input", "half a thought, not sent yet")
    other_tab = chat_tab.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()

    expect(chat_tab.locator("#chat-connection")).to_have_attribute(
        "data-state", "closed"
    )
    box = chat_tab.locator("#chat-input")
    expect(box).to_have_value("half a thought, not sent yet")
    # Nothing more can be sent from it, but the text can be selected and
    # copied (a disabled box takes no focus and no selection).
    expect(box).not_to_be_editable()
    box.click()
    chat_tab.keyboard.press("ControlOrMeta+A")
    selected = chat_tab.evaluate(
        "() => { const box = document.getElementById('chat-input');"
        " return box.value.slice(box.selectionStart, box.selectionEnd); }"
    )
    assert selected == "half a thought, not sent yet"


# A socket that never gets through: the page stays "Connecting…".
STUCK_SOCKET = """
window.WebSocket = class {
  static OPEN = 1;
  constructor() { this.readyState = 0; }
  addEventListener() {}
  send() { throw new Error("not open"); }
  close() {}
};
"""


def test_enter_before_the_page_is_connected_says_why_nothing_was_sent(
    live_server, page
):
    make_students(live_server, {"72000081": "Xan"})
    sign_in(page, "72000081", PASSWORD)
    page.add_init_script(STUCK_SOCKET)
    page.goto("/chat/lobby/")
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connecting"
    )

    page.fill("#chat-input", "typed while connecting")
    page.press("#chat-input", "Enter")

    expect(page.locator("#chat-error")).to_have_text(
        "Not connected: your message stays here; press Enter again once "
        "the page says Connected."
    )
    expect(page.locator("#chat-input")).to_have_value("typed while connecting")
