"""Text that can be stored: one check for the API's schemas and the chat.

JSON may carry what no database or UTF-8 encoder takes: a NUL character
(PostgreSQL refuses it in text) or a lone surrogate such as "\\ud800" (an
escape JSON allows, but no UTF-8 encoder takes). Such text is refused as bad
input where it arrives, before it can reach a batch of other people's writes.
"""


def unstorable_reason(value: str) -> str | None:
    """Return why `value` can't be stored, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return "must be valid Unicode text (no lone surrogates)"
    return None
