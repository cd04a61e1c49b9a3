"""Mailed links point at PAIRUP_SITE_URL, never at the request's Host
(issue 14, also tighten): a forged Host can't steal a reset token."""

import re

import pytest
from django.core import mail

from accounts.tests.factories import ImportedStudentFactory

pytestmark = pytest.mark.django_db

SITE = "https://pairup.example.edu:8443"


@pytest.fixture(autouse=True)
def _site(settings):
    settings.PAIRUP_SITE_URL = SITE
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "evil.example"]


def links(message) -> list[str]:
    return re.findall(r"\w+://\S+", message.body)


def test_a_reset_asked_for_with_a_forged_host_mails_the_configured_site(client, alice):
    response = client.post(
        "/accounts/password_reset/", {"email": alice.email}, HTTP_HOST="evil.example"
    )

    assert response.status_code == 302
    [message] = mail.outbox
    [link] = links(message)
    assert link.startswith(f"{SITE}/accounts/reset/")
    assert "evil.example" not in message.body
    assert "evil.example" not in message.subject


def test_a_roster_link_with_a_forged_host_mails_the_configured_site(client, settings):
    settings.PAIRUP_REGISTRATION = "roster"
    ImportedStudentFactory(username="23000001", email="ida@roster.example.edu")

    client.post(
        "/accounts/register/",
        {"username": "23000001"},
        HTTP_HOST="evil.example",
        HTTP_X_FORWARDED_PROTO="http",
    )

    [message] = mail.outbox
    [link] = links(message)
    assert link.startswith(f"{SITE}/accounts/reset/")


def test_the_mailed_link_works_on_the_site(client, alice):
    client.post("/accounts/password_reset/", {"email": alice.email})
    [link] = links(mail.outbox[0])
    path = link.removeprefix(SITE)

    response = client.get(path)

    assert response.status_code == 302  # Django swaps the token for a session
    assert "set-password" in response.url
