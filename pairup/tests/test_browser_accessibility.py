"""axe-core on every page a student or a coordinator uses, in Chromium.

Signed out and signed in (a student with a team and a slot, a student
without a project, a coordinator), at desktop and phone widths. A serious
or critical violation of WCAG 2.2 AA (axe's wcag2a/aa, wcag21a/aa and
wcag22aa rules) fails the test. Student numbers 814xxxxx and rooms of this
module's own. No ORM here.
"""

import pytest

from pairup.tests.helpers import nested_live_regions, sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect
axe_module = pytest.importorskip(
    "axe_playwright_python.sync_playwright", reason="make test installs it"
)

pytestmark = pytest.mark.browser

PASSWORD = "orchid-basalt-ferry-58"
WIDTHS = {"desktop": (1280, 800), "phone": (390, 844)}
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}

SETUP = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from chat.services import message_post, room_open
from projects.models import Lab
from projects.services import invitation_send, project_create
User = get_user_model()
if not User.objects.filter(username="81400001").exists():
    hana = User.objects.create_user(username="81400001", password={PASSWORD!r},
        first_name="Hana", last_name="Hill", email="hana@example.edu")
    ivo = User.objects.create_user(username="81400002", password={PASSWORD!r},
        first_name="Ivo", last_name="Ives", email="ivo@example.edu",
        looking_for_partner=True)
    User.objects.create_superuser(username="a11y-coordinator",
        password={PASSWORD!r}, first_name="Cora", email="cora@example.edu")
    start = timezone.now().replace(microsecond=0) + timedelta(days=8)
    labs = [Lab.objects.create(room="Axe Lab", start=start + timedelta(minutes=20 * n),
                               end=start + timedelta(minutes=20 * n + 15))
            for n in range(4)]
    project = project_create(user=hana, description="Hana maps rivers", lab=labs[0])
    invitation_send(user=hana, project=project, invitee_number="81400002")
    # A description of one long word (an address, say): no page may scroll
    # sideways for it, at any width.
    juno = User.objects.create_user(username="81400003", password={PASSWORD!r},
        first_name="Juno", last_name="Jay", email="juno@example.edu")
    project_create(user=juno, lab=labs[1],
        description="https://example.edu/juno/" + "x" * 39)
    lobby, _ = room_open(name="Lobby")
    message_post(author=hana, room=lobby, text="Hello from Hana")
lab = Lab.objects.filter(room="Axe Lab").order_by("start").first()
print(timezone.localtime(lab.start).date().isoformat(),
      User.objects.get(username="81400001").membership.project_id)
"""


@pytest.fixture(scope="module")
def unit(live_server):
    day, project_id = live_server.shell(SETUP).split()
    return {"day": day, "project": int(project_id)}


def pages_for(persona: str, unit: dict) -> list[str]:
    sheet = f"/schedule/print/?room=Axe+Lab&day={unit['day']}"
    common = [
        "/",
        "/labs/",
        "/labs/?room=Axe+Lab",
        "/schedule/",
        sheet,
        "/chat/",
        "/chat/lobby/",
        "/accounts/profile/",
        "/accounts/password_change/",
        "/api/v1/docs",
    ]
    if persona == "anonymous":
        return [
            "/",
            "/accounts/login/",
            "/accounts/register/",
            "/accounts/password_reset/",
            "/no-such-page/",
            "/api/v1/docs",
        ]
    if persona == "member":
        return [
            *common,
            "/projects/mine/",
            "/projects/mine/release/",
            "/projects/mine/dissolve/",
            "/students/?q=Ives",
            f"/chat/team-{unit['project']}/",
        ]
    if persona == "free":
        # The last: a button's address opened by GET (after signing in).
        return [
            *common,
            "/projects/new/",
            "/students/?q=Hill",
            "/invitations/1/accept/",
        ]
    return [
        *common,
        "/coordinator/",
        "/coordinator/?status=free&flag=looking&per_page=50",
        "/coordinator/pairings/?scope=all",
        "/coordinator/placements/",
        "/coordinator/announcements/",
        f"/chat/team-{unit['project']}/",
        "/admin/",
    ]


# Swagger UI's operation rows put a copy-link button inside the expanding
# button and use 16 px link targets: its own markup, which a template
# override can't reach. Only those two rules are off, only on that page.
SWAGGER_OWN = {
    "nested-interactive": {"enabled": False},
    "target-size": {"enabled": False},
}


def blocking_violations(page, *, swagger: bool = False) -> list[str]:
    options = {"runOnly": {"type": "tag", "values": WCAG_22_AA}}
    if swagger:
        options["rules"] = SWAGGER_OWN
    results = axe_module.Axe().run(page, options=options)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] not in BLOCKING:
            continue
        targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]]
        found.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']} "
            f"at {targets[:3]}"
        )
    return found


def wider_than_the_screen(page) -> list[str]:
    """The page scrolls sideways as a whole (a wide table scrolls in its own
    box instead)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    screen = page.viewport_size["width"]
    return [f"the page is {width} px wide on a {screen} px screen"] * (width > screen)


PERSONAS = {
    "anonymous": None,
    "member": "81400001",
    "free": "81400002",
    "coordinator": "a11y-coordinator",
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_page_passes_axe_at_wcag_22_aa(
    browser, live_server, unit, persona, width
):
    context = browser.new_context(
        base_url=live_server.url,
        viewport={"width": WIDTHS[width][0], "height": WIDTHS[width][1]},
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        if PERSONAS[persona]:
            sign_in(page, PERSONAS[persona], PASSWORD, wait="attached")
        failures = {}
        for path in pages_for(persona, unit):
            page.goto(path)
            page.wait_for_load_state("load")
            if path.startswith("/api/v1/docs"):
                expect(page.locator(".swagger-ui .info .title")).to_be_visible()
            if path.startswith("/labs/"):
                expect(page.get_by_test_id("board-connection")).to_contain_text("Live")
            if path.startswith("/coordinator/?") or path == "/coordinator/":
                expect(page.get_by_test_id("coordinator-connection")).to_contain_text(
                    "Live"
                )
            found = blocking_violations(page, swagger=path.startswith("/api/"))
            found += wider_than_the_screen(page) + nested_live_regions(page)
            if found:
                failures[path] = found
        assert failures == {}, "\n".join(
            f"{path}:\n  " + "\n  ".join(found) for path, found in failures.items()
        )
    finally:
        context.close()


def test_the_team_room_is_a_click_from_the_dashboard_and_the_project_page(
    browser, live_server, unit
):
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    try:
        sign_in(page, "81400001", PASSWORD, wait="attached")
        page.get_by_test_id("team-room-link").click()
        expect(page).to_have_url(f"{live_server.url}/chat/team-{unit['project']}/")
        page.goto("/projects/mine/")
        page.get_by_test_id("team-room-link").click()
        expect(page).to_have_url(f"{live_server.url}/chat/team-{unit['project']}/")
    finally:
        context.close()


# The ballot ----------------------------------------------------------------
#
# On a server of its own: its booking window is in ballot mode, which the
# session's shared server (and every other browser test on it) must not be.

BALLOT_SETUP = f"""
from datetime import timedelta
from django.contrib.auth import get_user_model
from django.utils import timezone
from projects import services
from projects.ballot_services import ballot_save
from projects.models import BookingWindow, Lab
User = get_user_model()
hana = User.objects.create_user(username="81400011", password={PASSWORD!r},
    first_name="Hana", last_name="Hill", email="hana@example.edu")
User.objects.create_user(username="81400012", password={PASSWORD!r},
    first_name="Ivo", last_name="Ives", email="ivo@example.edu")
cora = User.objects.create_superuser(username="a11y-ballot", password={PASSWORD!r},
    first_name="Cora", email="cora@example.edu")
start = timezone.now().replace(microsecond=0) + timedelta(days=8)
labs = [Lab.objects.create(room="Axe Ballot", start=start + timedelta(minutes=20 * n),
                           end=start + timedelta(minutes=20 * n + 15)) for n in range(4)]
project = services.project_create(user=hana, description="Hana ranks rivers")
window = BookingWindow.get()
window.mode = "ballot"
window.ballot_closes_at = timezone.now() + timedelta(days=1)
window.opens_at = timezone.now() + timedelta(days=2)
services.booking_window_update(actor=cora, window=window,
                               fields=["mode", "ballot_closes_at", "opens_at"])
ballot_save(user=hana, project=project, lab_ids=[labs[1].pk, labs[0].pk])
"""
BALLOT_PAGES = {
    "open": {
        "81400011": ["/", "/labs/", "/labs/?room=Axe+Ballot"],
        "81400012": ["/", "/labs/"],
        "a11y-ballot": [
            "/coordinator/",
            "/coordinator/ballot/",
            "/coordinator/ballot/run/",
            "/labs/",
        ],
    },
    "ran": {
        "81400011": ["/", "/labs/"],
        "a11y-ballot": ["/coordinator/", "/coordinator/ballot/"],
    },
}


@pytest.fixture(scope="module")
def ballot_server(tmp_path_factory):
    import subprocess

    from pairup.tests.browser import start_live_server

    live = start_live_server(tmp_path_factory.mktemp("a11y-ballot"))
    live.shell(BALLOT_SETUP)
    yield live
    live.process.terminate()
    try:
        live.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        live.process.kill()


def check_ballot_pages(browser, server, state: str) -> dict:
    failures = {}
    for width, (w, h) in WIDTHS.items():
        for number, paths in BALLOT_PAGES[state].items():
            context = browser.new_context(
                base_url=server.url, viewport={"width": w, "height": h}
            )
            context.set_default_timeout(15_000)
            page = context.new_page()
            try:
                sign_in(page, number, PASSWORD, wait="attached")
                for path in paths:
                    page.goto(path)
                    page.wait_for_load_state("load")
                    if path.startswith("/labs/"):
                        expect(page.get_by_test_id("board-connection")).to_contain_text(
                            "Live"
                        )
                    found = blocking_violations(page) + wider_than_the_screen(page)
                    if found:
                        failures[f"{state} {width} {number} {path}"] = found
                if number == "a11y-ballot" and state == "open":
                    # The booking mode form with its errors shown.
                    page.goto("/coordinator/ballot/")
                    page.fill("#id_opens_at", "")
                    page.get_by_role("button", name="Save the booking mode").click()
                    expect(
                        page.get_by_text("With a ballot, set when first")
                    ).to_be_visible()
                    found = blocking_violations(page)
                    if found:
                        failures[f"{state} {width} booking mode errors"] = found
            finally:
                context.close()
    return failures


def test_the_ballots_pages_pass_axe_at_wcag_22_aa(browser, ballot_server):
    """The board's ranking panel, the dashboard, the coordinator's ballot, the
    run's confirmation and the booking mode form (with errors), while the
    ballot is open and after it ran, at both widths."""
    failures = check_ballot_pages(browser, ballot_server, "open")
    ballot_server.shell(
        "from projects.ballot_services import ballot_run\nballot_run()\n"
    )
    failures |= check_ballot_pages(browser, ballot_server, "ran")

    assert failures == {}, "\n".join(
        f"{where}:\n  " + "\n  ".join(found) for where, found in failures.items()
    )
