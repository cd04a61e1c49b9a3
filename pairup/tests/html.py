"""Small HTML checks shared by page tests."""

import re

CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>", re.IGNORECASE)


def assert_every_control_labelled(html: str) -> None:
    """Fail unless every visible form control has a <label for=...> or aria-label."""
    labels = set(re.findall(r'<label\s[^>]*for="([^"]+)"', html))
    controls = 0
    for _tag, attrs in CONTROL.findall(html):
        # Not shown and out of the accessibility tree: a hidden input, or
        # one with the `hidden` attribute (a username hint for password
        # managers).
        if re.search(r'type="(hidden|submit)"|\shidden(?=[\s/]|$)', attrs):
            continue
        controls += 1
        control_id = re.search(r'\sid="([^"]+)"', attrs)
        assert "aria-label=" in attrs or (control_id and control_id[1] in labels), (
            f"unlabelled control: {attrs.strip()}"
        )
    assert controls, "no form controls found"
