import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "clinico.settings.prod",
    "DJANGO_SECRET_KEY": "a-production-secret-of-sufficient-length-and-entropy-0123456789abcdef",
    "DATABASE_URL": "postgres://clinico:pw@db.internal:5432/clinico",
    "CELERY_BROKER_URL": "amqp://clinico:pw@mq.internal:5672/clinico",
    "CLINICO_BASE_DOMAIN": "clinico.com.br",
    "DJANGO_ALLOWED_HOSTS": "clinico.com.br,.clinico.com.br",
}


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests while Playwright runs in this process.
    skip = {*PROD_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_check_deploy_passes_under_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env=PROD_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_its_secrets_and_names_them():
    env = {k: v for k, v in PROD_ENV.items() if k not in ("DJANGO_SECRET_KEY", "DATABASE_URL")}
    env.update({"DJANGO_SECRET_KEY": "", "DATABASE_URL": ""})
    result = _manage("check", env=env)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr
    assert "DATABASE_URL" in result.stderr
