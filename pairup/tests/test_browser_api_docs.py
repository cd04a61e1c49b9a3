"""The interactive API docs work in a real browser, from local files only."""

import pytest

expect = pytest.importorskip(
    "playwright.sync_api", reason="make test installs playwright"
).expect

pytestmark = pytest.mark.browser


def test_api_docs_render_from_local_files_within_the_csp(page, live_server):
    requests, refusals = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on(
        "console",
        lambda message: (
            refusals.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )

    page.goto("/api/v1/docs")

    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Pair-Up API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.get_by_text("/api/v1/labs/{lab_id}/book").first.wait_for()
    assert requests
    assert all(url.startswith(live_server.url) for url in requests), requests
    script_refusals = [text for text in refusals if "script" in text]
    assert script_refusals == []
