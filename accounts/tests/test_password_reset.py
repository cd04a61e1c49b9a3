import re

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse

from accounts.tests.factories import ImportedStudentFactory

URL = "/accounts/password_reset/"
NEW = "copper-kettle-sunrise-58"


def link_from(message) -> str:
    site = re.escape(settings.PAIRUP_SITE_URL)
    match = re.search(rf"{site}(/accounts/reset/\S+/)", message.body)
    assert match, message.body
    return match[1]


def set_password_through(client, link: str) -> None:
    """Follow a mailed link and choose NEW as the password."""
    response = client.get(link)
    assert response.status_code == 302  # Django swaps the token for a session key
    form_url = response.url
    response = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert response.status_code == 302
    assert response.url == reverse("password_reset_complete")


def test_reset_url_is_the_designed_one():
    assert reverse("password_reset") == URL


@pytest.mark.django_db
def test_reset_page_asks_for_the_email(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response.status_code == 200
    assert "Set or reset your password" in response.text
    assert list(response.context["form"].fields) == ["email"]


@pytest.mark.django_db
def test_imported_student_gets_a_link_and_sets_a_first_password(client):
    student = ImportedStudentFactory(username="22000001", email="ida@example.edu")
    assert not student.has_usable_password()

    response = client.post(URL, {"email": "ida@example.edu"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ida@example.edu"]
    assert message.subject == "Set your Pair-Up password"
    assert "22000001" in message.body
    set_password_through(client, link_from(message))
    student.refresh_from_db()
    assert student.check_password(NEW)
    response = client.post(
        "/accounts/login/", {"username": "22000001", "password": NEW}
    )
    assert response.status_code == 302
    assert response.url == reverse("home")


@pytest.mark.django_db
def test_student_who_forgot_the_password_resets_it(client, alice):
    client.post(URL, {"email": "20000001@Student.Example.edu"})

    assert [m.to for m in mail.outbox] == [["20000001@student.example.edu"]]
    set_password_through(client, link_from(mail.outbox[0]))
    alice.refresh_from_db()
    assert alice.check_password(NEW)


@pytest.mark.django_db
def test_a_link_works_once(client, alice):
    client.post(URL, {"email": alice.email})
    link = link_from(mail.outbox[0])
    set_password_through(client, link)

    response = client.get(link, follow=True)

    assert "This link no longer works" in response.text


@pytest.mark.django_db
def test_unknown_email_gets_the_same_page_and_no_mail(client, alice):
    response = client.post(URL, {"email": "nobody@example.edu"})

    assert response.status_code == 302
    assert response.url == reverse("password_reset_done")
    assert mail.outbox == []


@pytest.mark.django_db
def test_inactive_account_gets_no_mail(client, alice):
    alice.is_active = False
    alice.save(update_fields=["is_active"])

    client.post(URL, {"email": alice.email})

    assert mail.outbox == []


@pytest.mark.django_db
def test_mail_goes_to_the_stored_address_not_the_typed_one(client, make_student):
    make_student(username="22000003", email="Sam@Example.org")

    client.post(URL, {"email": "sam@example.org"})

    assert [m.to for m in mail.outbox] == [["Sam@Example.org"]]


USERNAME_HINT = re.compile(r"<input\b[^>]*\bautocomplete=\"username\"[^>]*>")


@pytest.mark.django_db
def test_the_new_password_form_names_the_account_for_password_managers(client, alice):
    client.post(URL, {"email": alice.email})
    form_url = client.get(link_from(mail.outbox[0])).url

    page = client.get(form_url).text

    hints = USERNAME_HINT.findall(page)
    assert len(hints) == 1, page
    assert 'value="20000001"' in hints[0]
    assert re.search(r"\shidden[\s/>]", hints[0])  # not shown
    assert re.search(r"\sreadonly[\s/>]", hints[0])


@pytest.mark.django_db
def test_a_dead_link_names_no_account(client, alice):
    client.post(URL, {"email": alice.email})
    link = link_from(mail.outbox[0])
    set_password_through(client, link)

    page = client.get(link, follow=True).text

    assert "This link no longer works" in page
    assert not USERNAME_HINT.search(page)
    assert "20000001" not in page
