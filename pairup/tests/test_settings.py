"""Settings come from the environment and refuse junk loudly.

Each case imports the settings in a fresh interpreter, so a value is read the
way a starting server reads it.
"""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings

REAL_SECRET_KEY = secrets.token_urlsafe(50)

# The production environment the README documents.
PRODUCTION_ENV = {
    "DJANGO_DEBUG": "False",
    "DJANGO_SECRET_KEY": REAL_SECRET_KEY,
    "DJANGO_ALLOWED_HOSTS": "pairup.example.edu",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://pairup.example.edu",
    "PAIRUP_HTTPS": "True",
}


def clean_env(**overrides: str) -> dict:
    """Return the process environment without any Pair-Up setting, plus overrides."""
    names = (
        "DJANGO_",
        "PAIRUP_",
        "DATABASE_URL",
        "REDIS_URL",
        "TIME_ZONE",
        "EMAIL_",
        "DEFAULT_FROM_EMAIL",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(names)}
    return {**env, **overrides}


def import_settings(**env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", "import pairup.settings"],
        cwd=settings.BASE_DIR,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_import_with_the_production_environment():
    result = import_settings(**PRODUCTION_ENV)

    assert result.returncode == 0, result.stderr


def test_debug_mode_starts_without_a_secret_key():
    result = import_settings(DJANGO_DEBUG="True")

    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"),
        ("DJANGO_DEBUG", "true"),
        ("DJANGO_DEBUG", ""),
        ("PAIRUP_HTTPS", "yes"),
        ("PAIRUP_TEAM_SIZE", "two"),
        ("PAIRUP_TEAM_SIZE", "0"),
        ("PAIRUP_CHANNEL_CAPACITY", "1.5"),
        ("PAIRUP_BOOKING_CUTOFF_MINUTES", "-5"),
        ("PAIRUP_LOGIN_FAILURE_LIMIT", "five"),
        ("PAIRUP_LOGIN_COOLOFF_MINUTES", "0"),
        ("PAIRUP_LOGIN_ADDRESS_LIMIT", "0"),
        ("PAIRUP_LOGIN_ADDRESS_LIMIT", "many"),
        ("PAIRUP_API_TOKEN_HOURS", ""),
        ("PAIRUP_CHAT_RATE", "lots"),
        ("PAIRUP_CHAT_RATE", "0/10s"),
        ("PAIRUP_CHAT_RATE", "10/10"),
        ("PAIRUP_CHAT_RATE", "10/10d"),
        ("PAIRUP_ROOM_OPEN_RATE", "five"),
        ("PAIRUP_ROOM_OPEN_RATE", "0/h"),
        ("PAIRUP_SITE_URL", "pairup.example.edu"),
        ("PAIRUP_SITE_URL", "ftp://pairup.example.edu"),
        ("PAIRUP_SITE_URL", "https://pairup.example.edu/app"),
        ("PAIRUP_SITE_URL", "https://pairup.example.edu:99999"),
        ("PAIRUP_SITE_URL", "https://user@pairup.example.edu"),
        ("PAIRUP_SITE_URL", "https://"),
        ("PAIRUP_REGISTRATION", "closed"),
        ("PAIRUP_REGISTRATION", "Open"),
        ("PAIRUP_STUDENT_NUMBER_REGEX", "[0-9"),
        ("PAIRUP_DB_POOL_MAX", "0"),
        ("PAIRUP_DB_POOL_MAX", "ten"),
        ("PAIRUP_DB_POOL_TIMEOUT", "0"),
        ("PAIRUP_DB_POOL_MAX_IDLE", "1m"),
    ],
)
def test_junk_value_stops_the_start_naming_the_variable(name, value):
    result = import_settings(**{**PRODUCTION_ENV, name: value})

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10/10s", (10, 10)),
        ("3/s", (3, 1)),
        ("5/2m", (5, 120)),
        ("100/h", (100, 3600)),
        ("off", None),
    ],
)
def test_chat_rate_parses_messages_per_window(monkeypatch, value, expected):
    from pairup.settings import parse_rate

    monkeypatch.setenv("PAIRUP_CHAT_RATE", value)

    assert parse_rate("PAIRUP_CHAT_RATE", "10/10s") == expected


def site_url(**env: str) -> str:
    code = "from pairup import settings as s; print(s.PAIRUP_SITE_URL)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"DJANGO_DEBUG": "True"}, "http://127.0.0.1"),
        (PRODUCTION_ENV, "https://pairup.example.edu"),
        (
            {**PRODUCTION_ENV, "PAIRUP_SITE_URL": "https://Pairup.Example.edu:8443/"},
            "https://pairup.example.edu:8443",
        ),
        ({"DJANGO_DEBUG": "True", "PAIRUP_SITE_URL": ""}, "http://127.0.0.1"),
    ],
    ids=["debug-default", "production-default", "set", "empty-is-unset"],
)
def test_site_url_defaults_to_the_first_allowed_host(env, expected):
    assert site_url(**env) == expected


def test_a_host_pattern_first_needs_an_explicit_site_url():
    env = {**PRODUCTION_ENV, "DJANGO_ALLOWED_HOSTS": ".example.edu"}

    result = import_settings(**env)

    assert result.returncode != 0
    assert "Set PAIRUP_SITE_URL" in result.stderr
    assert site_url(**env, PAIRUP_SITE_URL="https://pairup.example.edu") == (
        "https://pairup.example.edu"
    )


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = import_settings(DJANGO_DEBUG="False")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_defaults_to_off_and_so_needs_a_secret_key():
    result = import_settings()

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_debug_off_with_a_short_secret_key_refuses_to_start():
    result = import_settings(DJANGO_DEBUG="False", DJANGO_SECRET_KEY="short")

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is too weak" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {},
            "DJANGO_SECRET_KEY must be set to a real secret when DJANGO_DEBUG=False "
            "(or set DJANGO_DEBUG=True for local development).",
        ),
        (
            {"DJANGO_DEBUG": "maybe"},
            "DJANGO_DEBUG must be 'True' or 'False', got 'maybe'",
        ),
    ],
)
@pytest.mark.parametrize("command", [["check"], ["showmigrations"], ["help"]])
def test_manage_py_names_a_bad_environment_in_one_line(command, env, message):
    result = manage(*command, **env)

    assert result.returncode == 1
    assert result.stderr == f"Error: {message}\n"
    assert "Traceback" not in result.stdout + result.stderr


def test_deploy_check_reports_nothing_under_the_production_environment():
    result = manage("check", "--deploy", "--fail-level", "DEBUG", **PRODUCTION_ENV)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_deploy_check_notices_https_left_off():
    """The check above can fail: without HTTPS settings Django warns."""
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **{**PRODUCTION_ENV, "PAIRUP_HTTPS": "False"},
    )

    assert result.returncode != 0
    assert "security.W004" in result.stderr + result.stdout


def test_https_turns_on_secure_cookies_hsts_and_proxy_trust():
    code = (
        "from pairup import settings as s; "
        "print(s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS > 0, s.SECURE_PROXY_SSL_HEADER)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean_env(**PRODUCTION_ENV),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.strip() == (
        "True True True True ('HTTP_X_FORWARDED_PROTO', 'https')"
    )


def test_sign_in_throttling_locks_number_and_address_together_for_a_while():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert settings.AXES_COOLOFF_TIME.total_seconds() == 15 * 60


DESIGN_VARIABLES = {
    "DJANGO_SECRET_KEY",
    "DJANGO_DEBUG",
    "DJANGO_ALLOWED_HOSTS",
    "DJANGO_CSRF_TRUSTED_ORIGINS",
    "PAIRUP_HTTPS",
    "DATABASE_URL",
    "REDIS_URL",
    "PAIRUP_CHANNEL_CAPACITY",
    "TIME_ZONE",
    "PAIRUP_TEAM_SIZE",
    "PAIRUP_STUDENT_NUMBER_REGEX",
    "PAIRUP_REGISTRATION",
    "PAIRUP_BOOKING_CUTOFF_MINUTES",
    "PAIRUP_CHAT_RATE",
    "PAIRUP_ROOM_OPEN_RATE",
    "PAIRUP_LOGIN_FAILURE_LIMIT",
    "PAIRUP_LOGIN_COOLOFF_MINUTES",
    "PAIRUP_LOGIN_ADDRESS_LIMIT",
    "PAIRUP_API_TOKEN_HOURS",
    "PAIRUP_SITE_URL",
    "PAIRUP_REMINDERS",
    "PAIRUP_BALLOT_CHOICES",
    # Beyond the unit's design document (issue 17 adds it): the unit's name in the
    # subject of every notification email.
    "PAIRUP_UNIT_NAME",
    "PAIRUP_DB_POOL_MAX",
    "PAIRUP_DB_POOL_TIMEOUT",
    "PAIRUP_DB_POOL_MAX_IDLE",
    "DJANGO_STATIC_ROOT",
    "EMAIL_HOST",
    "EMAIL_PORT",
    "EMAIL_HOST_USER",
    "EMAIL_HOST_PASSWORD",
    "DEFAULT_FROM_EMAIL",
}


def env_example() -> dict[str, str]:
    values = {}
    for line in (settings.BASE_DIR / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip().strip("'\"")
    return values


def variables_read_by_settings() -> set[str]:
    source = (settings.BASE_DIR / "pairup" / "settings.py").read_text()
    return set(
        re.findall(
            r'(?:env_\w+\(|parse_rate\(|parse_durations\(|os\.environ\.get\(|os\.environ\[)\s*"([A-Z_]+)"',
            source,
        )
    )


def test_settings_read_exactly_the_designed_variables():
    assert variables_read_by_settings() == DESIGN_VARIABLES


def test_env_example_lists_every_variable():
    assert set(env_example()) == DESIGN_VARIABLES


def test_readme_configuration_table_lists_every_variable():
    readme = (settings.BASE_DIR / "README.md").read_text()

    rows = set(re.findall(r"^\| `([A-Z_]+)` \|", readme, re.MULTILINE))

    assert rows == DESIGN_VARIABLES


def test_env_example_as_written_starts_in_debug_mode():
    result = import_settings(**{**env_example(), "DJANGO_DEBUG": "True"})

    assert result.returncode == 0, result.stderr


def test_env_example_as_written_refuses_to_run_in_production_without_a_key():
    result = import_settings(**env_example())

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_empty_database_url_means_the_sqlite_file():
    code = "from pairup import settings as s; print(s.DATABASES['default']['NAME'])"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean_env(DJANGO_DEBUG="True", DATABASE_URL=""),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.stdout.strip() == str(settings.BASE_DIR / "db.sqlite3")


def settings_value(expression: str, **env: str) -> object:
    """Import the settings as a starting server would; return `expression`."""
    code = f"import json; from pairup import settings as s; print(json.dumps({expression}))"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=settings.BASE_DIR,
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_postgresql_borrows_from_a_pool_instead_of_keeping_connections():
    database = settings_value(
        "s.DATABASES['default']",
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://pairup:secret@127.0.0.1:5432/pairup",
        PAIRUP_DB_POOL_MAX="7",
        PAIRUP_DB_POOL_TIMEOUT="3",
        PAIRUP_DB_POOL_MAX_IDLE="45",
    )

    assert database["CONN_MAX_AGE"] == 0
    assert database["OPTIONS"]["pool"] == {
        "min_size": 2,
        "max_size": 7,
        "timeout": 3,
        "max_idle": 45,
    }
    assert database["OPTIONS"]["connect_timeout"] == 5


def test_postgresql_pool_defaults():
    pool = settings_value(
        "s.DATABASES['default']['OPTIONS']['pool']",
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://pairup:secret@127.0.0.1:5432/pairup",
    )

    assert pool == {"min_size": 2, "max_size": 10, "timeout": 10, "max_idle": 60}


def test_a_pool_of_one_keeps_one_connection():
    pool = settings_value(
        "s.DATABASES['default']['OPTIONS']['pool']",
        **PRODUCTION_ENV,
        DATABASE_URL="postgres://pairup:secret@127.0.0.1:5432/pairup",
        PAIRUP_DB_POOL_MAX="1",
    )

    assert (pool["min_size"], pool["max_size"]) == (1, 1)


def test_sqlite_keeps_one_connection_per_thread_and_no_pool():
    database = settings_value("s.DATABASES['default']", **PRODUCTION_ENV)

    assert database["CONN_MAX_AGE"] is None
    assert "pool" not in database["OPTIONS"]


def test_production_serves_static_files_by_hashed_name_from_collectstatic():
    storage, finders = settings_value(
        "[s.STORAGES['staticfiles']['BACKEND'], s.WHITENOISE_USE_FINDERS]",
        **PRODUCTION_ENV,
    )

    assert storage == "whitenoise.storage.CompressedManifestStaticFilesStorage"
    assert finders is False


def test_static_root_defaults_to_staticfiles_in_the_project_root():
    assert settings_value(
        "str(s.STATIC_ROOT)", **PRODUCTION_ENV, DJANGO_STATIC_ROOT=""
    ) == str(settings.BASE_DIR / "staticfiles")
    assert (
        settings_value(
            "str(s.STATIC_ROOT)", **PRODUCTION_ENV, DJANGO_STATIC_ROOT="/srv/static"
        )
        == "/srv/static"
    )


def test_debug_serves_static_files_from_the_app_folders():
    storage, finders = settings_value(
        "[s.STORAGES['staticfiles']['BACKEND'], s.WHITENOISE_USE_FINDERS]",
        DJANGO_DEBUG="True",
    )

    assert storage == "django.contrib.staticfiles.storage.StaticFilesStorage"
    assert finders is True
