import pytest
from django.test import Client

pytestmark = [pytest.mark.django_db, pytest.mark.urls("pairup.tests.urls")]


def test_missing_page_is_a_friendly_404(client):
    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Page not found" in response.text
    assert '<a href="/">Back to the start page</a>' in response.text
    assert "Traceback" not in response.text


def test_404_page_keeps_the_navbar_of_a_signed_in_user(client, alice):
    client.force_login(alice)

    response = client.get("/no/such/page/")

    assert response.status_code == 404
    assert "Alice" in response.text


def test_server_error_renders_the_500_page_without_a_traceback():
    client = Client(raise_request_exception=False)

    response = client.get("/test/boom/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.text
    assert "secret-internal-detail" not in response.text
    assert "Traceback" not in response.text


def test_server_error_page_needs_no_database(alice, django_assert_num_queries):
    """The failure may be the database itself: the page must not need it."""
    client = Client(raise_request_exception=False)
    client.force_login(alice)

    with django_assert_num_queries(0):
        response = client.get("/test/boom/")

    assert response.status_code == 500


def test_an_unavailable_database_is_a_503_asking_to_try_again():
    client = Client(raise_request_exception=False)

    response = client.get("/test/database-busy/")

    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "Pair-Up is busy right now" in response.text
    assert "try again in a few seconds" in response.text
    assert "couldn&#x27;t get a connection" not in response.text
    assert "Traceback" not in response.text


def test_permission_denied_is_a_friendly_403(client):
    response = client.get("/test/forbidden/")

    assert response.status_code == 403
    assert "have access to this page" in response.text


def test_bad_request_is_a_friendly_400(client):
    response = client.get("/test/suspicious/")

    assert response.status_code == 400
    assert "That request could not be understood" in response.text
    assert "secret-internal-detail" not in response.text


def test_csrf_failure_explains_and_keeps_the_site_look(alice):
    client = Client(enforce_csrf_checks=True)

    response = client.post(
        "/accounts/login/", {"username": "20000001", "password": "whatever"}
    )

    assert response.status_code == 403
    assert "This form has expired" in response.text
    assert "CSRF verification failed" not in response.text
    assert "_auth_user_id" not in client.session
