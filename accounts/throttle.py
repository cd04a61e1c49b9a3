"""Limits counted in Django's cache: set-password links, failed sign-ins
per address, and wrong old passwords on the password-change page.

Sign-in failures per (number, address) are django-axes' business. The link
limits keep the two link pages (password reset, roster registration) from
being used to flood an inbox or to hammer the mail server; an account over
its limit is skipped silently, so the pages still say the same thing whether
a number or address exists. The per-address sign-in limit stops one address
from trying number after number: every try costs a password hash (0.23 s of
a core), which axes' per-pair lock never stops.

The password-change page checks the old password without axes (a sign-in
lock there would let whoever holds a stolen session lock the owner out): its
own limit, per account and with the sign-in numbers, stops that session from
guessing the password.
"""

import math

from django.conf import settings

from pairup.ratelimit import Window

LINK_REQUESTS_PER_ADDRESS = 10
LINK_REQUEST_WINDOW = 15 * 60
LINK_MAILS_PER_ACCOUNT = 3
LINK_MAIL_WINDOW = 60 * 60


def link_request_retry_after(request) -> int | None:
    """Count one link request from the request's address; return None while
    the address is within its limit, else the seconds until it may ask
    again."""
    address = request.META.get("REMOTE_ADDR", "")
    window = Window(
        f"pairup:link-requests:{address}",
        LINK_REQUESTS_PER_ADDRESS,
        LINK_REQUEST_WINDOW,
    )
    return window.hit()


def link_request_message(retry_after: int) -> str:
    return (
        "Too many password links were asked for from your network. "
        f"Please wait {wait_text(retry_after)} and try again."
    )


def link_mail_allowed(user_id: int) -> bool:
    window = Window(
        f"pairup:link-mails:{user_id}", LINK_MAILS_PER_ACCOUNT, LINK_MAIL_WINDOW
    )
    return window.hit() is None


# Failed sign-ins per address, across student numbers -------------------


def _login_failures(request) -> Window:
    address = request.META.get("REMOTE_ADDR", "")
    return Window(
        f"pairup:login-failures:{address}",
        settings.PAIRUP_LOGIN_ADDRESS_LIMIT,
        settings.PAIRUP_LOGIN_COOLOFF_MINUTES * 60,
    )


def login_failure_record(request) -> None:
    """Count one failed sign-in from the request's address."""
    _login_failures(request).hit()


def login_address_retry_after(request) -> int | None:
    """Return the seconds to wait when the request's address has used up its
    failed sign-ins for this window, else None. Counts nothing: call it
    before any password is hashed."""
    return _login_failures(request).retry_after()


def login_address_message(retry_after: int) -> str:
    return (
        "Too many failed sign-ins came from your network. Please wait "
        f"{wait_text(retry_after)} and try again."
    )


# Wrong old passwords on the password-change page, per account -----------


def _old_password_checks(user_id: int) -> Window:
    return Window(
        f"pairup:old-password-failures:{user_id}",
        settings.PAIRUP_LOGIN_FAILURE_LIMIT,
        settings.PAIRUP_LOGIN_COOLOFF_MINUTES * 60,
    )


def old_password_check_count(user_id: int) -> int | None:
    """Count one check of the account's old password; return None while the
    account is within its limit, else the seconds to wait. Call it before the
    password is checked (so concurrent tries can't slip past the limit), and
    `old_password_check_uncount` when the check doesn't happen or the
    password is right: only wrong ones count."""
    return _old_password_checks(user_id).hit()


def old_password_check_uncount(user_id: int) -> None:
    _old_password_checks(user_id).unhit()


def old_password_message(retry_after: int) -> str:
    return (
        "Your old password was entered incorrectly too many times. "
        f"Please wait {wait_text(retry_after)} and try again."
    )


def wait_text(seconds: int) -> str:
    """Return a wait in whole minutes, rounded up: "1 minute", "7 minutes"."""
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
