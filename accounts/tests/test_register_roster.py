"""With PAIRUP_REGISTRATION=roster the register page mails the link instead."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.urls import reverse

from accounts.tests.factories import ImportedStudentFactory

User = get_user_model()

URL = "/accounts/register/"
NEW = "copper-kettle-sunrise-58"


@pytest.fixture(autouse=True)
def _roster_registration(settings):
    settings.PAIRUP_REGISTRATION = "roster"


@pytest.fixture
def imported(db):
    return ImportedStudentFactory(
        username="23000001", first_name="Ida", email="ida@roster.example.edu"
    )


def neutral_message(number: str) -> str:
    return (
        f"If {number} is on the unit&#x27;s roster, a link to set your password "
        "is on its way"
    )


@pytest.mark.django_db
def test_register_page_asks_only_for_the_student_number(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response.status_code == 200
    assert list(response.context["form"].fields) == ["username"]
    assert response.context["form"].fields["username"].label == "Student number"
    assert "Send me the link" in response.text
    assert "password1" not in response.text


def test_the_mode_is_read_per_request(client, settings, db):
    settings.PAIRUP_REGISTRATION = "open"

    response = client.get(URL)

    assert "password1" in response.text


def test_roster_student_gets_the_link_at_the_roster_email(client, imported):
    response = client.post(URL, {"username": "23000001"})

    assert response.status_code == 302
    assert response.url == reverse("login")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ida@roster.example.edu"]
    assert message.subject == "Set your Pair-Up password"
    assert "Hello Ida," in message.body
    assert neutral_message("23000001") in client.get(response.url).text


def test_roster_link_lets_the_student_set_a_password_and_sign_in(client, imported):
    client.post(URL, {"username": "23000001"})
    site = re.escape(settings.PAIRUP_SITE_URL)
    link = re.search(rf"{site}(/accounts/reset/\S+/)", mail.outbox[0].body)[1]

    form_url = client.get(link).url
    client.post(form_url, {"new_password1": NEW, "new_password2": NEW})

    imported.refresh_from_db()
    assert imported.check_password(NEW)
    response = client.post(
        "/accounts/login/", {"username": "23000001", "password": NEW}
    )
    assert response.url == reverse("home")


def test_sending_the_link_costs_one_lookup(client, imported, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.post(URL, {"username": "23000001"})


def test_unknown_number_gets_the_same_answer_and_no_mail(client, imported):
    known = client.post(URL, {"username": "23000001"}, follow=True)
    mail.outbox.clear()

    unknown = client.post(URL, {"username": "23999999"}, follow=True)

    assert mail.outbox == []
    assert unknown.redirect_chain == known.redirect_chain
    assert neutral_message("23999999") in unknown.text
    assert known.text.replace("23000001", "23999999") == unknown.text.replace(
        str(unknown.context["csrf_token"]), str(known.context["csrf_token"])
    )


def test_a_mail_server_failure_gives_the_same_answer(client, imported, monkeypatch):
    def refuse(self, *args, **kwargs):
        raise ConnectionRefusedError("mail server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)

    response = client.post(URL, {"username": "23000001"}, follow=True)

    assert response.status_code == 200
    assert neutral_message("23000001") in response.text


def test_roster_mode_never_creates_an_account(client, db):
    response = client.post(
        URL,
        {
            "username": "23000002",
            "first_name": "Nina",
            "last_name": "New",
            "email": "nina@example.edu",
            "password1": "lantern-quiet-meadow-42",
            "password2": "lantern-quiet-meadow-42",
        },
    )

    assert response.status_code == 302
    assert not User.objects.filter(username="23000002").exists()
    assert mail.outbox == []
    assert "_auth_user_id" not in client.session


def test_staff_account_gets_no_link(client, settings, dana):
    settings.PAIRUP_STUDENT_NUMBER_REGEX = r"^[a-z]+$"

    client.post(URL, {"username": "dana"})

    assert mail.outbox == []


def test_inactive_roster_student_gets_no_link(client, imported):
    imported.is_active = False
    imported.save(update_fields=["is_active"])

    client.post(URL, {"username": "23000001"})

    assert mail.outbox == []


def test_bad_number_is_an_error_and_kept(client, db):
    response = client.post(URL, {"username": "23-0001"})

    assert response.status_code == 200
    assert "Enter a valid student number" in response.text
    assert 'value="23-0001"' in response.text
    assert mail.outbox == []


def test_landing_and_sign_in_point_first_timers_to_the_link(client, db):
    for page in ("/", "/accounts/login/"):
        text = client.get(page).text
        assert f'href="{URL}"' in text
        assert "Create an account" not in text
