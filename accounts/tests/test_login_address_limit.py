"""Failed sign-ins per address, across student numbers (issue 14, also
tighten): refused before any password is hashed, on the page (429), the
admin's sign-in page and POST /api/v1/tokens (429 with Retry-After)."""

import base64
from types import SimpleNamespace

import pytest
from django.contrib.auth.backends import ModelBackend
from django.test import Client

from accounts.tests.api_helpers import assert_error
from accounts.tests.factories import PASSWORD

pytestmark = pytest.mark.django_db

ATTACKER = "10.9.9.9"
WRONG = "not-the-password"
NEIGHBOUR = "10.9.9.10"


@pytest.fixture(autouse=True)
def _limit_of_three(settings, monkeypatch):
    settings.PAIRUP_LOGIN_ADDRESS_LIMIT = 3
    # Mid-window, so no test straddles the clock-aligned window's end.
    mid_window = SimpleNamespace(time=lambda: 900 * 2_000_000 + 450)
    monkeypatch.setattr("pairup.ratelimit.time", mid_window)


@pytest.fixture
def hashes(monkeypatch):
    """Count how often the password backend runs (each run hashes once)."""
    calls = []
    real = ModelBackend.authenticate

    def counting(self, request, username=None, password=None, **kwargs):
        calls.append(username)
        return real(self, request, username=username, password=password, **kwargs)

    monkeypatch.setattr(ModelBackend, "authenticate", counting)
    return calls


def page_sign_in(client, number, password=WRONG, address=ATTACKER):
    return client.post(
        "/accounts/login/",
        {"username": number, "password": password},
        REMOTE_ADDR=address,
    )


def api_token(number, password=WRONG, address=ATTACKER):
    encoded = base64.b64encode(f"{number}:{password}".encode()).decode()
    return Client().post(
        "/api/v1/tokens",
        headers={"Authorization": f"Basic {encoded}"},
        REMOTE_ADDR=address,
    )


def use_up_the_address(client):
    for number in ("30000001", "30000002", "30000003"):  # other numbers each time
        assert page_sign_in(client, number).status_code == 200


def test_the_default_is_50_failures_per_15_minutes(settings):
    from pairup import settings as configured

    assert configured.PAIRUP_LOGIN_ADDRESS_LIMIT == 50
    assert settings.PAIRUP_LOGIN_COOLOFF_MINUTES == 15


def test_an_address_trying_number_after_number_is_refused_without_a_hash(
    client, alice, hashes
):
    use_up_the_address(client)
    assert len(hashes) == 3

    response = page_sign_in(client, alice.username, PASSWORD)

    assert response.status_code == 429
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert "Too many failed sign-ins came from your network" in response.text
    assert "minute" in response.text
    assert 'value="20000001"' in response.text  # the number typed stays
    assert len(hashes) == 3  # no password was hashed for the refusal
    assert "_auth_user_id" not in client.session


def test_another_address_still_signs_in(client, alice):
    use_up_the_address(client)

    response = page_sign_in(Client(), alice.username, PASSWORD, address=NEIGHBOUR)

    assert response.status_code == 302


def test_successful_sign_ins_do_not_count(alice):
    for _ in range(5):
        client = Client()
        assert page_sign_in(client, alice.username, PASSWORD).status_code == 302

    assert page_sign_in(Client(), alice.username, PASSWORD).status_code == 302


def test_the_token_endpoint_refuses_the_address_with_retry_after(alice, hashes):
    for number in ("30000001", "30000002", "30000003"):
        assert_error(api_token(number), 401)

    response = api_token(alice.username, PASSWORD)

    body = assert_error(response, 429, "throttled")
    assert "Too many failed sign-ins came from your network" in body["detail"]
    assert 1 <= int(response["Retry-After"]) <= 15 * 60
    assert len(hashes) == 3


def test_page_and_api_failures_share_the_count(client, alice):
    assert_error(api_token("30000001"), 401)
    page_sign_in(client, "30000002")
    assert_error(api_token("30000003"), 401)

    assert page_sign_in(client, alice.username, PASSWORD).status_code == 429


def test_the_admin_sign_in_page_is_limited_too(client, dana, hashes):
    use_up_the_address(client)

    response = client.post(
        "/admin/login/",
        {"username": "dana", "password": PASSWORD},
        REMOTE_ADDR=ATTACKER,
    )

    assert response.status_code == 200
    assert "Too many failed sign-ins came from your network" in response.text
    assert len(hashes) == 3
    assert "_auth_user_id" not in client.session
