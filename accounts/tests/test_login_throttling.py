"""Sign-in throttling (docs/rules.md, rule 10) through django-axes."""

from datetime import timedelta

import pytest
from axes.models import AccessAttempt
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import PASSWORD
from accounts.tests.test_password_reset import NEW, link_from

URL = "/accounts/login/"


def fail(client, number="20000001", address="10.0.0.1"):
    return client.post(
        URL, {"username": number, "password": "wrong"}, REMOTE_ADDR=address
    )


def sign_in(client, number="20000001", address="10.0.0.1"):
    return client.post(
        URL, {"username": number, "password": PASSWORD}, REMOTE_ADDR=address
    )


@pytest.mark.django_db
def test_four_failures_still_allow_the_right_password(client, alice):
    for _ in range(4):
        assert fail(client).status_code == 200

    response = sign_in(client)

    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.django_db
def test_fifth_failure_locks_with_a_clear_page(client, alice):
    for _ in range(4):
        fail(client)

    response = fail(client)

    assert response.status_code == 429
    assert "Too many failed sign-ins" in response.text
    assert "locked for 15 minutes after" in response.text
    assert "5 failed attempts" in response.text
    assert f'href="{reverse("password_reset")}"' in response.text


@pytest.mark.django_db
def test_locked_pair_is_refused_even_with_the_right_password(client, alice):
    for _ in range(5):
        fail(client)

    response = sign_in(client)

    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_lock_leaves_other_numbers_from_the_same_address_alone(client, alice, bob):
    for _ in range(5):
        fail(client, number="20000001")

    response = sign_in(Client(), number="20000002")

    assert response.status_code == 302


@pytest.mark.django_db
def test_lock_leaves_the_same_number_from_another_address_alone(client, alice):
    for _ in range(5):
        fail(client, address="10.0.0.1")

    response = sign_in(Client(), address="10.0.0.2")

    assert response.status_code == 302


@pytest.mark.django_db
def test_lock_lifts_after_the_cool_off(client, alice):
    for _ in range(5):
        fail(client)
    assert sign_in(client).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert sign_in(client).status_code == 302


@pytest.mark.django_db
def test_trying_again_while_locked_does_not_extend_the_lock(client, alice):
    """The page says 15 minutes: a student who tries once more at minute 10
    still gets in at minute 16."""
    for _ in range(5):
        fail(client)
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=10)
    )
    assert sign_in(client).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=6)
    )

    assert sign_in(client).status_code == 302


@pytest.mark.django_db
def test_the_limit_and_cool_off_come_from_settings(client, settings, alice):
    settings.AXES_FAILURE_LIMIT = 2

    fail(client)
    response = fail(client)

    assert response.status_code == 429


@pytest.mark.django_db
def test_failures_of_a_nonexistent_number_lock_that_number_too(client):
    for _ in range(5):
        response = fail(client, number="29999999")

    assert response.status_code == 429


@pytest.mark.django_db
def test_a_successful_sign_in_resets_the_count(client, alice):
    for _ in range(4):
        fail(client)
    sign_in(client)
    client.post("/accounts/logout/")

    for _ in range(4):
        response = fail(client)

    assert response.status_code == 200


@pytest.mark.django_db
def test_lock_page_says_a_new_password_does_not_lift_the_lock(client, alice):
    """Setting a new password through the mailed link leaves the lock to run
    its course (rule 10), so the page must not offer it as a way out."""
    for _ in range(5):
        fail(client)
    client.post(reverse("password_reset"), {"email": alice.email})
    response = client.get(link_from(mail.outbox[0]))
    client.post(response.url, {"new_password1": NEW, "new_password2": NEW})

    response = client.post(
        URL, {"username": alice.username, "password": NEW}, REMOTE_ADDR="10.0.0.1"
    )

    assert response.status_code == 429
    text = " ".join(response.text.split())
    assert "Wait and try again, or" not in text
    assert "A new password works once the lock has run out." in text
    assert f'href="{reverse("password_reset")}"' in response.text
