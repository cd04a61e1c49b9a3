from django import template

from pairup.dates import CLOCK, local_text, slot_label

register = template.Library()


@register.filter
def slot(lab) -> str:
    """Format a slot as "Wed 20 May 2026, 16:05-16:20 · CSSE 2.01" in local time."""
    return slot_label(lab) if lab else ""


@register.filter
def local_time(value) -> str:
    """Format a moment as "16:05" in the unit's time zone."""
    return local_text(value, CLOCK)


@register.filter
def iso(value) -> str:
    """Format a moment as ISO 8601 (with offset) for data attributes."""
    return value.isoformat() if value else ""
