"""The chat's rate limit in Chromium: refused texts come back, and the error
goes once the wait is over.

A live server of this module's own, allowing 2 messages per 6 s; student
numbers in the 73xxxxxx range.
"""

import json
import re
import subprocess
import time

import pytest

from chat.tests.test_browser_chat import enter_room, make_students
from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "lantern-quiet-meadow-42"  # make_students's
WINDOW = 6
RATE_LIMITED = re.compile(r"^Rate limited: try again in \d s\.$")

# Send each text as typed and sent at once, faster than any answer comes back.
SEND_ALL = """
(texts) => {
  const input = document.getElementById("chat-input");
  const form = document.getElementById("chat-form");
  for (const text of texts) {
    input.value = text;
    form.requestSubmit();
  }
}
"""


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    from pairup.tests.browser import start_live_server

    server = start_live_server(
        tmp_path_factory.mktemp("chat-rate"), {"PAIRUP_CHAT_RATE": f"2/{WINDOW}s"}
    )
    yield server
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()


def start_of_window() -> None:
    """Wait for a fresh rate-limit window (they are aligned to the clock), so
    a burst falls in one."""
    while time.time() % WINDOW > 1:
        time.sleep(0.05)


def texts(page) -> list[str]:
    return page.locator("#chat-messages .chat-text").all_text_contents()


def test_every_refused_text_comes_back_and_the_error_goes_after_the_wait(
    live_server, page
):
    make_students(live_server, {"73000001": "Vera"})
    sign_in(page, "73000001", PASSWORD)
    enter_room(page, "lobby")

    start_of_window()
    page.evaluate(SEND_ALL, ["one", "two", "three", "four"])
    expect(page.locator("#chat-input")).to_have_value("three\nfour")
    expect(page.locator("#chat-error")).to_have_text(RATE_LIMITED)
    assert texts(page)[-2:] == ["one", "two"]

    expect(page.locator("#chat-error")).to_have_text("", timeout=(WINDOW + 2) * 1000)
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-messages .chat-text").last).to_have_text("three\nfour")
    expect(page.locator("#chat-input")).to_have_value("")


def test_the_error_goes_when_the_socket_reconnects(live_server, page):
    make_students(live_server, {"73000011": "Wren"})
    sockets = []  # (page side, server side) of each socket
    page.route_web_socket(
        re.compile(r"/ws/chat/"),
        lambda route: sockets.append((route, route.connect_to_server())),
    )
    sign_in(page, "73000011", PASSWORD)
    enter_room(page, "lobby")

    start_of_window()
    page.evaluate(SEND_ALL, ["five", "six", "seven"])
    expect(page.locator("#chat-error")).to_have_text(RATE_LIMITED)
    expect(page.locator("#chat-input")).to_have_value("seven")
    page_side, server_side = sockets[-1]
    page_side.close(code=4413, reason="too slow")
    server_side.close()

    # Back within about a second, well before the wait is over.
    expect(page.locator("#chat-connection")).to_have_attribute(
        "data-state", "connected", timeout=3_000
    )
    expect(page.locator("#chat-error")).to_have_text("", timeout=1_000)
    expect(page.locator("#chat-input")).to_have_value("seven")


def hold_errors_until(page, text: str) -> None:
    """Route the page's chat socket so that error frames reach the page only
    after a message frame with `text`: a refusal overtaken by the broadcast
    of its stored twin."""

    def route(page_side):
        server_side = page_side.connect_to_server()
        held = []
        seen = []

        def from_server(frame):
            if isinstance(frame, str) and '"type":"error"' in frame and not seen:
                held.append(frame)
                return
            page_side.send(frame)
            if isinstance(frame, str) and json.loads(frame).get("text") == text:
                seen.append(frame)
                while held:
                    page_side.send(held.pop(0))

        server_side.on_message(from_server)

    page.route_web_socket(re.compile(r"/ws/chat/"), route)


def test_two_tabs_sending_the_same_text_one_refused_get_it_back(live_server, page):
    """The same user in two tabs sends one text from both at once: one is
    stored, the other refused, and the refusal reaches its tab after the
    stored twin's broadcast. The refused tab gets its text back."""
    make_students(live_server, {"73000021": "Xan"})
    sign_in(page, "73000021", PASSWORD)
    other = page.context.new_page()
    for tab in (page, other):
        hold_errors_until(tab, "twice the same")
        enter_room(tab, "lobby")

    start_of_window()
    page.evaluate(SEND_ALL, ["warm-up"])  # the window's first of two
    for tab in (page, other):
        expect(tab.locator("#chat-messages .chat-text").last).to_have_text("warm-up")
    for tab in (page, other):
        tab.evaluate(SEND_ALL, ["twice the same"])

    # Exactly one is stored, and both tabs show it once.
    for tab in (page, other):
        expect(
            tab.locator("#chat-messages .chat-text", has_text="twice the same")
        ).to_have_count(1)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        if any(tab.locator("#chat-error").text_content() for tab in (page, other)):
            break
        time.sleep(0.05)
    page.wait_for_timeout(300)  # anything late has come back by now
    values = [tab.locator("#chat-input").input_value() for tab in (page, other)]
    errors = [tab.locator("#chat-error").text_content() for tab in (page, other)]
    refused = [bool(RATE_LIMITED.match(error)) for error in errors]
    assert sorted(refused) == [False, True], errors
    assert values[refused.index(True)] == "twice the same", values
    assert values[refused.index(False)] == "", values
