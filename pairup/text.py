"""Text that can be stored: one check for the API's schemas and the chat.

JSON may carry what no database or UTF-8 encoder takes: a NUL character
(PostgreSQL refuses it in text) or a lone surrogate such as "\\ud800" (an
escape JSON allows, but no UTF-8 encoder takes). Such text is refused as bad
input where it arrives, before it can reach a batch of other people's writes.
"""

import unicodedata


def unstorable_reason(value: str) -> str | None:
    """Return why `value` can't be stored, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None


# The bidirectional embeddings, overrides and isolates: they reorder the text
# after them ("\u202e" shows "txt.exe" as "exe.txt"). Right-to-left names
# need none of them; the marks (LRM, RLM, ALM) stay allowed.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def has_control_character(value: str) -> bool:
    """Return whether `value` holds a control character or a line break.

    Control characters (category Cc: newline, tab, NUL, DEL, ...), the
    Unicode line and paragraph separators and the bidirectional controls,
    none of which belongs in one-line text such as a name or a description.
    """
    return any(
        unicodedata.category(ch) in ("Cc", "Zl", "Zp") or ch in BIDI_CONTROLS
        for ch in value
    )


# Letters that print as nothing: the Hangul and halfwidth Hangul fillers and
# the blank Braille pattern, which pass for text in names and messages.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def is_blank(value: str) -> bool:
    """Return whether `value` shows nothing: only spaces and line breaks,
    invisible format characters (zero-width space and joiners, the byte
    order mark, soft hyphens: category Cf) and blank letters."""
    return all(
        ch.isspace() or ch in BLANK_LETTERS or unicodedata.category(ch) == "Cf"
        for ch in value
    )
