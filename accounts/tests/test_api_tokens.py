import base64
import hashlib
from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.utils import timezone

from accounts.models import ApiToken
from accounts.tests.api_helpers import ApiClient, assert_error
from accounts.tests.factories import PASSWORD

URL = "/api/v1/tokens"


def basic(username: str, password: str) -> dict[str, str]:
    pair = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {pair}"}


def get_token(client, username, password=PASSWORD):
    return client.post(URL, headers=basic(username, password))


def test_student_gets_a_token_that_authenticates(client, alice):
    assert ApiToken.objects.count() == 0

    response = get_token(client, alice.username)

    assert response.status_code == 201
    body = response.json()
    assert body["token_type"] == "Bearer"
    token = ApiToken.objects.get()
    assert token.user == alice
    me = Client().get(
        "/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert me.status_code == 200
    assert me.json()["username"] == alice.username


def test_token_is_stored_only_as_its_sha256_hash(client, alice):
    key = get_token(client, alice.username).json()["token"]

    token = ApiToken.objects.get()
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert key not in token.key_hash


def test_token_expires_after_the_configured_hours(client, alice, settings):
    settings.PAIRUP_API_TOKEN_HOURS = 3
    before = timezone.now()

    response = get_token(client, alice.username)

    token = ApiToken.objects.get()
    assert (
        before + timedelta(hours=3)
        <= token.expires_at
        <= timezone.now() + timedelta(hours=3)
    )
    assert response.json()["expires_at"].endswith("+08:00")  # TIME_ZONE


def test_expired_token_gets_401(client, alice):
    key = get_token(client, alice.username).json()["token"]
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})

    assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_of_a_deactivated_user_gets_401(client, alice):
    key = get_token(client, alice.username).json()["token"]
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})

    assert_error(response, 401)


def test_wrong_password_gets_401_and_no_token(client, alice):
    response = get_token(client, alice.username, "wrong-password")

    body = assert_error(response, 401, "unauthorized")
    assert response["WWW-Authenticate"].startswith("Basic")
    assert "bearer" not in body["detail"].lower()
    assert "student number and password" in body["detail"]
    assert ApiToken.objects.count() == 0


@pytest.mark.parametrize(
    "header",
    [
        "",
        "Basic",
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"no-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
        "Bearer something",
    ],
)
def test_missing_or_malformed_credentials_get_401(client, alice, header):
    response = client.post(URL, headers={"Authorization": header} if header else {})

    assert_error(response, 401)
    assert ApiToken.objects.count() == 0


def test_coordinator_gets_a_token_too(client, dana):
    response = get_token(client, dana.username)

    assert response.status_code == 201
    assert ApiToken.objects.get().user == dana


def test_locked_pair_gets_429_with_retry_after(client, alice, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        assert get_token(client, alice.username, "wrong").status_code == 401

    fifth = get_token(client, alice.username, "wrong")
    right_password = get_token(client, alice.username)

    assert_error(fifth, 429, "locked_out")
    body = assert_error(right_password, 429, "locked_out")
    assert "Try again" in body["detail"]
    assert right_password["Retry-After"] == str(
        settings.PAIRUP_LOGIN_COOLOFF_MINUTES * 60
    )
    assert ApiToken.objects.count() == 0


def test_a_token_granted_clears_the_failures_as_a_page_sign_in_does(
    client, alice, settings
):
    settings.AXES_FAILURE_LIMIT = 5
    for _ in range(4):
        get_token(client, alice.username, "wrong")
    assert get_token(client, alice.username).status_code == 201

    for _ in range(4):
        assert get_token(client, alice.username, "wrong").status_code == 401
    response = get_token(client, alice.username)

    assert response.status_code == 201, response.content


def test_token_failures_lock_the_sign_in_page_too(client, alice):
    for _ in range(5):
        get_token(client, alice.username, "wrong")

    page = Client().post(
        "/accounts/login/", {"username": alice.username, "password": PASSWORD}
    )

    assert page.status_code == 429
    assert "_auth_user_id" not in page.client.session


def test_lock_is_per_student_number(client, alice, bob):
    for _ in range(5):
        get_token(client, alice.username, "wrong")

    response = get_token(client, bob.username)

    assert response.status_code == 201
    assert AccessAttempt.objects.filter(username=alice.username).exists()


def test_revoke_current_token(alice):
    api = ApiClient(alice)
    other = ApiClient(alice)
    assert ApiToken.objects.filter(user=alice).count() == 2

    response = api.delete("/tokens/current")

    assert response.status_code == 204
    assert ApiToken.objects.filter(user=alice).count() == 1
    assert_error(api.get("/me"), 401)
    assert other.get("/me").status_code == 200


def test_revoke_needs_a_bearer_token(client, alice):
    client.force_login(alice)

    response = client.delete("/api/v1/tokens/current")

    assert_error(response, 401)


def test_anonymous_revoke_gets_401(client):
    assert_error(client.delete("/api/v1/tokens/current"), 401)


def test_wrong_method_on_tokens_gets_405(client):
    response = client.get(URL)

    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response["Allow"]


def test_new_token_deletes_the_users_expired_ones(client, alice):
    get_token(client, alice.username)
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    get_token(client, alice.username)

    assert ApiToken.objects.filter(user=alice).count() == 1
    assert ApiToken.objects.get().expires_at > timezone.now()
