"""Without Chromium, browser tests skip with a hint, except in CI where they fail."""

import os
import subprocess
import sys

from django.conf import settings

BROWSER_TEST = (
    "accounts/tests/test_browser_accounts.py::"
    "test_mismatched_passwords_show_the_error_and_keep_the_names"
)


def run_browser_test(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", BROWSER_TEST, "-rs"],
        cwd=settings.BASE_DIR,
        env={
            **{k: v for k, v in os.environ.items() if k != "CI"},
            "PAIRUP_CHROMIUM": "/nonexistent/chromium",
            **env,
        },
        capture_output=True,
        text=True,
        # A pytest of its own, with the suite's start-up: minutes on a
        # machine a whole parallel run keeps busy (the test's limit is 300 s).
        timeout=270,
        check=False,
    )


def test_missing_chromium_skips_with_how_to_install_it():
    result = run_browser_test()

    assert result.returncode == 0, result.stdout
    assert "1 skipped" in result.stdout
    assert "apt-get install -y chromium" in result.stdout


def test_missing_chromium_fails_in_ci():
    result = run_browser_test(CI="true")

    assert result.returncode == 1, result.stdout
    assert "browser tests need Chromium in CI" in result.stdout
    assert "skipped" not in result.stdout
