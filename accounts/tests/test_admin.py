"""The admin's user list and sign-in locks."""

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.test import Client

from accounts.tests.factories import PASSWORD, CoordinatorFactory, StudentFactory

User = get_user_model()

USERS = "/admin/accounts/user/"


@pytest.fixture
def admin_client_(admin_user):
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def roster(db):
    StudentFactory(username="24000001", first_name="Amy", last_name="Zhang")
    StudentFactory(username="24000002", first_name="Ben", last_name="Young")
    StudentFactory(
        username="24000003", first_name="Cat", last_name="Young", is_active=False
    )
    CoordinatorFactory(username="coordzed", first_name="Zed", last_name="Xu")


def listed(response) -> list[str]:
    return sorted(u.username for u in response.context["cl"].result_list)


def test_user_list_shows_number_names_email_and_staff_flag(
    admin_client_, roster, django_assert_num_queries
):
    # session, admin user, then the changelist: counts (filtered, total),
    # the page of users, and the group filter's choices.
    with django_assert_num_queries(6):
        response = admin_client_.get(USERS)

    assert response.status_code == 200
    columns = response.context["cl"].list_display
    for column in ("username", "first_name", "last_name", "email", "is_staff"):
        assert column in columns
    assert "24000001" in response.text
    assert "24000001@student.example.edu" in response.text
    assert "Zhang" in response.text


def test_user_list_searches_by_last_name(admin_client_, roster):
    response = admin_client_.get(USERS, {"q": "Young"})

    assert listed(response) == ["24000002", "24000003"]


def test_user_list_searches_by_student_number(admin_client_, roster):
    response = admin_client_.get(USERS, {"q": "24000001"})

    assert listed(response) == ["24000001"]


def test_user_list_filters_by_staff(admin_client_, roster, admin_user):
    response = admin_client_.get(USERS, {"is_staff__exact": "1"})

    assert listed(response) == sorted(["coordzed", admin_user.username])


def test_user_list_filters_by_active(admin_client_, roster):
    response = admin_client_.get(USERS, {"is_active__exact": "0"})

    assert listed(response) == ["24000003"]


def test_admin_shows_the_profile_flags_on_a_student(admin_client_, roster):
    student = User.objects.get(username="24000001")

    response = admin_client_.get(f"{USERS}{student.pk}/change/")

    assert response.status_code == 200
    for field in ("preferred_name", "looking_for_partner", "please_assign_me"):
        assert f'name="{field}"' in response.text


def test_student_cannot_reach_the_admin(client, alice):
    client.force_login(alice)

    response = client.get(USERS)

    assert response.status_code == 302
    assert response.url.startswith("/admin/login/")


def test_coordinator_lifts_a_sign_in_lock(client, dana, alice):
    client.force_login(dana)
    student = Client()
    for _ in range(5):
        student.post("/accounts/login/", {"username": "20000001", "password": "x"})
    login = {"username": "20000001", "password": PASSWORD}
    assert student.post("/accounts/login/", login).status_code == 429
    attempt = AccessAttempt.objects.get(username="20000001")

    listing = client.get("/admin/axes/accessattempt/")
    response = client.post(
        f"/admin/axes/accessattempt/{attempt.pk}/delete/", {"post": "yes"}
    )

    assert listing.status_code == 200
    assert "20000001" in listing.text
    assert response.status_code == 302
    assert not AccessAttempt.objects.exists()
    assert student.post("/accounts/login/", login).status_code == 302
