import re

import pytest
from django.urls import reverse

from accounts.tests.factories import PASSWORD

URL = "/accounts/password_change/"
NEW = "violet-harbour-window-73"


def test_password_change_url_is_the_designed_one():
    assert reverse("password_change") == URL


@pytest.mark.django_db
def test_anonymous_user_is_sent_to_sign_in(client):
    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == f"/accounts/login/?next={URL}"


@pytest.mark.django_db
def test_password_change_page_renders(client, alice, django_assert_num_queries):
    client.force_login(alice)

    # session, user, the bell's unread count
    with django_assert_num_queries(3):
        response = client.get(URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == [
        "old_password",
        "new_password1",
        "new_password2",
    ]


@pytest.mark.django_db
def test_student_changes_the_password_and_stays_signed_in(client, alice):
    client.force_login(alice)

    response = client.post(
        URL, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 302
    assert response.url == reverse("password_change_done")
    alice.refresh_from_db()
    assert alice.check_password(NEW)
    assert not alice.check_password(PASSWORD)
    assert client.get(response.url).status_code == 200
    assert client.get("/accounts/profile/").status_code == 200


@pytest.mark.django_db
def test_wrong_old_password_changes_nothing(client, alice):
    client.force_login(alice)

    response = client.post(
        URL, {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW}
    )

    assert response.status_code == 200
    assert "Your old password was entered incorrectly" in response.text
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_weak_new_password_changes_nothing(client, alice):
    client.force_login(alice)

    response = client.post(
        URL,
        {
            "old_password": PASSWORD,
            "new_password1": "12345678",
            "new_password2": "12345678",
        },
    )

    assert response.status_code == 200
    assert "This password is entirely numeric." in response.text
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_a_password_change_signs_out_other_sessions(client, alice):
    from django.test import Client

    other = Client()
    other.force_login(alice)
    client.force_login(alice)

    client.post(
        URL, {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW}
    )

    assert other.get("/accounts/profile/").status_code == 302


@pytest.mark.django_db
def test_password_change_form_names_the_account_for_password_managers(client, alice):
    client.force_login(alice)

    page = client.get(URL).text

    hints = re.findall(r"<input\b[^>]*\bautocomplete=\"username\"[^>]*>", page)
    assert len(hints) == 1, page
    assert 'value="20000001"' in hints[0]
    assert re.search(r"\shidden[\s/>]", hints[0])  # not shown
