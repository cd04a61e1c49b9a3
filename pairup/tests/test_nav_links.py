import re

import pytest

from accounts.tests.factories import CoordinatorFactory, StudentFactory
from projects.tests.factories import make_team

pytestmark = pytest.mark.django_db

PERSONAS = {
    "free student": lambda: StudentFactory(username="20000009"),
    "student in a team": lambda: make_team(
        StudentFactory(username="20000008")
    ).member_list()[0],
    "coordinator": lambda: CoordinatorFactory(username="dana"),
    "staff outside the group": lambda: StudentFactory(username="tutor", is_staff=True),
}


def page_links(html: str) -> set[str]:
    """The site's own page links (no static files, no fragments)."""
    return {
        href
        for href in re.findall(r'href="(/[^"#]*)"', html)
        if not href.startswith("/static/")
    }


@pytest.mark.parametrize("persona", PERSONAS, ids=list(PERSONAS))
def test_every_link_on_the_dashboard_and_navbar_works(client, persona):
    client.force_login(PERSONAS[persona]())

    links = page_links(client.get("/").text)

    assert links
    for href in sorted(links):
        response = client.get(href, follow=True)
        assert response.status_code == 200, f"{persona}: {href}"


def test_staff_outside_the_group_see_neither_student_nor_coordinator_links(client):
    client.force_login(PERSONAS["staff outside the group"]())

    links = page_links(client.get("/").text)

    for href in ("/projects/mine/", "/projects/new/", "/students/", "/coordinator/"):
        assert href not in links
    assert {"/labs/", "/schedule/", "/chat/"} <= links


def test_students_see_their_links_and_no_coordinator_links(client):
    client.force_login(PERSONAS["free student"]())

    links = page_links(client.get("/").text)

    assert {"/projects/mine/", "/students/", "/projects/new/"} <= links
    assert "/coordinator/" not in links
    assert "/admin/" not in links
