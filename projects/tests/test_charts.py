"""The coordinator page's pictures: server-side SVG with a text alternative
(a title and a description that name it, and the same figures as a table)."""

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest
from django.utils import timezone

from projects import charts, selectors, services
from projects.models import BookingWindow, Membership, Project
from projects.tests.factories import LabFactory, StudentFactory, make_team

pytestmark = pytest.mark.django_db
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(autouse=True)
def window():
    return BookingWindow.get()


def build() -> list[charts.Chart]:
    return charts.coordinator_charts(counts=selectors.coordinator_counts())


def parse(chart: charts.Chart) -> ET.Element:
    return ET.fromstring(str(chart.svg))  # noqa: S314 (our own output)


def assert_named_and_described(chart: charts.Chart) -> ET.Element:
    svg = parse(chart)
    assert svg.get("role") == "img"
    title_id, desc_id = svg.get("aria-labelledby").split()
    title = svg.find(f"{SVG}title")
    desc = svg.find(f"{SVG}desc")
    assert (title.get("id"), title.text) == (title_id, chart.title)
    assert (desc.get("id"), desc.text) == (desc_id, chart.description)
    # The drawing itself is hidden: the title and description speak for it.
    assert svg.find(f"{SVG}g").get("aria-hidden") == "true"
    return svg


def test_every_picture_has_a_text_alternative(alice, bob, charlie, dana):
    make_team(alice, bob, lab=LabFactory(room="Lab A"))
    make_team(charlie)
    LabFactory(room="Lab B")

    pictures = build()

    assert [c.key for c in pictures] == ["pairing-chart", "booking-chart", "fill-chart"]
    for chart in pictures:
        assert_named_and_described(chart)
        assert chart.caption
        assert chart.rows, chart.key
        assert all(len(row) == len(chart.header) for row in chart.rows)


def test_pairing_progress_ends_at_todays_counts(alice, bob, charlie, dana):
    StudentFactory()
    make_team(alice, bob)
    make_team(charlie)

    pairing = build()[0]

    assert "rose to 3 of 4, and those in a full team to 2" in pairing.description
    assert pairing.header == ["Day", "In a project", "In a full team"]
    assert pairing.rows[-1][1:] == [3, 2]


def test_pairing_progress_follows_the_joining_times(alice, bob, dana):
    make_team(alice, bob)
    two_days_ago = timezone.now() - timedelta(days=2)
    Membership.objects.filter(user=alice).update(joined_at=two_days_ago)

    pairing = build()[0]

    assert [row[1:] for row in pairing.rows] == [[1, 0], [1, 0], [2, 2]]


def test_booking_progress_counts_back_from_todays_teams_with_a_slot(
    alice, bob, charlie, dana
):
    first = make_team(alice)
    second = make_team(bob)
    services.lab_book(user=alice, project=first, lab=LabFactory())
    services.lab_book(user=bob, project=second, lab=LabFactory())
    services.lab_book(user=bob, project=second, lab=LabFactory())  # a move
    services.lab_release(user=alice, project=first)
    # A slot set with no record (loaded by hand) shows as the starting value.
    by_hand = make_team(charlie)
    Project.objects.filter(pk=by_hand.pk).update(lab=LabFactory())

    booking = build()[1]

    assert "rose to 2 of 3 teams" in booking.description
    assert booking.rows[-1] == [booking.rows[-1][0], 2]
    path = parse(booking).find(f"{SVG}g").find(f"{SVG}path").get("d")
    # Starts at 1 (the slot with no record), three changes: +1, +1, -1.
    assert path.count("V") == 3


def test_a_unit_with_nothing_yet_says_so(dana):
    pairing, booking, fill = build()

    assert pairing.description == "No student is in a project yet (0 students)."
    assert booking.description == "No slot has been booked yet (0 teams)."
    assert fill.description == "No lab slots from today on."
    assert pairing.rows == booking.rows == fill.rows == []
    for chart in (pairing, booking, fill):
        assert_named_and_described(chart)


def test_slot_fill_counts_taken_slots_by_day_and_room(alice, bob, dana):
    # Noon, local time: the three slots fall on one day whatever the hour.
    start = timezone.localtime(timezone.now() + timedelta(days=4)).replace(
        hour=12, minute=0, second=0, microsecond=0
    )
    a1 = LabFactory(room="Lab A", start=start, end=start + timedelta(minutes=10))
    LabFactory(
        room="Lab A",
        start=start + timedelta(minutes=15),
        end=start + timedelta(minutes=25),
    )
    b1 = LabFactory(room="Lab B", start=start, end=start + timedelta(minutes=10))
    make_team(alice, lab=a1)
    make_team(bob, lab=b1)
    LabFactory(
        room="Lab A",
        start=timezone.now() - timedelta(days=2),
        end=timezone.now() - timedelta(days=2, minutes=-10),
    )  # an earlier day: not shown

    fill = build()[2]

    day = f"{timezone.localtime(start):%a %d %b %Y}"
    assert fill.header == ["Day", "Lab A", "Lab B"]
    assert fill.rows == [[day, "1 of 2", "1 of 1"]]
    assert fill.description.startswith("2 of 3 slots taken over 1 day(s) in 2 room(s).")
    assert "Fullest: Lab B" in fill.description
    texts = [t.text for t in parse(fill).iter(f"{SVG}text")]
    assert {"1/2", "1/1"} <= set(texts)


def contrast(first: str, second: str) -> float:
    def luminance(colour):
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
            for c in channels
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted([luminance(first), luminance(second)], reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_heatmap_counts_keep_aa_contrast_on_every_shade():
    for _, fill, ink in charts.SCALE:
        assert contrast(fill, ink) >= 4.5, fill
    for colour in (charts.BLUE, charts.ORANGE):
        assert contrast(colour, "#ffffff") >= 4.5


def test_a_line_with_many_changes_is_drawn_with_bounded_points(dana):
    now = timezone.now()
    data = charts.ProgressData(
        students=2000,
        teams=0,
        in_project=[now - timedelta(minutes=n) for n in range(2000, 0, -1)],
        full=[],
        booked_now=0,
        booking_changes=[],
    )

    pairing = charts.pairing_chart(data)

    path = parse(pairing).find(f"{SVG}g").find(f"{SVG}path").get("d")
    assert len(re.findall("V", path)) <= charts.MAX_POINTS + 1
    assert pairing.rows[-1][1] == 2000
