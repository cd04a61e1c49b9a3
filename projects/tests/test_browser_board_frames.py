"""The live board renders rows from frames, with no request, in Chromium.

Student numbers 813xxxxx and rooms of this module's own: the live server's
database lives for the whole session. No ORM here.
"""

import pytest

from pairup.tests.helpers import sign_in
from projects.tests.helpers import open_board

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "lantern-quartz-meadow-47"

# Serialise an element with its attributes sorted and CSRF tokens blanked
# (each is masked afresh), so two renderings of one row compare equal.
CANONICAL = """
(element) => {
  function walk(node) {
    if (node.nodeType === Node.TEXT_NODE) { return node.textContent; }
    if (node.nodeType !== Node.ELEMENT_NODE) { return ""; }
    const attributes = Array.from(node.attributes)
      .map((a) => [a.name, a.name === "value" && node.name === "csrfmiddlewaretoken" ? "" : a.value])
      .sort((x, y) => (x[0] < y[0] ? -1 : 1))
      .map(([name, value]) => name + '="' + value + '"').join(" ");
    return "<" + node.localName + (attributes ? " " + attributes : "") + ">"
      + Array.from(node.childNodes).map(walk).join("") + "</" + node.localName + ">";
  }
  return walk(element);
}
"""


def shell(live_server, code: str) -> list[str]:
    return live_server.shell(code).split()


def make_users(live_server, *users: tuple[str, str], superuser: str = "") -> None:
    lines = [
        "from django.contrib.auth import get_user_model",
        "User = get_user_model()",
    ]
    for number, name in users:
        lines.append(
            f"User.objects.create_user(username={number!r}, "
            f"password={PASSWORD!r}, first_name={name!r})"
        )
    if superuser:
        lines.append(
            f"User.objects.create_superuser(username={superuser!r}, "
            f"password={PASSWORD!r}, first_name='Pat')"
        )
    live_server.shell("\n".join(lines) + "\n")


def make_labs(live_server, room: str, count: int, *, days: int) -> list[int]:
    return [
        int(pk)
        for pk in shell(
            live_server,
            "from datetime import timedelta\n"
            "from django.utils import timezone\n"
            "from projects.models import Lab\n"
            f"start = timezone.now().replace(microsecond=0) + timedelta(days={days})\n"
            f"for n in range({count}):\n"
            "    s = start + timedelta(minutes=20 * n)\n"
            f"    print(Lab.objects.create(room={room!r}, start=s,\n"
            "                             end=s + timedelta(minutes=15)).pk)\n",
        )
    ]


def open_board_watching(page, room: str) -> list[str]:
    """Open the board on one room; return the list its later requests go to."""
    open_board(page, room)
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    return requests


def create_project(page, description: str) -> None:
    page.goto("/projects/new/")
    page.fill("#id_description", description)
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Team ")


def test_open_boards_change_from_frames_alone_each_showing_what_its_user_may_see(
    live_server, new_page
):
    """The team, an outsider and a coordinator watch one slot being booked,
    then the schedule being published: no watching page makes a request."""
    make_users(
        live_server,
        ("81300001", "Ann"),
        ("81300002", "Gus"),
        ("81300003", "Ben"),
        superuser="frames-coordinator",
    )
    (lab,) = make_labs(live_server, "Frame Lab", 1, days=3)
    ann, gus, ben, pat, admin = (new_page() for _ in range(5))
    for page, number in (
        (ann, "81300001"),
        (gus, "81300002"),
        (ben, "81300003"),
        (pat, "frames-coordinator"),
        (admin, "frames-coordinator"),
    ):
        sign_in(page, number, PASSWORD)
    create_project(ann, "Ann and Gus fly drones")
    ann.get_by_label("Partner's student number").fill("81300002")
    ann.get_by_role("button", name="Send invitation").click()
    gus.goto("/")
    gus.get_by_role("button", name="Accept").click()
    expect(gus.get_by_test_id("dashboard-partner")).to_contain_text("Ann")

    watching = {
        page: open_board_watching(page, "Frame Lab") for page in (gus, ben, pat)
    }
    rows = {page: page.locator(f"#lab-{lab}") for page in watching}
    for row in rows.values():
        expect(row.get_by_test_id("status")).to_have_text("Free")

    ann.goto("/labs/?room=Frame Lab")
    ann.locator(f"#lab-{lab}").get_by_role("button", name="Book").click()
    expect(ann.locator(f"#lab-{lab}").get_by_test_id("status")).to_have_text(
        "Your slot"
    )

    expect(rows[gus].get_by_test_id("status")).to_have_text("Your slot")
    expect(rows[gus]).to_contain_text("Ann, Gus")
    expect(rows[gus]).to_contain_text("Ann and Gus fly drones")
    expect(rows[pat].get_by_test_id("status")).to_have_text("Taken")
    expect(rows[pat]).to_contain_text("Ann, Gus")
    expect(rows[ben].get_by_test_id("status")).to_have_text("Taken")
    expect(ben.get_by_test_id("board-live")).to_contain_text("was just taken")
    assert "Ann" not in rows[ben].inner_text()
    # Gus's board now offers "Move here" on every other slot of his team.
    expect(gus.get_by_test_id("board-mine")).to_contain_text("Your team presents at")

    try:
        admin.goto("/admin/projects/bookingwindow/1/change/")
        admin.check("#id_schedule_published")
        admin.locator("input[name=_save]").click()
        expect(admin.locator(".messagelist")).to_be_visible()

        expect(rows[ben]).to_contain_text("Ann, Gus", timeout=15_000)
        expect(rows[ben]).to_contain_text("Ann and Gus fly drones")
    finally:
        live_server.shell(
            "from projects.models import BookingWindow\n"
            "BookingWindow.objects.filter(pk=1).update(schedule_published=False)\n"
        )

    for page, requests in watching.items():
        assert requests == [], (page.url, requests)


def test_a_row_rendered_from_a_frame_is_the_row_the_server_renders(
    live_server, new_page
):
    make_users(live_server, ("81300011", "Cal"), ("81300012", "Dot"))
    free, taken, mine, closed = make_labs(live_server, "Markup Lab", 4, days=4)
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects.models import Lab\n"
        "from projects.services import project_create\n"
        "User = get_user_model()\n"
        "project_create(user=User.objects.get(username='81300011'),\n"
        f"    description='Cal <b>codes</b>', lab=Lab.objects.get(pk={mine}))\n"
        "project_create(user=User.objects.get(username='81300012'),\n"
        f"    description='Dot draws', lab=Lab.objects.get(pk={taken}))\n"
        f"Lab.objects.filter(pk={closed}).update(is_open=False)\n"
    )
    page = new_page()
    sign_in(page, "81300011", PASSWORD)
    page.goto("/labs/?room=Markup Lab")
    expect(page.get_by_test_id("board-connection")).to_contain_text("Live")

    frames = page.evaluate(
        "fetch('/labs/frames/?room=Markup Lab').then((r) => r.json())"
    )["labs"]
    assert {frame["id"] for frame in frames} == {free, taken, mine, closed}
    for frame in frames:
        server = page.locator(f"#lab-{frame['id']}").evaluate(CANONICAL)
        browser = page.evaluate(
            f"(frame) => ({CANONICAL})(window.pairupBoard.renderRow(frame))", frame
        )
        assert browser == server, frame
    assert "Cal &lt;b&gt;codes&lt;/b&gt;" in page.locator(f"#lab-{mine}").inner_html()


def test_booking_moving_and_releasing_happen_in_the_background(live_server, new_page):
    make_users(live_server, ("81300021", "Eli"))
    first, second, grabbed = make_labs(live_server, "Background Lab", 3, days=5)
    page = new_page()
    sign_in(page, "81300021", PASSWORD)
    create_project(page, "Eli tunes engines")
    open_board(page, "Background Lab")
    documents: list[str] = []
    page.on(
        "request",
        lambda request: (
            documents.append(request.url)
            if request.resource_type == "document"
            else None
        ),
    )

    row = page.locator(f"#lab-{first}")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_role("status")).to_contain_text("Your team booked")
    expect(row.get_by_test_id("status")).to_have_text("Your slot")

    moved = page.locator(f"#lab-{second}")
    moved.get_by_role("button", name="Move here").click()
    expect(moved.get_by_role("status")).to_contain_text("Your team moved to")
    expect(moved.get_by_test_id("status")).to_have_text("Your slot")
    expect(row.get_by_test_id("status")).to_have_text("Free")

    # Another process takes a slot and this board misses the frame (with
    # Redis it would hear it, so the shell sends none): the board still shows
    # the slot free, so the refusal must say why.
    live_server.shell(
        "from django.contrib.auth import get_user_model\n"
        "from projects import realtime\n"
        "from projects.models import Lab\n"
        "from projects.services import project_create\n"
        "realtime.publish = lambda group, event: True\n"
        "fay = get_user_model().objects.create_user(username='81300022')\n"
        "project_create(user=fay, description='Fay', "
        f"lab=Lab.objects.get(pk={grabbed}))\n"
    )
    late = page.locator(f"#lab-{grabbed}")
    late.get_by_role("button", name="Move here").click()
    expect(late.get_by_role("status")).to_have_text(
        "Not booked: That slot was just taken by another team. Please pick another one."
    )

    page.once("dialog", lambda dialog: dialog.accept())
    moved.get_by_role("link", name="Release").click()
    expect(moved.get_by_role("status")).to_contain_text("You released")
    expect(moved.get_by_test_id("status")).to_have_text("Free")
    expect(page.get_by_test_id("board-mine")).to_contain_text("no slot yet")
    assert documents == []


class HeldFrames:
    """Route a page's board socket through the test, which can hold the
    server's frames back (`hold`) and let them through later (`release`)."""

    def __init__(self, page):
        self.held: list[str] = []
        self.holding = False
        self.socket = None
        page.route_web_socket("**/ws/labs/**", self._through)

    def _through(self, page_side):
        self.socket = page_side
        page_side.connect_to_server().on_message(self._on_message)

    def _on_message(self, message):
        if self.holding:
            self.held.append(message)
        else:
            self.socket.send(message)

    def hold(self):
        self.holding = True

    def release(self):
        self.holding = False
        for message in self.held:
            self.socket.send(message)
        self.held.clear()


def test_a_rows_outcome_goes_when_a_frame_changes_the_row_but_not_before(
    live_server, new_page
):
    """Eve books A and moves to B: A's "booked" line goes with A's frame,
    and B's "moved" line stays although its answer came before its frame."""
    make_users(live_server, ("81300031", "Eve"))
    first, second = make_labs(live_server, "Outcome Lab", 2, days=6)
    page = new_page()
    frames = HeldFrames(page)
    sign_in(page, "81300031", PASSWORD)
    create_project(page, "Eve paints robots")
    open_board(page, "Outcome Lab")

    row, moved = page.locator(f"#lab-{first}"), page.locator(f"#lab-{second}")
    row.get_by_role("button", name="Book").click()
    expect(row.get_by_test_id("status")).to_have_text("Your slot")
    expect(row.get_by_role("status")).to_contain_text("Your team booked")

    frames.hold()
    moved.get_by_role("button", name="Move here").click()
    expect(moved.get_by_role("status")).to_contain_text("Your team moved to")
    expect(moved.get_by_test_id("status")).to_have_text("Free")  # no frame yet
    frames.release()

    expect(row.get_by_test_id("status")).to_have_text("Free")
    expect(row.get_by_role("status")).to_have_text("")
    expect(moved.get_by_test_id("status")).to_have_text("Your slot")
    expect(moved.get_by_role("status")).to_contain_text("Your team moved to")


def test_a_refusal_stays_while_the_slot_is_taken_and_goes_when_it_is_freed(
    live_server, new_page
):
    make_users(live_server, ("81300041", "Grace"), ("81300042", "Frank"))
    (lab,) = make_labs(live_server, "Refusal Lab", 1, days=6)
    grace, frank = new_page(), new_page()
    frames = HeldFrames(grace)
    for page, number, description in (
        (grace, "81300041", "Grace grows crystals"),
        (frank, "81300042", "Frank folds paper"),
    ):
        sign_in(page, number, PASSWORD)
        create_project(page, description)
        open_board(page, "Refusal Lab")

    frames.hold()  # Grace's board hears of Frank's booking after her refusal
    frank.locator(f"#lab-{lab}").get_by_role("button", name="Book").click()
    expect(frank.locator(f"#lab-{lab}").get_by_test_id("status")).to_have_text(
        "Your slot"
    )
    row = grace.locator(f"#lab-{lab}")
    row.get_by_role("button", name="Book").click()
    refusal = (
        "Not booked: That slot was just taken by another team. Please pick another one."
    )
    expect(row.get_by_role("status")).to_have_text(refusal)
    frames.release()
    expect(row.get_by_test_id("status")).to_have_text("Taken")
    expect(row.get_by_role("status")).to_have_text(refusal)

    frank.goto("/projects/mine/release/")
    frank.get_by_role("button", name="Release the slot").click()
    expect(grace.get_by_test_id("board-live")).to_contain_text("is free to book")
    expect(row.get_by_test_id("status")).to_have_text("Free")
    expect(row.get_by_role("status")).to_have_text("")
