"""What each kind of notification says, and which email category it is in."""

from dataclasses import dataclass

from notifications.models import Category, Kind, Notification


@dataclass(frozen=True)
class KindInfo:
    category: str
    # `str.format` template over the caller's params (user text is only ever
    # substituted, never parsed as a template).
    text: str


KINDS: dict[str, KindInfo] = {
    Kind.INVITATION_RECEIVED: KindInfo(
        Category.INVITATIONS, "{actor} invited you to join {team} (“{description}”)."
    ),
    Kind.INVITATION_ACCEPTED: KindInfo(
        Category.INVITATIONS, "{actor} accepted the invitation and joined {team}."
    ),
    Kind.INVITATION_DECLINED: KindInfo(
        Category.INVITATIONS, "{actor} declined the invitation to join {team}."
    ),
    Kind.INVITATION_CANCELLED: KindInfo(
        Category.INVITATIONS, "The invitation to join {team} was withdrawn: {reason}."
    ),
    Kind.SLOT_BOOKED: KindInfo(
        Category.BOOKINGS, "{actor} booked the lab slot {slot} for {team}."
    ),
    Kind.SLOT_MOVED: KindInfo(
        Category.BOOKINGS, "{actor} moved {team} from {old_slot} to {slot}."
    ),
    Kind.SLOT_RELEASED: KindInfo(
        Category.BOOKINGS,
        "{actor} released the lab slot {old_slot} of {team}: your team has no slot now.",
    ),
    Kind.TEAM_DISSOLVED: KindInfo(
        Category.TEAM,
        "{actor} dissolved {team}{released}. You can start or join another project.",
    ),
    Kind.MEMBER_ADDED: KindInfo(Category.TEAM, "{actor} added you to {team}."),
    Kind.MEMBER_REMOVED: KindInfo(Category.TEAM, "{actor} removed you from {team}."),
    Kind.TEAMMATE_ADDED: KindInfo(Category.TEAM, "{actor} added {member} to {team}."),
    Kind.TEAMMATE_REMOVED: KindInfo(
        Category.TEAM, "{actor} removed {member} from {team}."
    ),
    Kind.SLOT_REMINDER: KindInfo(
        Category.REMINDERS, "Reminder: {team} presents {when}, {slot}."
    ),
    # `next_step`: what the student can do (see reminders.BOOKING_OPENS_NEXT_STEP).
    Kind.BOOKING_OPENS: KindInfo(Category.REMINDERS, "{when} {next_step}"),
    Kind.ANNOUNCEMENT: KindInfo(Category.ANNOUNCEMENTS, "{actor}: {message}"),
    Kind.BALLOT_PLACED: KindInfo(
        Category.BOOKINGS, "The ballot gave {team} the lab slot {slot} ({choice})."
    ),
    Kind.BALLOT_UNPLACED: KindInfo(
        Category.BOOKINGS,
        "The ballot gave {team} no slot{reason}. Book one first come from {opens}.",
    ),
}

# Email is on unless the user turned it off for these; off unless turned on
# for the rest. Team changes are on too: a dissolved team or a removal frees
# the student's slot, as much as a released booking does.
EMAIL_ON_BY_DEFAULT = frozenset(
    {Category.INVITATIONS, Category.BOOKINGS, Category.REMINDERS, Category.TEAM}
)


# What the text column holds. Only names near their 150-character limit
# (several of them, in a big team) come close.
TEXT_MAX = Notification._meta.get_field("text").max_length


def render_text(kind: str, params: dict) -> str:
    text = KINDS[kind].text.format(**params)
    if len(text) > TEXT_MAX:
        # PostgreSQL refuses a longer value, and nobody would be told.
        text = text[: TEXT_MAX - 1] + "…"
    return text


def category_of(kind: str) -> str:
    return KINDS[kind].category
