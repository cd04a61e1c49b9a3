"""The ballot in Chromium against a real daphne process of its own (its
booking window is in ballot mode, which the session's shared server must
not be): two partners rank slots and see each other's edits live, then see
the slot the ballot gave them, live. No ORM here.
"""

import re
import subprocess

import pytest

from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "cobalt-meadow-lantern-62"

SETUP = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from projects.models import BookingWindow, Lab
from projects import services
User = get_user_model()
ann = User.objects.create_user(username="81500001", password={PASSWORD!r}, first_name="Ann")
ben = User.objects.create_user(username="81500002", password={PASSWORD!r}, first_name="Ben")
cid = User.objects.create_user(username="81500003", password={PASSWORD!r}, first_name="Cid")
User.objects.create_user(username="81500004", password={PASSWORD!r}, first_name="Dot")
coordinator = User.objects.create_superuser(
    username="ballot-coordinator", password={PASSWORD!r}, first_name="Cora")
start = timezone.now().replace(second=0, microsecond=0) + timedelta(days=3)
labs = [Lab.objects.create(room="Ballot Lab", start=start + timedelta(minutes=20 * n),
                           end=start + timedelta(minutes=20 * n + 15)) for n in range(3)]
ours = services.project_create(user=ann, description="Ann and Ben rank slots")
invitation = services.invitation_send(user=ann, project=ours, invitee_number="81500002")
services.invitation_accept(user=ben, invitation=invitation)
theirs = services.project_create(user=cid, description="Cid wants the first slot")
window = BookingWindow.get()
window.mode = "ballot"
window.ballot_closes_at = timezone.now() + timedelta(days=1)
window.opens_at = timezone.now() + timedelta(days=2)
services.booking_window_update(actor=coordinator, window=window,
                               fields=["mode", "ballot_closes_at", "opens_at"])
print(*[lab.pk for lab in labs], theirs.pk)
"""


DOT_TEAM = """
from django.contrib.auth import get_user_model
from projects.services import project_create
dot = get_user_model().objects.get(username="81500004")
if not hasattr(dot, "membership"):
    project_create(user=dot, description="Dot ranks on her own")
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from pairup.tests.browser import start_live_server

    live = start_live_server(tmp_path_factory.mktemp("ballot"))
    yield live
    live.process.terminate()
    try:
        live.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        live.process.kill()


@pytest.fixture(scope="module")
def unit(server):
    *labs, cid_project = (int(pk) for pk in server.shell(SETUP).split())
    return {"labs": labs, "cid_project": cid_project}


@pytest.fixture
def open_page(browser, server):
    contexts = []

    def open_one(**options):
        context = browser.new_context(base_url=server.url, **options)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield open_one
    for context in contexts:
        context.close()


def open_board(page) -> None:
    page.goto("/labs/?room=Ballot+Lab")
    expect(page.locator("body")).to_have_attribute("data-ballot-ready", "true")
    expect(page.get_by_test_id("bell")).to_have_attribute("data-live", "true")
    expect(page.get_by_test_id("board-connection")).to_contain_text("Live")


def ranked(page) -> list[int]:
    return [
        int(pk)
        for pk in page.get_by_test_id("ballot-list")
        .locator("li")
        .evaluate_all("(items) => items.map((li) => li.dataset.labId)")
    ]


def test_without_javascript_a_student_ranks_with_the_form(server, unit, open_page):
    _, second, third = unit["labs"]
    server.shell(DOT_TEAM)
    page = open_page(java_script_enabled=False)
    sign_in(page, "81500004", PASSWORD, wait="attached")
    page.goto("/labs/?room=Ballot+Lab")

    page.get_by_test_id("ballot-add").select_option(str(third))
    page.get_by_role("button", name="Add to ranking").click()
    expect(page.locator(".messages")).to_contain_text("Your ranking was saved: 1 slot.")
    page.get_by_test_id("ballot-add").select_option(str(second))
    page.get_by_role("button", name="Add to ranking").click()
    page.locator(f'li[data-lab-id="{second}"] button[data-move="up"]').click()

    assert ranked(page) == [second, third]
    expect(page.get_by_test_id("ballot-saved")).to_contain_text("Last saved by Dot")

    # Dot's team takes no part after all (and leaves the next test's figures).
    for lab in (second, third):
        page.locator(f'li[data-lab-id="{lab}"] button[data-move="remove"]').click()
    expect(page.get_by_test_id("ballot-empty")).to_be_visible()
    expect(page.locator(".messages")).to_contain_text("it is empty")


def test_a_press_made_while_a_save_is_on_its_way_waits_its_turn(
    server, unit, open_page
):
    """The save's own frame can beat its answer to the page: the page holds
    it (drawing it replaced the buttons under the user's finger, and said
    "The ranking changed" of the user's own save), and a press made before
    the answer came is applied after it, not dropped."""
    _, second, third = unit["labs"]
    server.shell(DOT_TEAM)
    page = open_page()
    sign_in(page, "81500004", PASSWORD, wait="attached")
    open_board(page)
    page.evaluate(
        """() => {
        window.said = [];
        window.framesSeen = 0;
        const live = document.getElementById("ballot-live");
        new MutationObserver(() => {
            if (live.textContent) { window.said.push(live.textContent); }
        }).observe(live, {childList: true, characterData: true, subtree: true});
        document.addEventListener("pairup:me", () => { window.framesSeen += 1; });
    }"""
    )
    answers = []

    def hold_the_first_answer(route):
        if route.request.method == "PUT" and not answers:
            answers.append((route, route.fetch()))
        else:
            route.continue_()

    page.route("**/api/v1/me/project/ballot", hold_the_first_answer)
    page.get_by_test_id("ballot-add").select_option(str(second))
    page.get_by_role("button", name="Add to ranking").click()
    page.wait_for_function("() => window.framesSeen >= 1")  # saved, and told
    assert ranked(page) == []  # the echo waits for the answer
    page.get_by_test_id("ballot-add").select_option(str(third))
    page.get_by_role("button", name="Add to ranking").click()  # while busy

    route, response = answers[0]
    route.fulfill(response=response)
    expect(page.get_by_test_id("ballot-live")).to_contain_text(
        "as your 2nd choice of 2. Saved."
    )
    assert ranked(page) == [second, third]
    said = page.evaluate("window.said")
    assert not [text for text in said if "The ranking changed" in text], said
    assert any("as your 1st choice of 1. Saved." in text for text in said), said
    page.unroute("**/api/v1/me/project/ballot")

    # Dot's team takes no part after all (and leaves the next test's figures).
    for lab in (second, third):
        page.locator(f'li[data-lab-id="{lab}"] button[data-move="remove"]').click()
        expect(page.locator(f'li[data-lab-id="{lab}"]')).to_have_count(0)
    expect(page.get_by_test_id("ballot-empty")).to_be_visible()


def test_the_coordinator_page_counts_the_teams_that_rank_live(server, unit, open_page):
    _, second, _ = unit["labs"]
    server.shell(DOT_TEAM)
    cora, dot = open_page(), open_page()
    sign_in(cora, "ballot-coordinator", PASSWORD, wait="attached")
    cora.goto("/coordinator/")
    expect(cora.get_by_test_id("coordinator-connection")).to_contain_text("Live")
    ranked = cora.get_by_test_id("coordinator-ballot-ranked")
    before, teams = map(int, re.match(r"(\d+) of (\d+)", ranked.inner_text()).groups())
    sign_in(dot, "81500004", PASSWORD, wait="attached")
    open_board(dot)

    dot.get_by_test_id("ballot-add").select_option(str(second))
    dot.get_by_role("button", name="Add to ranking").click()
    expect(dot.get_by_test_id("ballot-live")).to_contain_text("Saved.")

    # No reload: the ballot section follows, and a screen reader hears it.
    expect(ranked).to_contain_text(f"{before + 1} of {teams} team")
    expect(cora.get_by_test_id("coordinator-announcer")).to_contain_text(
        f"Teams that ranked: {before + 1} of {teams} (was {before} of {teams})"
    )
    # Its dry run still comes back to the page, not to the live fragment.
    expect(
        cora.get_by_test_id("coordinator-ballot").locator('input[name="next"]')
    ).to_have_value("/coordinator/")

    # Dot's team takes no part after all (and leaves the next test's figures).
    dot.locator(f'li[data-lab-id="{second}"] button[data-move="remove"]').click()
    expect(dot.get_by_test_id("ballot-empty")).to_be_visible()
    expect(ranked).to_contain_text(f"{before} of {teams} team")


def test_the_coordinator_page_asks_again_once_the_ballot_closes(
    server, unit, open_page
):
    """The ballot closing is a moment with no write to nudge the page: the
    page's own clock asks for its live parts just after it."""
    cora = open_page()
    sign_in(cora, "ballot-coordinator", PASSWORD, wait="attached")
    cora.clock.install()
    cora.goto("/coordinator/")
    expect(cora.get_by_test_id("coordinator-connection")).to_contain_text("Live")
    until_closing = cora.evaluate(
        """Date.parse(document.querySelector("[data-closes-at]").dataset.closesAt)
        - Date.now()"""
    )
    asked = []
    cora.on(
        "request",
        lambda request: (
            asked.append(request.url) if "/coordinator/live/" in request.url else None
        ),
    )

    cora.clock.fast_forward(until_closing - 5_000)
    cora.wait_for_timeout(500)
    assert asked == []

    with cora.expect_request(re.compile(r"/coordinator/live/")):
        cora.clock.fast_forward(10_000)


def test_the_coordinator_pages_countdown_to_the_closing_keeps_time(
    server, unit, open_page
):
    """ "(in 23 hours, 59 minutes)" was the time left when the page loaded:
    the page's clock keeps it current, as the server says it, with no
    request."""
    cora = open_page()
    sign_in(cora, "ballot-coordinator", PASSWORD, wait="attached")
    cora.clock.install()
    cora.goto("/coordinator/")
    expect(cora.get_by_test_id("coordinator-connection")).to_contain_text("Live")
    countdown = cora.get_by_test_id("coordinator-ballot-closes-in")
    left = cora.evaluate(
        """Date.parse(document.querySelector("[data-closes-at]").dataset.closesAt)
        - Date.now()"""
    )
    asked = []
    cora.on(
        "request",
        lambda request: asked.append(request.url) if "/live/" in request.url else None,
    )

    def in_text(ms):
        hours, minutes = divmod(ms // 60_000, 60)
        return f"(in {hours}\u00a0hours, {minutes}\u00a0minutes)"

    cora.clock.fast_forward(2 * 3_600_000)
    expect(countdown).to_have_text(" " + in_text(left - 2 * 3_600_000))
    cora.clock.fast_forward(left - 2 * 3_600_000 - 90_000)  # 90 s left
    expect(countdown).to_have_text(" (in 1\u00a0minute)")
    assert asked == []


def test_partners_rank_slots_live_and_then_see_the_slot_the_ballot_gave_them(
    server, unit, open_page
):
    first, second, _ = unit["labs"]
    ann, ben = open_page(), open_page()
    sign_in(ann, "81500001", PASSWORD, wait="attached")
    sign_in(ben, "81500002", PASSWORD, wait="attached")
    open_board(ann)
    open_board(ben)
    expect(ann.get_by_test_id("ballot-empty")).to_be_visible()

    # Ann adds the second slot; Ben's page shows it at once, and says so.
    ann.get_by_test_id("ballot-add").select_option(str(second))
    ann.get_by_role("button", name="Add to ranking").click()
    expect(ann.get_by_test_id("ballot-live")).to_contain_text("Saved.")
    expect(ben.get_by_test_id("ballot-list").locator("li")).to_have_count(1)
    assert ranked(ben) == [second]
    expect(ben.get_by_test_id("ballot-saved")).to_contain_text("Last saved by Ann")
    expect(ben.get_by_test_id("ballot-live")).to_contain_text("The ranking changed.")

    # Ben adds the first slot and moves it up with the keyboard.
    ben.get_by_test_id("ballot-add").select_option(str(first))
    ben.get_by_role("button", name="Add to ranking").click()
    expect(ben.get_by_test_id("ballot-list").locator("li")).to_have_count(2)
    expect(ann.get_by_test_id("ballot-list").locator("li")).to_have_count(2)
    ann.locator(f'li[data-lab-id="{second}"] button[data-move="remove"]').focus()
    up = ben.locator(f'li[data-lab-id="{first}"] button[data-move="up"]')
    up.focus()
    ben.keyboard.press("Enter")
    expect(ben.get_by_test_id("ballot-live")).to_contain_text(
        "now your 1st choice of 2. Saved."
    )
    assert ranked(ben) == [first, second]
    focused = ben.evaluate("document.activeElement.closest('li').dataset.labId")
    assert int(focused) == first  # focus stays on the moved slot
    expect(ann.get_by_test_id("ballot-saved")).to_contain_text("Last saved by Ben")
    assert ranked(ann) == [first, second]
    # Ben's save drew Ann's list again; her keyboard is where she left it.
    assert ann.evaluate(
        "[document.activeElement.dataset.move,"
        " document.activeElement.closest('li').dataset.labId]"
    ) == ["remove", str(second)]

    # Cid's solo team wants only the first slot: placing both teams means
    # Ann and Ben get their second choice.
    server.shell(
        "from projects.ballot_services import ballot_save\n"
        "from projects.models import Project\n"
        f"project = Project.objects.get(pk={unit['cid_project']})\n"
        "ballot_save(user=project.memberships.get().user, project=project,\n"
        f"            lab_ids=[{first}])\n"
    )

    # A coordinator runs the ballot now; both partners' pages change live.
    cora = open_page()
    sign_in(cora, "ballot-coordinator", PASSWORD, wait="attached")
    cora.goto("/coordinator/")
    expect(cora.get_by_test_id("coordinator-ballot-ranked")).to_contain_text(
        re.compile(r"^2 of \d teams without a slot")
    )
    cora.get_by_role("button", name="Dry run").click()
    expect(cora.get_by_test_id("coordinator-ballot-dry-run")).to_contain_text(
        "Would place 2 of 2 teams that ranked (100%)"
    )
    cora.get_by_role("link", name="Run the ballot now").click()
    cora.get_by_role("button", name="Run the ballot").click()
    expect(cora.get_by_test_id("coordinator-ballot-result")).to_contain_text(
        "With their first choice: 1 (50%)"
    )

    for page in (ann, ben):
        result = page.get_by_test_id("ballot-state")
        expect(result).to_contain_text("Your team got ")
        expect(result).to_contain_text("(your 2nd choice).")
        expect(page.get_by_test_id("ballot-form")).to_have_count(0)
        expect(page.locator(f"#lab-{second}").get_by_test_id("status")).to_have_text(
            "Your slot"
        )
        expect(page.get_by_test_id("bell-toasts")).to_contain_text(
            "The ballot gave Team "
        )
    expect(ann.get_by_test_id("ballot-live")).to_contain_text("(your 2nd choice).")

    # The dashboard says the same.
    ann.goto("/")
    expect(ann.get_by_test_id("dashboard-ballot")).to_contain_text("(your 2nd choice).")
