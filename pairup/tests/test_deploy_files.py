"""The deploy files the README installs: the README shows them as they are,
and systemd's and nginx's own checks accept them (where those tools exist)."""

import re
import shutil
import subprocess
import sys

import pytest
from django.conf import settings

DEPLOY = settings.BASE_DIR / "deploy"
UNIT = DEPLOY / "pairup@.service"
NGINX = DEPLOY / "nginx-pairup.conf"


def readme_block(language: str) -> str:
    readme = (settings.BASE_DIR / "README.md").read_text()
    blocks = re.findall(rf"^```{language}\n(.*?)^```", readme, re.S | re.M)
    assert len(blocks) == 1, f"one ```{language} block expected in the README"
    return blocks[0]


def significant_lines(text: str) -> list[str]:
    """Drop blank lines and whole-line comments."""
    return [
        line
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def test_readme_shows_the_systemd_unit_as_shipped():
    assert significant_lines(readme_block("ini")) == significant_lines(UNIT.read_text())


def test_readme_shows_the_nginx_site_as_shipped():
    assert significant_lines(readme_block("nginx")) == significant_lines(
        NGINX.read_text()
    )


def test_unit_runs_daphne_per_port_as_its_own_user_and_restarts_on_failure():
    unit = UNIT.read_text()

    for line in (
        "User=pairup",
        "WorkingDirectory=/srv/pairup/app",
        "EnvironmentFile=/etc/pairup/env",
        "Restart=on-failure",
    ):
        assert f"\n{line}\n" in unit
    assert "--proxy-headers -b 127.0.0.1 -p %i pairup.asgi:application" in unit


def test_nginx_redirects_http_and_overwrites_forwarded_for():
    site = NGINX.read_text()

    assert "return 301 https://$host$request_uri;" in site
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in site
    assert "proxy_set_header Upgrade $http_upgrade;" in site
    assert "location = /healthz {" in site
    # A location setting a header of its own would drop the server's ones.
    for location in re.findall(r"location [^{]*\{(.*?)\}", site, re.S):
        assert "proxy_set_header" not in location


@pytest.mark.skipif(
    not shutil.which("systemd-analyze"), reason="systemd-analyze is not installed"
)
def test_systemd_accepts_the_unit(tmp_path):
    """`systemd-analyze verify` on the unit, its paths pointed at this checkout
    (it checks that ExecStart's program exists)."""
    (tmp_path / "env").write_text("DJANGO_DEBUG=False\n")
    unit = (
        UNIT.read_text()
        .replace("/srv/pairup/app/.venv/bin/python", sys.executable)
        .replace("/srv/pairup/app", str(settings.BASE_DIR))
        .replace("/etc/pairup/env", str(tmp_path / "env"))
    )
    (tmp_path / "pairup@.service").write_text(unit)
    (tmp_path / "pairup@8001.service").symlink_to(tmp_path / "pairup@.service")

    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "pairup@8001.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.skipif(
    not (shutil.which("nginx") and shutil.which("openssl")),
    reason="nginx -t needs nginx and openssl (apt-get install -y nginx)",
)
def test_nginx_accepts_the_site(tmp_path):
    """`nginx -t` on the site as shipped, with a throw-away certificate where
    its ssl_certificate lines point."""
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=pairup.example.edu",
            "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem"),
        ],
        capture_output=True,
        check=True,
        timeout=60,
    )  # fmt: skip
    site = (
        NGINX.read_text()
        .replace("/etc/ssl/certs/pairup.example.edu.pem", str(tmp_path / "cert.pem"))
        .replace("/etc/ssl/private/pairup.example.edu.key", str(tmp_path / "key.pem"))
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\n"
        f"error_log {tmp_path}/error.log;\n"
        "events {}\n"
        "http {\n"
        f"    access_log {tmp_path}/access.log;\n"
        f"    include {tmp_path}/site.conf;\n"
        "}\n"
    )

    result = subprocess.run(
        ["nginx", "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_worker_unit_runs_the_worker_with_the_same_environment():
    unit = (DEPLOY / "pairup-worker.service").read_text()

    for line in (
        "User=pairup",
        "WorkingDirectory=/srv/pairup/app",
        "EnvironmentFile=/etc/pairup/env",
        "ExecStart=/srv/pairup/app/.venv/bin/python manage.py run_worker --no-reload",
    ):
        assert f"\n{line}\n" in unit
