"""What `docker build -f deploy/Dockerfile .` copies into the image (the .dockerignore rules)."""

import subprocess
from pathlib import Path

from docker.utils.build import exclude_paths

ROOT = Path(__file__).resolve().parents[2]
# Left in a checkout by `make run`, `make test` and a developer; none may reach an image.
LOCAL_ONLY = [
    ".env",
    ".env.production",
    "deploy/.env",
    ".git/config",
    ".venv/bin/python",
    ".run/postgres/data/base/16384/2619",
    ".run/logs/web.log",
    ".run/logs/worker.log",
    ".run/rabbitmq/log/erl_crash.dump",
    "clinico/__pycache__/settings.cpython-311.pyc",
    "staticfiles/admin/css/base.css",
]
NOT_SHIPPED = ("tests/", "benchmarks/", ".ci/", ".gitignore", ".dockerignore")


def _build_context(tmp_path: Path) -> tuple[set[str], set[str]]:
    """The files of a checkout (tracked plus LOCAL_ONLY) that the build context keeps, and the
    tracked ones."""
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    for name in [*tracked, *LOCAL_ONLY]:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()
    patterns = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line for line in patterns if line.strip() and not line.startswith("#")]
    kept = exclude_paths(str(tmp_path), patterns, dockerfile="deploy/Dockerfile")
    return {name for name in kept if (tmp_path / name).is_file()}, set(tracked)


def test_the_image_leaves_out_local_data_secrets_and_the_history(tmp_path):
    kept, _tracked = _build_context(tmp_path)

    assert sorted(set(LOCAL_ONLY) & kept) == []


def test_the_image_keeps_everything_the_application_runs(tmp_path):
    kept, tracked = _build_context(tmp_path)

    needed = {name for name in tracked if not name.startswith(NOT_SHIPPED)}
    assert sorted(needed - kept) == []
    for name in ["manage.py", "requirements/prod.txt", "deploy/gunicorn.conf.py"]:
        assert name in kept
