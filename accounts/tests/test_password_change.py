import re
from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import PASSWORD

URL = "/accounts/password_change/"
NEW = "violet-harbour-window-73"
WINDOW = 15 * 60


def change(client, old=PASSWORD, new=NEW):
    return client.post(
        URL, {"old_password": old, "new_password1": new, "new_password2": new}
    )


@pytest.fixture
def clock(monkeypatch):
    """Move the rate limits' clock: `clock(s)` puts it s seconds into a
    15-minute window. It starts 450 s in, so no test straddles an edge."""

    def move(seconds_into_window):
        now = WINDOW * 2_000_000 + seconds_into_window
        monkeypatch.setattr("pairup.ratelimit.time", SimpleNamespace(time=lambda: now))

    move(450)
    return move


def use_up_the_old_password_tries(client):
    for _ in range(5):
        response = change(client, old="wrong")
        assert response.status_code == 200
        assert "Your old password was entered incorrectly" in response.text


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


@pytest.mark.django_db
def test_after_five_wrong_old_passwords_the_form_is_refused(client, alice, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)

    response = change(client)  # the right one, too late

    assert response.status_code == 429
    assert response["Retry-After"] == "450"
    assert (
        "Your old password was entered incorrectly too many times. "
        "Please wait 8 minutes and try again."
    ) in response.text
    alice.refresh_from_db()
    assert alice.check_password(PASSWORD)


@pytest.mark.django_db
def test_the_refusal_is_announced_to_screen_readers(client, alice, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)

    page = change(client).text

    boxes = re.findall(r"<div\b[^>]*\brole=\"alert\"[^>]*>.*?</div>", page, re.S)
    assert len(boxes) == 1, page
    assert "entered incorrectly too many times" in boxes[0]


@pytest.mark.django_db
def test_a_refused_try_checks_no_password(client, alice, clock, monkeypatch):
    client.force_login(alice)
    use_up_the_old_password_tries(client)
    checks = []
    monkeypatch.setattr(
        type(alice), "check_password", lambda user, raw: checks.append(raw)
    )

    assert change(client, old="another-guess").status_code == 429
    assert checks == []


@pytest.mark.django_db
def test_the_wait_is_what_is_left_of_the_window(client, alice, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)
    clock(WINDOW - 45)

    response = change(client)

    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert "Please wait 1 minute and try again." in response.text


@pytest.mark.django_db
def test_the_right_old_password_works_once_the_window_has_passed(client, alice, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)
    clock(WINDOW + 1)

    response = change(client)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert alice.check_password(NEW)


@pytest.mark.django_db
def test_right_old_passwords_do_not_count(client, alice, clock):
    client.force_login(alice)
    for _ in range(4):
        change(client, old="wrong")
    for _ in range(3):  # right old password, new one refused
        assert change(client, new="12345678").status_code == 200

    response = change(client)

    assert response.status_code == 302


@pytest.mark.django_db
def test_another_student_is_not_affected(client, alice, bob, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)
    other = Client()
    other.force_login(bob)

    response = change(other)

    assert response.status_code == 302
    bob.refresh_from_db()
    assert bob.check_password(NEW)


@pytest.mark.django_db
def test_the_refused_student_still_signs_in(client, alice, clock):
    client.force_login(alice)
    use_up_the_old_password_tries(client)
    assert change(client).status_code == 429

    elsewhere = Client()
    response = elsewhere.post(
        "/accounts/login/", {"username": alice.username, "password": PASSWORD}
    )

    assert response.status_code == 302
    assert client.get("/accounts/profile/").status_code == 200
