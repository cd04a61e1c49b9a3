"""The lab board when the server or the network fails, in Chromium.

Student numbers from 81800001 and rooms of this module's own (the live
server's database lives for the whole session). No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in
from projects.tests.helpers import open_board
from projects.tests.test_browser_board_frames import (
    PASSWORD,
    create_project,
    make_labs,
    make_users,
)
from projects.tests.test_browser_board_keyboard import RECORD_LIVE

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser


class BoardSocket:
    """Route a page's board socket through the test, which can drop it, and
    keep it down (`refuse`: each new socket is closed before it opens)."""

    def __init__(self, page):
        self.socket = None
        self.refuse = False
        page.route_web_socket("**/ws/labs/**", self._through)

    def _through(self, page_side):
        if self.refuse:
            page_side.close(code=1011)
            return
        self.socket = page_side
        page_side.connect_to_server()

    def drop(self):
        self.socket.close(code=1011)


def test_a_reconnect_whose_resync_fails_says_so_and_tries_again(live_server, new_page):
    """The socket comes back while the server can't answer the resync: the
    board doesn't claim to be live with a slot taken in the gap shown free,
    and catches up once the server answers."""
    make_users(live_server, ("81800001", "Ola"), ("81800002", "Pia"))
    (lab,) = make_labs(live_server, "Outage Lab", 1, days=5)
    ola, pia = new_page(), new_page()
    socket = BoardSocket(ola)
    for page, number in ((ola, "81800001"), (pia, "81800002")):
        sign_in(page, number, PASSWORD)
        create_project(page, f"Team of {number}")
        open_board(page, "Outage Lab")
    connection = ola.get_by_test_id("board-connection")
    status = ola.locator(f"#lab-{lab}").get_by_test_id("status")

    ola.route(
        "**/labs/frames/**",
        lambda route: route.fulfill(
            status=503, body="<h1>Busy</h1>", content_type="text/html"
        ),
    )
    socket.drop()
    expect(connection).to_contain_text("Connection lost")
    pia.locator(f"#lab-{lab}").get_by_role("button", name="Book").click()
    expect(pia.locator(f"#lab-{lab}").get_by_test_id("status")).to_have_text(
        "Your slot"
    )

    expect(connection).to_contain_text("could not be brought up to date")
    expect(status).to_have_text("Free")
    ola.unroute("**/labs/frames/**")
    expect(status).to_have_text("Taken", timeout=15_000)
    expect(connection).to_have_text("Live: updates appear as they happen.")


def test_an_answer_cut_short_says_so_and_leaves_book_usable(live_server, new_page):
    """The network drops while the answer to Book is on its way (here: half a
    JSON body): the row says the booking could not be confirmed, not
    "Booking…" for ever, and Book works again."""
    make_users(live_server, ("81800003", "Quin"))
    (lab,) = make_labs(live_server, "Cut Lab", 1, days=5)
    page = new_page()
    sign_in(page, "81800003", PASSWORD)
    create_project(page, "Quin on a train")
    open_board(page, "Cut Lab")
    row = page.locator(f"#lab-{lab}")

    page.route(
        "**/book/",
        lambda route: route.fulfill(
            status=200, body='{"ok": true, "mess', content_type="application/json"
        ),
    )
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_role("status")).to_have_text(
        "Not confirmed: the connection failed before the answer came. "
        "This row shows whether it went through."
    )
    expect(row.get_by_test_id("status")).to_have_text("Free")  # it didn't
    page.unroute("**/book/")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_test_id("status")).to_have_text("Your slot")
    expect(row.get_by_role("status")).to_contain_text("Your team booked")


@pytest.mark.parametrize("lost", ["connection", "proxy timeout"])
def test_a_booking_done_but_its_answer_lost_never_says_not_booked(
    live_server, new_page, lost
):
    """The server books the slot, then the answer is lost on the way (the
    network drops, or a proxy in front gives up and answers 504): before,
    the row said "Not booked" above the team's own slot. It says it could
    not confirm, and the row shows the booking."""
    number = {"connection": "81800004", "proxy timeout": "81800005"}[lost]
    make_users(live_server, (number, "Ros"))
    (lab,) = make_labs(live_server, f"Lost Answer Lab {number}", 1, days=5)
    page = new_page()
    sign_in(page, number, PASSWORD)
    create_project(page, "Ros on a ferry")
    open_board(page, f"Lost Answer Lab {number}")
    row = page.locator(f"#lab-{lab}")

    def done_then_lost(route):
        route.fetch()  # the server books it
        if lost == "connection":
            route.abort("connectionreset")
        else:
            route.fulfill(status=504, body="Gateway Timeout", content_type="text/html")

    page.route("**/book/", done_then_lost)
    row.get_by_role("button", name="Book").click()

    expect(row.get_by_test_id("status")).to_have_text("Your slot")
    expect(page.locator("main")).not_to_contain_text("Not booked")
    expect(page.get_by_test_id("board-mine")).to_contain_text("Your team presents at")


def test_an_action_while_the_socket_is_down_is_not_followed_by_up_to_date(
    live_server, new_page
):
    """Book while the board's socket is down: the board resyncs to show the
    booking, quietly, so a screen reader hears "Your team booked ..." and
    not "The board is up to date." right after it. The resync after the
    reconnect still says so."""
    make_users(live_server, ("81800006", "Sol"))
    (lab,) = make_labs(live_server, "Quiet Lab", 1, days=5)
    page = new_page()
    socket = BoardSocket(page)
    sign_in(page, "81800006", PASSWORD)
    create_project(page, "Sol sails alone")
    open_board(page, "Quiet Lab")
    page.evaluate(RECORD_LIVE)
    row = page.locator(f"#lab-{lab}")

    socket.refuse = True
    socket.drop()
    expect(page.get_by_test_id("board-connection")).to_contain_text("Connection lost")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_role("status")).to_contain_text("Your team booked")
    expect(row.get_by_test_id("status")).to_have_text("Your slot")  # the resync
    page.wait_for_timeout(500)  # the live region speaks 50 ms after a resync
    assert page.evaluate("window.liveSaid") == []

    socket.refuse = False
    expect(page.get_by_test_id("board-live")).to_have_text(
        "Reconnected: the board is up to date.", timeout=20_000
    )


def test_signing_out_while_a_resync_waits_to_retry_ends_the_retries(
    live_server, new_page
):
    """The socket comes back while the server can't answer the resync, so a
    retry waits; then the user signs out in another tab (4401). The waiting
    retry doesn't fire: no request, and the board's words stay the sign-out's."""
    make_users(live_server, ("81800007", "Tor"))
    make_labs(live_server, "Sign Out Lab", 1, days=5)
    page = new_page()
    socket = BoardSocket(page)
    sign_in(page, "81800007", PASSWORD)
    create_project(page, "Tor signs off")
    open_board(page, "Sign Out Lab")
    connection = page.get_by_test_id("board-connection")

    page.route(
        "**/labs/frames/**",
        lambda route: route.fulfill(
            status=503, body="<h1>Busy</h1>", content_type="text/html"
        ),
    )
    socket.drop()
    expect(connection).to_contain_text("could not be brought up to date")
    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Sign out").click()
    signed_out = "You were signed out: reload the page to sign in again."
    expect(connection).to_have_text(signed_out)

    page.unroute("**/labs/frames/**")
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.wait_for_timeout(5000)  # past the retry's 2 s (or 4 s) wait
    assert requests == []
    expect(connection).to_have_text(signed_out)
