import re
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError

from pairup.text import has_control_character


def validate_student_number(value: str) -> None:
    # fullmatch: a trailing newline or anything else around the number fails.
    if not re.fullmatch(settings.PAIRUP_STUDENT_NUMBER_REGEX, value or ""):
        raise ValidationError(
            "Enter a valid student number (as printed on your student card).",
            code="invalid_student_number",
        )


# The words of the coordinators' badge and their kin: a student's name must
# not pose as staff ("Casey (coordinator)"). Long words are found anywhere in
# the name's letters ("Casey_Coordinator", "c.o.o.r.d.i.n.a.t.o.r"); short
# ones only as a whole word, so that Stafford and Badminton stay possible.
STAFF_WORDS_ANYWHERE = ("coordinator", "administrator", "moderator", "superuser")
STAFF_WORDS_WHOLE = ("staff", "admin", "admins", "mod", "mods")
# Look-alikes folded before matching (after casefold): digits and symbols
# read as letters, and the Cyrillic and Greek letters that pass for Latin
# ones (escaped here so the source shows which is which).
_LOOKALIKES = str.maketrans(
    "013457@$"
    # Cyrillic a, c, e, i, o, p, s, t, x, y, d, m, h (upper case H), r, j
    "\u0430\u0441\u0435\u0456\u043e\u0440\u0455\u0442\u0445\u0443\u0501"
    "\u043c\u043d\u0433\u0458"
    # Greek alpha, beta, epsilon, zeta, eta, iota, kappa, mu, nu, omicron,
    # rho, tau, upsilon, chi
    "\u03b1\u03b2\u03b5\u03b6\u03b7\u03b9\u03ba\u03bc\u03bd\u03bf"
    "\u03c1\u03c4\u03c5\u03c7",
    "oieastasaceiopstxydmhrjabezhikmnoptyx",
)


def _folded(value: str) -> str:
    """Lower-case `value` with accents, invisible characters and look-alikes
    folded to plain Latin letters."""
    text = unicodedata.normalize("NFKD", value)
    text = "".join(
        ch for ch in text if unicodedata.category(ch) not in ("Mn", "Me", "Cf")
    )
    return text.casefold().translate(_LOOKALIKES)


def staff_word_in(value: str) -> str | None:
    """Return the staff word `value` contains, or None."""
    text = _folded(value)
    letters = "".join(ch for ch in text if ch.isalpha())
    for word in STAFF_WORDS_ANYWHERE:
        if word in letters:
            return word
    words = set(re.findall(r"[^\W\d_]+", text))
    for word in STAFF_WORDS_WHOLE:
        if word in words:
            return word
    return None


def validate_not_staff_name(value: str) -> None:
    """Refuse a student's name that contains a word of the staff badge."""
    word = staff_word_in(value or "")
    if word is not None:
        raise ValidationError(
            f"Names can't contain “{word}”: that word marks coordinators, "
            "and only their accounts carry it.",
            code="staff_word",
        )


def validate_name_characters(value: str) -> None:
    """Refuse a name holding a line break, a tab or another control character."""
    if has_control_character(value or ""):
        raise ValidationError(
            "Names can't contain line breaks, tabs or other control characters.",
            code="control_character",
        )
