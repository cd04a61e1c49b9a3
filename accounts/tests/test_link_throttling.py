"""Set-password links: limited per account (silently) and per address."""

from types import SimpleNamespace

import pytest
from django.core import mail

from accounts.tests.factories import ImportedStudentFactory
from accounts.throttle import (
    LINK_MAILS_PER_ACCOUNT,
    LINK_REQUEST_WINDOW,
    LINK_REQUESTS_PER_ADDRESS,
)

RESET_URL = "/accounts/password_reset/"
REGISTER_URL = "/accounts/register/"


def clock_at(monkeypatch, seconds_into_window):
    """Put the rate limits' clock this far into a link-request window."""
    now = LINK_REQUEST_WINDOW * 2_000_000 + seconds_into_window
    monkeypatch.setattr("pairup.ratelimit.time", SimpleNamespace(time=lambda: now))


@pytest.fixture(autouse=True)
def _mid_window(monkeypatch):
    # 7.5 minutes into the window, so no test straddles its end.
    clock_at(monkeypatch, 450)


@pytest.fixture
def imported(db):
    return ImportedStudentFactory(username="24000001", email="ivy@example.edu")


def test_an_account_gets_only_a_few_reset_mails_an_hour(client, imported):
    for _ in range(LINK_MAILS_PER_ACCOUNT + 2):
        response = client.post(RESET_URL, {"email": "ivy@example.edu"})
        assert response.status_code == 302  # the same answer every time

    assert len(mail.outbox) == LINK_MAILS_PER_ACCOUNT


def test_one_address_asking_too_often_is_told_to_wait(client, db):
    for number in range(LINK_REQUESTS_PER_ADDRESS):
        response = client.post(RESET_URL, {"email": f"nobody{number}@example.edu"})
        assert response.status_code == 302

    response = client.post(RESET_URL, {"email": "ivy@example.edu"})

    assert response.status_code == 429
    assert "Please wait 8 minutes and try again." in response.text  # 450 s left
    assert response["Retry-After"] == "450"
    assert response.context["form"]["email"].value() == "ivy@example.edu"


def test_the_wait_shrinks_as_the_window_runs_out(client, db, monkeypatch):
    for number in range(LINK_REQUESTS_PER_ADDRESS):
        client.post(RESET_URL, {"email": f"nobody{number}@example.edu"})
    clock_at(monkeypatch, LINK_REQUEST_WINDOW - 30)

    response = client.post(RESET_URL, {"email": "ivy@example.edu"})

    assert response.status_code == 429
    assert "Please wait 1 minute and try again." in response.text
    assert response["Retry-After"] == "30"


def test_the_next_window_takes_requests_again(client, imported, monkeypatch):
    for number in range(LINK_REQUESTS_PER_ADDRESS + 1):
        client.post(RESET_URL, {"email": f"nobody{number}@example.edu"})
    clock_at(monkeypatch, LINK_REQUEST_WINDOW + 1)

    response = client.post(RESET_URL, {"email": "ivy@example.edu"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_another_address_is_not_affected(client, imported):
    for number in range(LINK_REQUESTS_PER_ADDRESS + 1):
        client.post(RESET_URL, {"email": f"nobody{number}@example.edu"})

    response = client.post(
        RESET_URL, {"email": "ivy@example.edu"}, REMOTE_ADDR="10.9.8.7"
    )

    assert response.status_code == 302
    assert len(mail.outbox) == 1


def test_roster_links_share_the_per_account_limit(client, settings, imported):
    settings.PAIRUP_REGISTRATION = "roster"
    for _ in range(LINK_MAILS_PER_ACCOUNT + 2):
        response = client.post(REGISTER_URL, {"username": "24000001"})
        assert response.status_code == 302

    client.post(RESET_URL, {"email": "ivy@example.edu"})

    assert len(mail.outbox) == LINK_MAILS_PER_ACCOUNT


def test_roster_page_tells_a_busy_address_to_wait(client, settings, db):
    settings.PAIRUP_REGISTRATION = "roster"
    for number in range(LINK_REQUESTS_PER_ADDRESS):
        client.post(REGISTER_URL, {"username": f"{25000000 + number}"})

    response = client.post(REGISTER_URL, {"username": "24000001"})

    assert response.status_code == 429
    assert "Please wait 8 minutes and try again." in response.text
    assert response["Retry-After"] == "450"
