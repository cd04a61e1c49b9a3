"""With PAIRUP_TEAM_SIZE=1 nobody can have a partner: no page prompts a
student to find one, invite one or say they are looking for one."""

import re

import pytest
from django.test import override_settings
from django.urls import reverse

from accounts.tests.api_helpers import ApiClient, assert_error
from projects.tests.factories import StudentFactory, make_team

SEARCH = reverse("projects:student_search")
INVITE = reverse("projects:project_invite")
PROFILE = reverse("profile")
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _teams_of_one():
    with override_settings(PAIRUP_TEAM_SIZE=1):
        yield


def navbar(html: str) -> str:
    return re.search(r'<nav .*?aria-label="Main">.*?</nav>', html, re.S)[0]


def next_steps(html: str) -> str:
    start = html.index('data-testid="next-steps"')
    return html[start : html.index("</ul>", start)]


def test_the_navbar_has_no_find_a_partner_link(client, alice):
    client.force_login(alice)

    nav = navbar(client.get("/").text)

    assert SEARCH not in nav
    assert "partner" not in nav.lower()
    assert reverse("projects:project_mine") in nav


def test_a_free_students_next_steps_say_nothing_of_a_partner(client, alice):
    client.force_login(alice)

    steps = next_steps(client.get("/").text)

    assert reverse("projects:project_new") in steps
    assert SEARCH not in steps
    assert "partner" not in steps.lower()


def test_a_solo_members_next_steps_say_nothing_of_a_partner(client, alice):
    make_team(alice)
    client.force_login(alice)

    steps = next_steps(client.get("/").text)

    assert SEARCH not in steps
    assert "partner" not in steps.lower()
    assert reverse("projects:lab_board") in steps


def test_a_solo_members_dashboard_has_no_partner_line(client, alice):
    make_team(alice)
    client.force_login(alice)

    body = client.get("/").text

    assert 'data-testid="dashboard-partner"' not in body
    assert "Partner:" not in body


def test_search_still_finds_students_without_invites_or_looking_emphasis(client, alice):
    make_team(alice)
    StudentFactory(username="20000011", first_name="Sam", last_name="Adams")
    StudentFactory(
        username="20000012",
        first_name="Sam",
        last_name="Zane",
        looking_for_partner=True,
    )
    client.force_login(alice)

    response = client.get(SEARCH, {"q": "sam"})

    body = response.text
    assert response.status_code == 200
    # By name only: a "looking" flag set before means nothing now.
    assert [s.username for s in response.context["results"]] == [
        "20000011",
        "20000012",
    ]
    assert INVITE not in body
    assert "Looking for a partner" not in body
    assert "looking for a partner come first" not in body
    assert "Find a partner" not in body
    assert 'data-testid="team-of-one"' in body


def test_the_profile_hides_the_looking_flag_and_keeps_its_stored_value(client, alice):
    alice.looking_for_partner = True
    alice.save(update_fields=["looking_for_partner"])
    client.force_login(alice)

    page = client.get(PROFILE)
    saved = client.post(
        PROFILE, {"preferred_name": "Ally", "email": "ally@example.edu"}
    )

    assert "looking_for_partner" not in page.context["form"].fields
    assert "looking for a partner" not in page.text.lower()
    assert saved.status_code == 302
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"
    assert alice.looking_for_partner is True


def test_the_profile_help_for_please_assign_me_pairs_nobody(client, alice):
    client.force_login(alice)

    page = client.get(PROFILE)

    help_text = page.context["form"].fields["please_assign_me"].help_text
    assert "pair" not in help_text.lower()
    assert "project" in help_text
    assert "pair you up" not in page.text


def test_patch_me_refuses_a_change_to_the_looking_flag_naming_it(alice):
    response = ApiClient(alice).patch(
        "/me", {"preferred_name": "Ally", "looking_for_partner": True}
    )

    body = assert_error(response, 400, "invalid")
    assert list(body["errors"]) == ["looking_for_partner"]
    assert "Teams are of one" in body["detail"]
    alice.refresh_from_db()
    assert (alice.preferred_name, alice.looking_for_partner) == ("", False)


def test_patch_me_keeps_the_looking_flag_sent_back_unchanged(alice):
    alice.looking_for_partner = True
    alice.save(update_fields=["looking_for_partner"])

    response = ApiClient(alice).patch(
        "/me",
        {
            "preferred_name": "Ally",
            "looking_for_partner": True,
            "please_assign_me": True,
        },
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.preferred_name == "Ally"
    assert alice.looking_for_partner is True
    assert alice.please_assign_me is True


def test_an_invitation_sent_before_teams_were_of_one_offers_no_accept(
    client, alice, bob
):
    """Sent when teams were of two, it can never be accepted now: the page
    says why and offers Decline alone, and doesn't send Bob to accept it."""
    from projects import services

    with override_settings(PAIRUP_TEAM_SIZE=2):
        project = make_team(alice)
        invitation = services.invitation_send(
            user=alice, project=project, invitee_number=bob.username
        )
    client.force_login(bob)

    html = client.get("/").text

    assert reverse("projects:invitation_accept", args=[invitation.pk]) not in html
    assert reverse("projects:invitation_decline", args=[invitation.pk]) in html
    assert f"{project.team_name} is full: it can't take you." in html
    steps = next_steps(html)
    assert "Accept an invitation" not in steps
    assert reverse("projects:project_new") in steps
