"""The notifications page, reading them, email choices and the calendar feed.

Everything works without JavaScript: the bell is a link to the list, each
notification a link that marks it read on the way to where it acts.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST, require_safe

from notifications import calendar, selectors, services
from notifications.forms import EmailPreferencesForm

MAX_ID = 2**63 - 1


def _before(request) -> int | None:
    value = request.GET.get("before", "")
    # ASCII digits only, and few: str.isdigit() accepts "²" (int() refuses
    # it) and other scripts' digits (int() reads them), and int() refuses
    # more than 4300 digits.
    if (
        value.isascii()
        and value.isdigit()
        and len(value) <= len(str(MAX_ID))
        and 0 < int(value) <= MAX_ID
    ):
        return int(value)
    return None


@login_required
@require_safe
def notification_list(request):
    before = _before(request)
    notifications, more = selectors.notification_page(user=request.user, before=before)
    return render(
        request,
        "notifications/notification_list.html",
        {
            "notifications": notifications,
            "older": notifications[-1].pk if more else None,
            "paged": before is not None,
        },
    )


@login_required
@require_POST
def notifications_read(request):
    services.notifications_mark_read(user=request.user)
    messages.success(request, "All your notifications are marked read.")
    return redirect("notifications:notification_list")


@login_required
@require_safe
def notification_open(request, notification_id):
    """Mark one notification read and go where it acts.

    An email's link carries where it acts as `next`: once the notification
    is gone (kept 90 days) or opened by another signed-in user, the link
    still goes there, the same answer for both (that page checks access).
    """
    try:
        notification = selectors.notification_get_for_user(
            user=request.user, notification_id=notification_id
        )
    except Http404:
        target = request.GET.get("next", "")
        if target.startswith("/") and url_has_allowed_host_and_scheme(
            target, allowed_hosts={request.get_host()}
        ):
            return redirect(target)
        raise
    if notification.read_at is None:
        services.notifications_mark_read(user=request.user, ids=[notification.pk])
    target = notification.link
    if not target or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        target = reverse("notifications:notification_list")
    return redirect(target)


@login_required
@require_POST
def preferences_save(request):
    form = EmailPreferencesForm(request.POST)
    form.is_valid()  # checkboxes: every input is valid
    services.preferences_update(user=request.user, email=form.cleaned_data)
    messages.success(request, "Your email choices were saved.")
    return redirect(reverse("profile") + "#notifications")


@login_required
@require_POST
def calendar_regenerate(request):
    had = calendar.feed_for_user(request.user) is not None
    calendar.calendar_feed_regenerate(user=request.user)
    messages.success(
        request,
        "Your calendar feed has a new address: the old one no longer works."
        if had
        else "Your calendar feed is ready: subscribe to its address below.",
    )
    return redirect(reverse("profile") + "#calendar")


@login_required
@require_POST
def calendar_revoke(request):
    if calendar.calendar_feed_revoke(user=request.user):
        messages.success(request, "Your calendar feed was turned off.")
    else:  # turned off already (another tab, a second click)
        messages.info(request, "Your calendar feed was already off.")
    return redirect(reverse("profile") + "#calendar")


@require_safe
def calendar_feed(request, token):
    """The user's slots as iCalendar, for calendar apps to subscribe to."""
    feed = calendar.feed_from_token(token)
    if feed is None:
        raise Http404("No such calendar.")
    response = HttpResponse(
        calendar.feed_calendar(feed.user), content_type="text/calendar; charset=utf-8"
    )
    response["Content-Disposition"] = 'inline; filename="pairup.ics"'
    response["Cache-Control"] = "private, max-age=300"
    response["X-Robots-Tag"] = "noindex"
    return response
