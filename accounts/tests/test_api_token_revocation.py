"""API tokens end with the password and with the session that asked for them
(issue 14, item 5)."""

import base64

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiToken
from accounts.services import api_token_create
from accounts.tests.factories import PASSWORD
from accounts.tests.test_password_reset import link_from, set_password_through

pytestmark = pytest.mark.django_db

NEW = "violet-harbour-window-73"


def works(key: str) -> bool:
    response = Client().get("/api/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert response.status_code in (200, 401)
    return response.status_code == 200


def basic(username: str, password: str = PASSWORD) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def token_from(client: Client, username: str) -> str:
    response = client.post("/api/v1/tokens", headers=basic(username))
    assert response.status_code == 201, response.content
    return response.json()["token"]


# A new password ends every token ------------------------------------------


def test_password_change_on_the_page_revokes_every_token(client, alice, bob):
    _, first = api_token_create(user=alice)
    _, second = api_token_create(user=alice)
    _, bobs = api_token_create(user=bob)
    client.force_login(alice)

    response = client.post(
        "/accounts/password_change/",
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302
    assert not works(first)
    assert not works(second)
    assert works(bobs)
    assert client.get("/accounts/profile/").status_code == 200  # still signed in


def test_password_reset_through_the_mailed_link_revokes_every_token(client, alice):
    _, key = api_token_create(user=alice)
    client.post("/accounts/password_reset/", {"email": alice.email})

    set_password_through(client, link_from(mail.outbox[0]))

    assert not works(key)
    assert not ApiToken.objects.filter(user=alice).exists()


def test_password_set_in_the_admin_revokes_every_token(alice, dana):
    _, key = api_token_create(user=alice)
    coordinator = Client()
    coordinator.force_login(dana)

    response = coordinator.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert response.status_code == 302
    assert not works(key)


def test_password_disabled_in_the_admin_revokes_every_token(alice, admin_user):
    _, key = api_token_create(user=alice)
    superuser = Client()
    superuser.force_login(admin_user)

    response = superuser.post(
        f"/admin/accounts/user/{alice.pk}/password/",
        {"usable_password": "false", "unset-password": "1"},
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert not alice.has_usable_password()
    assert not works(key)


def test_saving_other_fields_keeps_the_tokens(alice):
    _, key = api_token_create(user=alice)
    alice.first_name = "Alicia"
    alice.save()
    alice.refresh_from_db()
    alice.save(update_fields=["email"])

    assert works(key)


def test_a_hash_upgrade_at_sign_in_is_no_password_change(alice, settings):
    _, key = api_token_create(user=alice)
    # The stored MD5 hash is outdated once another hasher is preferred: the
    # next sign-in rehashes the same password.
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]

    response = Client().post(
        "/accounts/login/", {"username": alice.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.password.startswith("pbkdf2_sha256$")
    assert works(key)


# Sign-out ends the tokens its session asked for -----------------------------


def test_token_asked_for_from_a_signed_in_page_records_its_session(client, alice):
    client.force_login(alice)

    token_from(client, alice.username)

    token = ApiToken.objects.get(user=alice)
    assert token.session_key == client.session.session_key


def test_token_asked_for_by_a_script_or_another_users_session_has_none(
    client, alice, bob
):
    token_from(Client(), alice.username)
    client.force_login(bob)
    token_from(client, alice.username)

    assert list(ApiToken.objects.values_list("session_key", flat=True)) == ["", ""]


@pytest.mark.parametrize(
    ("persona", "logout_url"),
    [("alice", "/accounts/logout/"), ("dana", "/admin/logout/")],
)
def test_sign_out_revokes_the_sessions_tokens_and_keeps_the_scripts(
    client, request, persona, logout_url
):
    user = request.getfixturevalue(persona)
    client.force_login(user)
    pages = token_from(client, user.username)
    other_browser = Client()
    other_browser.force_login(user)
    others = token_from(other_browser, user.username)
    scripts = token_from(Client(), user.username)

    response = client.post(logout_url)

    assert response.status_code == 302
    assert not works(pages)
    assert works(others)
    assert works(scripts)


def test_sign_out_through_the_api_session_is_the_same_sign_out(alice):
    browser = Client()
    browser.force_login(alice)
    key = token_from(browser, alice.username)
    browser.logout()

    assert not works(key)


# The profile says what outlives a sign-out ----------------------------------


def test_profile_says_which_tokens_stay_valid_after_sign_out(client, alice):
    client.force_login(alice)
    token_from(client, alice.username)
    token_from(Client(), alice.username)
    other_browser = Client()
    other_browser.force_login(alice)
    token_from(other_browser, alice.username)

    response = client.get("/accounts/profile/")

    text = " ".join(response.text.split())
    assert text.count("Stays valid after you sign out</strong>, until") == 1
    assert text.count("Ends when you sign out here, or at") == 1
    assert text.count("Ends when the other session it came from signs out") == 1
    assert "Signing out revokes the tokens this signed-in session asked for" in text
