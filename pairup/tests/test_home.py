import re

import pytest

from pairup.tests.html import assert_every_control_labelled


@pytest.mark.django_db
def test_signed_out_visitor_sees_what_pair_up_is(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/")

    assert response.status_code == 200
    assert "Pair up with a partner for your unit" in response.text
    assert 'href="/accounts/login/"' in response.text
    assert 'href="/accounts/register/"' in response.text
    assert 'href="/accounts/password_reset/"' in response.text


@pytest.mark.django_db
def test_signed_in_student_is_greeted_by_display_name(
    client, alice, django_assert_num_queries
):
    alice.preferred_name = "Ally"
    alice.save(update_fields=["preferred_name"])
    client.force_login(alice)

    # session, user, then the teams part: my project, the booking window, my
    # invitations; the bell's unread count.
    with django_assert_num_queries(6):
        response = client.get("/")

    assert response.status_code == 200
    assert "Hello, Ally" in response.text
    assert re.search(r'data-testid="nav-user">Ally<', response.text)


def test_home_refuses_a_post(client, db):
    assert client.post("/").status_code == 405


@pytest.mark.django_db
def test_pages_have_a_skip_link_and_a_phone_viewport(client):
    response = client.get("/")

    assert 'href="#main"' in response.text
    assert 'id="main"' in response.text
    assert 'name="viewport" content="width=device-width' in response.text


@pytest.mark.django_db
@pytest.mark.parametrize(
    "url",
    [
        "/accounts/register/",
        "/accounts/login/",
        "/accounts/password_reset/",
    ],
)
def test_every_control_on_public_forms_has_a_label(client, url):
    assert_every_control_labelled(client.get(url).text)


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/profile/", "/accounts/password_change/"])
def test_every_control_on_account_forms_has_a_label(client, alice, url):
    client.force_login(alice)

    assert_every_control_labelled(client.get(url).text)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/static/vendor/bootstrap/bootstrap.min.css",
        "/static/vendor/bootstrap/bootstrap.bundle.min.js",
        "/static/pairup/site.css",
    ],
)
def test_css_and_js_are_served_with_debug_off(client, settings, path):
    assert settings.DEBUG is False

    response = client.get(path)

    assert response.status_code == 200
    assert b"".join(response.streaming_content)
