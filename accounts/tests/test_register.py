import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

User = get_user_model()

URL = "/accounts/register/"
GOOD = {
    "username": "21234567",
    "first_name": "Rosa",
    "last_name": "Rivera",
    "preferred_name": "Ro",
    "email": "rosa@student.example.edu",
    "password1": "lantern-quiet-meadow-42",
    "password2": "lantern-quiet-meadow-42",
}


@pytest.fixture(autouse=True)
def _open_registration(settings):
    settings.PAIRUP_REGISTRATION = "open"


def test_register_url_is_the_designed_one():
    assert reverse("register") == URL


@pytest.mark.django_db
def test_register_page_shows_the_designed_fields(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(URL)

    assert response.status_code == 200
    form = response.context["form"]
    assert list(form.fields) == [
        "username",
        "first_name",
        "last_name",
        "preferred_name",
        "email",
        "password1",
        "password2",
    ]
    assert form.fields["username"].label == "Student number"
    assert form.fields["preferred_name"].required is False
    assert re.search(r'<label\s+for="id_username"', response.text)


@pytest.mark.django_db
def test_registering_creates_the_student_signs_in_and_goes_to_the_dashboard(client):
    assert not User.objects.filter(username="21234567").exists()

    response = client.post(URL, GOOD)

    assert response.status_code == 302
    assert response.url == reverse("home")
    user = User.objects.get(username="21234567")
    assert (user.first_name, user.last_name, user.preferred_name, user.email) == (
        "Rosa",
        "Rivera",
        "Ro",
        "rosa@student.example.edu",
    )
    assert user.check_password(GOOD["password1"])
    assert user.is_student
    assert int(client.session["_auth_user_id"]) == user.pk
    dashboard = client.get(response.url)
    assert "Hello, Ro" in dashboard.text
    assert "Welcome to Pair-Up, Ro!" in dashboard.text


@pytest.mark.django_db
def test_registering_costs_a_bounded_number_of_queries(
    client, django_assert_num_queries
):
    # The number is checked by the form, the model form and the service; the
    # user and the session are inserted (savepoints around each); axes reads
    # attempts twice and logs the sign-in; last_login and the session are
    # updated.
    with django_assert_num_queries(17):
        response = client.post(URL, GOOD)

    assert response.status_code == 302


@pytest.mark.django_db
def test_signed_in_user_on_register_goes_to_the_dashboard(client, alice):
    client.force_login(alice)

    response = client.get(URL)

    assert response.status_code == 302
    assert response.url == reverse("home")


def test_register_refuses_other_methods(client):
    response = client.put(URL)

    assert response.status_code == 405


def without_csrf_token(html: str) -> str:
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", html)


def assert_kept_typed_names(response):
    assert response.status_code == 200
    assert 'value="Rosa"' in response.text
    assert 'value="Rivera"' in response.text
    assert 'value="Ro"' in response.text
    assert 'value="rosa@student.example.edu"' in response.text


@pytest.mark.django_db
def test_mismatched_passwords_give_an_error_and_keep_the_names(client):
    response = client.post(URL, {**GOOD, "password2": "something-else-entirely-9"})

    assert_kept_typed_names(response)
    assert "The two password fields didn" in response.text
    assert not User.objects.filter(username="21234567").exists()


@pytest.mark.django_db
def test_weak_password_gives_an_error_and_keeps_the_names(client):
    response = client.post(
        URL, {**GOOD, "password1": "password", "password2": "password"}
    )

    assert_kept_typed_names(response)
    assert "This password is too common." in response.text
    assert not User.objects.filter(username="21234567").exists()


@pytest.mark.django_db
def test_password_like_the_name_is_refused(client):
    response = client.post(
        URL, {**GOOD, "password1": "RosaRivera1", "password2": "RosaRivera1"}
    )

    assert "too similar" in response.text
    assert not User.objects.filter(username="21234567").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("number", ["1234567", "123456789", "2123456a", "abcdefgh"])
def test_bad_student_number_gives_an_error_and_keeps_the_names(client, number):
    response = client.post(URL, {**GOOD, "username": number})

    assert_kept_typed_names(response)
    assert response.context["form"].errors == {
        "username": ["Enter a valid student number (as printed on your student card)."]
    }
    assert response.text.count("Enter a valid student number") == 1
    assert f'value="{number}"' in response.text
    assert not User.objects.filter(username=number).exists()


@pytest.mark.django_db
def test_student_number_pattern_is_read_from_settings(client, settings):
    settings.PAIRUP_STUDENT_NUMBER_REGEX = r"^s[0-9]{7}$"

    response = client.post(URL, {**GOOD, "username": "s1234567"})

    assert response.status_code == 302
    assert User.objects.filter(username="s1234567").exists()


@pytest.mark.django_db
def test_missing_required_fields_are_named(client):
    response = client.post(URL, {**GOOD, "first_name": "", "email": ""})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"first_name", "email"}
    assert not User.objects.filter(username="21234567").exists()


@pytest.mark.django_db
def test_taken_number_says_so_offers_the_link_and_keeps_the_names(client, make_student):
    make_student(username="21234567", email="other@student.example.edu")

    response = client.post(URL, GOOD)

    assert_kept_typed_names(response)
    assert "An account with this student number already exists." in response.text
    # Only that: the number itself is valid.
    assert response.context["form"].errors == {
        "username": ["An account with this student number already exists."]
    }
    assert "Enter a valid student number" not in response.text
    assert f'href="{reverse("password_reset")}"' in response.text
    assert "set or reset your password" in response.text
    assert User.objects.filter(username="21234567").count() == 1
    assert mail.outbox == []


@pytest.mark.django_db
def test_number_taken_after_the_form_checked_it_says_so_not_a_server_error(
    client, monkeypatch
):
    """A double-clicked "Create account": the first request creates the
    account while the second, its form checked, hashes the password."""
    from accounts import services

    register = services.user_register

    def lose_the_race(**fields):
        User.objects.create_user(username=fields["username"], password="first-wins-7")
        return register(**fields)

    monkeypatch.setattr("accounts.views.user_register", lose_the_race)

    response = client.post(URL, GOOD)

    assert_kept_typed_names(response)
    assert response.context["form"].errors == {
        "username": ["An account with this student number already exists."]
    }
    assert f'href="{reverse("password_reset")}"' in response.text
    assert "_auth_user_id" not in client.session
    assert User.objects.get(username="21234567").first_name == ""


@pytest.mark.django_db
def test_number_taken_between_the_last_check_and_the_insert_says_so(
    client, monkeypatch
):
    """Two submits at once: both pass every check, one insert wins."""
    from accounts import services

    full_clean = User.full_clean
    register = services.user_register

    def clean_then_lose_the_race(user, *args, **kwargs):
        full_clean(user, *args, **kwargs)
        User.objects.create_user(username=user.username, password="first-wins-7")

    def register_losing_at_the_insert(**fields):
        monkeypatch.setattr(User, "full_clean", clean_then_lose_the_race)
        return register(**fields)

    monkeypatch.setattr("accounts.views.user_register", register_losing_at_the_insert)

    response = client.post(URL, GOOD)

    assert_kept_typed_names(response)
    assert response.context["form"].errors == {
        "username": ["An account with this student number already exists."]
    }
    assert "_auth_user_id" not in client.session
    assert not User.objects.filter(first_name="Rosa").exists()


@pytest.mark.django_db
def test_taken_number_answers_alike_whether_or_not_the_email_matched(
    client, make_student
):
    owner = make_student(username="21234567", email="rosa@student.example.edu")

    matching = client.post(URL, GOOD)
    other = client.post(URL, {**GOOD, "email": "someone@else.example.edu"})

    assert matching.context["form"].errors == other.context["form"].errors
    assert without_csrf_token(matching.text) == without_csrf_token(
        other.text.replace("someone@else.example.edu", GOOD["email"])
    )
    owner.refresh_from_db()
    assert owner.first_name != "Rosa"


@pytest.mark.django_db
def test_taken_number_is_matched_whatever_its_case(client, settings, make_student):
    settings.PAIRUP_STUDENT_NUMBER_REGEX = r"^[a-z][0-9]{7}$|^[A-Z][0-9]{7}$"
    make_student(username="s1234567")

    response = client.post(URL, {**GOOD, "username": "S1234567"})

    assert "already exists" in response.text
    assert not User.objects.filter(username="S1234567").exists()


@pytest.mark.django_db(transaction=True)
def test_submits_at_the_same_instant_make_one_account_and_no_server_error():
    """A double-click for real: threads posting the same form at once on
    the file database; one account, every other submit told so."""
    import threading

    from django.db import connection
    from django.test import Client

    submits = 6
    barrier = threading.Barrier(submits)
    answers = [None] * submits

    def submit(index):
        try:
            client = Client(raise_request_exception=False)
            barrier.wait(timeout=10)
            response = client.post(URL, GOOD)
            answers[index] = (response.status_code, response.text)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(submits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    codes = sorted(code for code, _ in answers)
    assert codes == [200] * (submits - 1) + [302]
    refused = [text for code, text in answers if code == 200]
    for text in refused:
        assert "An account with this student number already exists." in text, text[
            text.find("<main") :
        ][:1500]
    assert User.objects.filter(username=GOOD["username"]).count() == 1
