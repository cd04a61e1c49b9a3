"""The admin's own pages for someone signed out: never a server error."""

import pytest
from django.test import Client

from accounts.selectors import user_is_coordinator

pytestmark = pytest.mark.django_db


def test_admin_sign_in_page_loads_for_a_signed_out_visitor(client):
    response = client.get("/admin/login/")

    assert response.status_code == 200
    assert 'name="username"' in response.text


def test_admin_sends_a_signed_out_visitor_to_a_sign_in_page_that_loads(client):
    response = client.get("/admin/", follow=True)

    assert response.redirect_chain == [("/admin/login/?next=/admin/", 302)]
    assert response.status_code == 200
    assert 'name="password"' in response.text


def test_admin_sign_out_leads_to_a_page_that_loads(client, dana):
    client.force_login(dana)

    response = client.post("/admin/logout/", follow=True)

    assert response.redirect_chain == [("/", 302)]
    assert response.status_code == 200
    assert not response.wsgi_request.user.is_authenticated
    assert client.get("/admin/login/").status_code == 200


def test_a_coordinator_signs_in_through_the_admin_page(dana):
    client = Client()

    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "dana", "password": "correct-horse-battery-staple"},
        follow=True,
    )

    assert response.status_code == 200
    assert response.redirect_chain[-1][0] == "/admin/"
    assert "Labs" in response.text


def test_user_is_coordinator_is_false_for_anonymous_and_students(alice, dana):
    from django.contrib.auth.models import AnonymousUser

    assert user_is_coordinator(AnonymousUser()) is False
    assert user_is_coordinator(None) is False
    assert user_is_coordinator(alice) is False
    assert user_is_coordinator(dana) is True
