"""Static files in production: hashed names, cached for good.

The live server runs with DEBUG off on a `collectstatic` copy, as the README
has production do, so this is what a browser gets.
"""

import re
import urllib.request


def fetch(url: str) -> tuple[int, dict, bytes]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return response.status, dict(response.headers), response.read()


def test_pages_name_hashed_static_files_served_with_a_far_future_cache(
    live_server,
):
    status, _, body = fetch(f"{live_server.url}/accounts/login/")
    assert status == 200
    css = re.search(rb'href="(/static/pairup/site\.[0-9a-f]{12}\.css)"', body)
    script = re.search(
        rb'src="(/static/vendor/bootstrap/bootstrap\.bundle\.min\.[0-9a-f]{12}\.js)"',
        body,
    )
    assert css, body.decode()[:2000]
    assert script

    status, headers, content = fetch(live_server.url + css[1].decode())

    assert status == 200
    assert headers["Cache-Control"] == "max-age=315360000, public, immutable"
    assert b"{" in content  # the stylesheet itself


def test_unhashed_names_are_cached_only_briefly(live_server):
    status, headers, _ = fetch(f"{live_server.url}/static/pairup/site.css")

    assert status == 200
    assert headers["Cache-Control"] == "max-age=60, public"
