import csv
import io

import pytest
from django.urls import reverse

from pairup.dates import slot_label
from projects.tests.factories import LabFactory, StudentFactory, make_team

PAGE = reverse("projects:coordinator")
STUDENTS_CSV = reverse("projects:coordinator_students_csv")
TEAMS_CSV = reverse("projects:coordinator_teams_csv")
pytestmark = pytest.mark.django_db


def read_csv(response):
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_coordinator_sees_counts_and_lists(client, alice, bob, charlie, dana, team):
    LabFactory()
    solo = make_team(StudentFactory(), lab=LabFactory())
    looking = StudentFactory(looking_for_partner=True, please_assign_me=True)
    client.force_login(dana)

    response = client.get(PAGE)

    assert response.status_code == 200
    counts = response.context["counts"]
    assert counts == {
        "students": 5,
        "in_full_teams": 2,
        "in_solo_projects": 1,
        "without_project": 2,
        "teams_with_slot": 1,
        "teams_without_slot": 1,
        "free_slots": 1,
    }
    rows = {row["student"].pk: row for row in response.context["roster_rows"]}
    soloist = solo.memberships.get().user
    assert set(rows) == {alice.pk, bob.pk, charlie.pk, soloist.pk, looking.pk}
    assert rows[alice.pk]["project"] == team
    assert rows[looking.pk]["project"] is None
    assert rows[soloist.pk]["slot"] == slot_label(solo.lab)


def test_student_gets_the_403_page(client, alice):
    client.force_login(alice)

    response = client.get(PAGE)

    assert response.status_code == 403
    assert "You don't have access to this page" in response.content.decode()


@pytest.mark.parametrize("url", [STUDENTS_CSV, TEAMS_CSV])
def test_student_cannot_download(client, alice, url):
    client.force_login(alice)

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [PAGE, STUDENTS_CSV, TEAMS_CSV])
def test_anonymous_is_sent_to_sign_in(client, url):
    response = client.get(url)

    assert response.url == f"{reverse('login')}?next={url}"


@pytest.mark.parametrize("url", [PAGE, STUDENTS_CSV, TEAMS_CSV])
def test_wrong_method_gets_405(client, dana, url):
    client.force_login(dana)

    assert client.post(url).status_code == 405


def test_students_csv_lists_both_flags_and_neutralises_formulas(client, dana):
    StudentFactory(
        username="20000009",
        first_name='=HYPERLINK("http://evil")',
        last_name="-Minus",
        preferred_name="Zoë",
        looking_for_partner=True,
    )
    client.force_login(dana)

    response = client.get(STUDENTS_CSV)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "students-without-project.csv" in response["Content-Disposition"]
    header, row = read_csv(response)
    assert header[:7] == [
        "student_number",
        "first_name",
        "last_name",
        "preferred_name",
        "email",
        "looking_for_partner",
        "please_assign_me",
    ]
    assert row[:4] == ["20000009", '\'=HYPERLINK("http://evil")', "'-Minus", "Zoë"]
    assert row[5:7] == ["yes", "no"]


def test_teams_csv_lists_unbooked_teams(client, dana, team):
    team.description = "+SUM(A1:A9)"
    team.save(update_fields=["description"])
    make_team(StudentFactory(), lab=LabFactory())
    client.force_login(dana)

    response = client.get(TEAMS_CSV)

    rows = read_csv(response)
    assert rows[0][:4] == ["team", "description", "size", "member_1_number"]
    assert rows[1][:4] == [str(team.pk), "'+SUM(A1:A9)", "2", "20000001"]
    assert rows[1][6] == "20000002"
    assert len(rows) == 2


def add_unit(teams: int) -> None:
    for _ in range(teams):
        make_team(StudentFactory(), StudentFactory(), lab=LabFactory())
        make_team(StudentFactory())
        StudentFactory(looking_for_partner=True)


@pytest.mark.parametrize("url", [STUDENTS_CSV, TEAMS_CSV])
def test_downloads_cost_the_same_queries_as_the_unit_grows(
    client, dana, django_assert_num_queries, url
):
    client.force_login(dana)
    add_unit(1)
    # session, user, coordinator group, the window (a ballot past its
    # closing runs first); the students (with their team and slot), or the
    # teams and their members; the page's budget is pinned in
    # test_views_coordinator_page.py
    budget = {STUDENTS_CSV: 5, TEAMS_CSV: 6}[url]
    with django_assert_num_queries(budget):
        client.get(url)
    add_unit(5)
    with django_assert_num_queries(budget):
        client.get(url)
