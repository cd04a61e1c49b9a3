from django import template

from notifications import calendar
from notifications.forms import EmailPreferencesForm
from notifications.services import preferences_for

register = template.Library()


@register.inclusion_tag("notifications/_profile_settings.html", takes_context=True)
def notification_settings(context):
    """The profile page's email choices and calendar feed (two queries)."""
    user = context["request"].user
    return {
        "request": context["request"],
        "user": user,
        "form": EmailPreferencesForm(initial_choices=preferences_for(user)),
        "feed_url": calendar.feed_url(calendar.feed_for_user(user)),
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def bell_count(value) -> str:
    """The bell's badge: the count, or "99+"."""
    count = int(value or 0)
    return "99+" if count > 99 else str(count)
