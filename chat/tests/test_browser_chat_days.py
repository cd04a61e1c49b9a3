"""Day dividers in a chat room, in Chromium against daphne.

The live server's database lives for the whole session, so this module uses
student numbers (738xxxxx) and a room name of its own. No ORM here: the
messages of earlier days are stored through `live_server.shell`.
"""

import re
from datetime import date

import pytest

from chat.tests.test_browser_moderation import expect_connected, make_students, say
from pairup.tests.helpers import sign_in

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser

PASSWORD = "thistle-harbor-pepper-71"  # make_students's

# Stored at local wall times in TIME_ZONE. "tuesday only" is ten past
# midnight there: the day before in UTC and in any zone west of it, so a
# page reading the day in the browser's own zone would file it under Monday.
STORED = """
from datetime import datetime
from zoneinfo import ZoneInfo
from django.conf import settings
from chat.models import Message
from chat.services import room_open
ada = User.objects.get(username="73800001")
room, _ = room_open(name="Days 738")
tz = ZoneInfo(settings.TIME_ZONE)
for text, at in [
    ("monday one", datetime(2026, 3, 2, 9, 0)),
    ("monday two", datetime(2026, 3, 2, 23, 50)),
    ("tuesday only", datetime(2026, 3, 3, 0, 10)),
    ("thursday one", datetime(2026, 3, 5, 14, 5)),
    ("thursday two", datetime(2026, 3, 5, 14, 6)),
]:
    Message.objects.create(room=room, author=ada, text=text, sent_at=at.replace(tzinfo=tz))
print(room.pk, room.slug)
"""

# Everything in the log but status lines: a divider by its text, a message
# by a pattern on its text.
ROWS = "#chat-messages > li:not(.chat-status)"

# Each divider on the page, before and after a resync: a divider left in
# place is not added to the log (aria-live) again.
MARK_DIVIDERS = (
    "() => { window.seen = new Set(document.querySelectorAll('.chat-day')); }"
)
ALL_DIVIDERS_SEEN = (
    "() => Array.from(document.querySelectorAll('.chat-day'))"
    ".every((divider) => window.seen.has(divider))"
)


def message(text: str) -> re.Pattern:
    return re.compile(rf"{re.escape(text)}$")


def day_name(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"


def test_dividers_name_each_day_of_the_history_and_follow_live_changes(
    live_server, new_page
):
    output = make_students(
        live_server,
        {"73800001": "Ada", "mod738": "Moss"},
        then="from accounts.coordinators import coordinator_make\n"
        "User.objects.filter(username='mod738').update(is_staff=True)\n"
        "coordinator_make(username='mod738')\n" + STORED,
    )
    room_id, slug = output.split()[-2:]
    ada, moss = new_page(), new_page()
    sockets = []  # (page side, server side) of each of Ada's sockets

    def through(route):
        sockets.append((route, route.connect_to_server()))

    ada.route_web_socket(re.compile(r"/ws/chat/"), through)
    sign_in(ada, "73800001", PASSWORD)
    ada.goto(f"/chat/{slug}/")
    expect_connected(ada)

    rows = ada.locator(ROWS)
    history = [
        "Monday 2 March 2026",
        message("monday one"),
        message("monday two"),
        "Tuesday 3 March 2026",
        message("tuesday only"),
        "Thursday 5 March 2026",
        message("thursday one"),
        message("thursday two"),
    ]
    expect(rows).to_have_text(history)
    expect(ada.locator(".chat-day")).to_have_count(3)
    tuesday = ada.locator(".chat-message", has_text="tuesday only")
    expect(tuesday.locator("time")).to_have_text("00:10")
    expect(tuesday.locator("time")).to_have_attribute(
        "title", "Tuesday 3 March 2026, 00:10"
    )

    # Today's first message gets today's divider; the next one does not.
    say(ada, "live one")
    sent_at = ada.locator(".chat-message", has_text="live one").locator("time")
    today = day_name(date.fromisoformat(sent_at.get_attribute("datetime")[:10]))
    expect(rows).to_have_text([*history, today, message("live one")])
    say(ada, "live two")
    expect(rows).to_have_text(
        [*history, today, message("live one"), message("live two")]
    )

    # A coordinator deletes Tuesday's only message and Thursday's first.
    gone = [
        ada.locator(".chat-message", has_text=text).get_attribute("data-id")
        for text in ("tuesday only", "thursday one")
    ]
    sign_in(moss, "mod738", PASSWORD)
    moss.goto(f"/admin/chat/message/?room__id__exact={room_id}")
    for message_id in gone:
        moss.locator(f"input[name=_selected_action][value='{message_id}']").check()
    moss.select_option("select[name=action]", "delete_selected")
    moss.locator("button[name=index]").click()
    moss.get_by_role("button", name=re.compile(r"^Yes, I.m sure$")).click()
    expect(moss.locator(".messagelist")).to_contain_text("Successfully deleted 2")

    after = [
        "Monday 2 March 2026",
        message("monday one"),
        message("monday two"),
        "Thursday 5 March 2026",
        message("thursday two"),
        today,
        message("live one"),
        message("live two"),
    ]
    expect(rows).to_have_text(after)

    # A reconnect resyncs from history: the same dividers, none added again.
    moss.goto(f"/chat/{slug}/")
    expect_connected(moss)
    ada.evaluate(MARK_DIVIDERS)
    page_side, server_side = sockets[-1]
    page_side.close(code=4413, reason="too slow")
    server_side.close()
    say(moss, "while you were away")
    expect(ada.locator("#chat-notice")).to_contain_text("fell behind")
    after.append(message("while you were away"))
    expect(rows).to_have_text(after, timeout=15_000)
    expect_connected(ada)
    assert len(sockets) == 2
    assert ada.evaluate(ALL_DIVIDERS_SEEN)

    # A reload shows the same, and the dividers fit a phone.
    ada.set_viewport_size({"width": 390, "height": 844})
    ada.reload()
    expect_connected(ada)
    expect(rows).to_have_text(after)
    assert ada.evaluate("document.documentElement.scrollWidth") <= 390


def test_earlier_messages_loaded_by_scrolling_up_go_under_their_days(live_server, page):
    output = make_students(
        live_server,
        {"73800011": "Bea"},
        then="from datetime import datetime, timedelta\n"
        "from zoneinfo import ZoneInfo\n"
        "from django.conf import settings\n"
        "from chat.models import Message\n"
        "from chat.services import room_open\n"
        "bea = User.objects.get(username='73800011')\n"
        "room, _ = room_open(name='Older days 738')\n"
        "tz = ZoneInfo(settings.TIME_ZONE)\n"
        "for day, name, count in [(1, 'sun', 3), (2, 'mon', 7), (3, 'tue', 45)]:\n"
        "    for n in range(1, count + 1):\n"
        "        at = datetime(2026, 3, day, 9, tzinfo=tz) + timedelta(minutes=n)\n"
        "        Message.objects.create(room=room, author=bea, text=f'{name} {n}',\n"
        "                               sent_at=at)\n"
        "print(room.slug)\n",
    )
    slug = output.split()[-1]
    sign_in(page, "73800011", PASSWORD)
    page.goto(f"/chat/{slug}/")
    expect_connected(page)

    def day(name: str, count: int, first: int = 1) -> list[re.Pattern]:
        return [message(f"{name} {n}") for n in range(first, count + 1)]

    rows = page.locator(ROWS)
    tuesday = ["Tuesday 3 March 2026", *day("tue", 45)]
    expect(rows).to_have_text(["Monday 2 March 2026", *day("mon", 7, 3), *tuesday])
    page.evaluate(MARK_DIVIDERS)

    page.locator("#chat-log").evaluate("(log) => { log.scrollTop = 0; }")
    expect(rows).to_have_text(
        [
            "Sunday 1 March 2026",
            *day("sun", 3),
            "Monday 2 March 2026",
            *day("mon", 7),
            *tuesday,
        ]
    )
    assert (
        page.evaluate(
            "() => Array.from(document.querySelectorAll('.chat-day'))"
            ".filter((divider) => window.seen.has(divider)).length"
        )
        == 2
    )  # Monday's and Tuesday's stay as they were
