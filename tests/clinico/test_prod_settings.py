import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "clinico.settings.prod",
    "DJANGO_SECRET_KEY": "a-production-secret-of-sufficient-length-and-entropy-0123456789abcdef",
    "DATABASE_URL": "postgres://clinico:pw@db.internal:5432/clinico",
    "CELERY_BROKER_URL": "amqp://clinico:pw@mq.internal:5672/clinico",
    "CLINICO_BASE_DOMAIN": "clinico.com.br",
    "DJANGO_ALLOWED_HOSTS": "clinico.com.br,.clinico.com.br",
    "CLINICO_ARCHIVE_SIGNING_KEY": "an-archive-signing-key-of-its-own-0123456789abcdef",
}


def _python(*args: str, env: dict) -> subprocess.CompletedProcess:
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests while Playwright runs in this process.
    skip = {*PROD_ENV, "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in skip}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return _python("manage.py", *args, env=env)


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


def test_production_refuses_to_start_without_an_archive_signing_key_of_its_own():
    result = _manage("check", env={**PROD_ENV, "CLINICO_ARCHIVE_SIGNING_KEY": ""})
    assert result.returncode != 0
    assert "CLINICO_ARCHIVE_SIGNING_KEY" in result.stderr


def test_production_refuses_the_development_secret_key_published_with_the_code():
    from clinico.settings.base import DEV_SECRET_KEY

    result = _manage("check", env={**PROD_ENV, "DJANGO_SECRET_KEY": DEV_SECRET_KEY})

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is the development key" in result.stderr


SETTINGS_IN_USE = (
    "from django.conf import settings; print(settings.SETTINGS_MODULE, settings.DEBUG, "
    "settings.SECRET_KEY == {key!r})"
)


ENTRY_POINTS = ["clinico.wsgi", "clinico.asgi", "clinico.celery"]  # gunicorn, uvicorn, celery -A


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_served_entry_points_run_production_settings_unless_told_otherwise(module):
    env = {k: v for k, v in PROD_ENV.items() if k != "DJANGO_SETTINGS_MODULE"}
    show = SETTINGS_IN_USE.format(key=PROD_ENV["DJANGO_SECRET_KEY"])

    result = _python("-c", f"import {module}; {show}", env=env)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["clinico.settings.prod", "False", "True"]


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_served_entry_points_without_secrets_refuse_to_start(module):
    env = {name: "" for name in PROD_ENV if name != "DJANGO_SETTINGS_MODULE"}

    result = _python(
        "-c", f"import {module}; from django.conf import settings; settings.DEBUG", env=env
    )

    assert result.returncode != 0
    assert "without these environment variables: DJANGO_SECRET_KEY" in result.stderr


def test_manage_py_still_runs_development_settings_by_default():
    result = _manage(
        "shell", "-c", "from django.conf import settings; print(settings.DEBUG)", env={}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1] == "True"


POOLING_IN_USE = (
    "from django.conf import settings; db = settings.DATABASES['default']; "
    "print(db['SEARCH_PATH'], db['DISABLE_SERVER_SIDE_CURSORS'], db['CONN_MAX_AGE'])"
)


def test_behind_a_transaction_pooler_production_sets_the_schema_per_transaction_without_cursors():
    result = _manage(
        "shell", "-c", POOLING_IN_USE, env={**PROD_ENV, "DATABASE_POOLER": "transaction"}
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["transaction", "True", "60"]


def test_production_refuses_the_session_search_path_behind_a_transaction_pooler():
    env = {**PROD_ENV, "DATABASE_POOLER": "transaction", "DATABASE_SEARCH_PATH": "session"}

    result = _manage("check", env=env)

    assert result.returncode != 0
    assert "cannot run behind a transaction-mode pooler" in result.stderr
