"""The small pages around the account flows, with their query budgets."""

import re

import pytest


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "heading"),
    [
        ("/accounts/password_reset/done/", "Check your email"),
        ("/accounts/reset/done/", "Your password is set"),
    ],
)
def test_anonymous_pages_render_without_queries(
    client, django_assert_num_queries, url, heading
):
    with django_assert_num_queries(0):
        response = client.get(url)

    assert response.status_code == 200
    assert heading in response.text


@pytest.mark.django_db
def test_password_change_done_page_needs_a_signed_in_user(
    client, alice, django_assert_num_queries
):
    assert client.get("/accounts/password_change/done/").status_code == 302
    client.force_login(alice)

    # session, user, the bell's unread count
    with django_assert_num_queries(3):
        response = client.get("/accounts/password_change/done/")

    assert response.status_code == 200
    assert "Your password was changed" in response.text


@pytest.mark.django_db
def test_a_bad_reset_link_says_it_no_longer_works(client, alice):
    response = client.get("/accounts/reset/MQ/bad-token/")

    assert response.status_code == 200
    assert "This link no longer works" in response.text
    assert 'href="/accounts/password_reset/"' in response.text


@pytest.mark.django_db
def test_signed_in_navbar_shows_the_display_name_and_profile_link(client, alice):
    client.force_login(alice)

    response = client.get("/accounts/profile/")

    assert 'href="/accounts/profile/" data-testid="nav-user">Alice</a>' in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("url", "fields"),
    [
        (
            "/accounts/register/",
            {
                "first_name": "given-name",
                "last_name": "family-name",
                "preferred_name": "nickname",
                "email": "email",
            },
        ),
        ("/accounts/profile/", {"preferred_name": "nickname", "email": "email"}),
    ],
)
def test_name_and_email_fields_say_what_they_are_for_autofill(
    client, alice, url, fields
):
    """WCAG 2.2 SC 1.3.5 (Identify Input Purpose, AA): a phone's autofill
    fills the student's own name and email."""
    if url == "/accounts/profile/":
        client.force_login(alice)

    html = client.get(url).text

    for name, token in fields.items():
        tag = re.search(rf'<input [^>]*name="{name}"[^>]*>', html)[0]
        assert f'autocomplete="{token}"' in tag, tag
