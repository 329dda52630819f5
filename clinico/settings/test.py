"""Tests: the real PostgreSQL and RabbitMQ, a fast password hasher."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CLINICO_SHARD_QUEUES = env.int("CLINICO_SHARD_QUEUES", default=2)
# The outbox in memory (django.core.mail.outbox); a worker process started by a test writes files
# where the test tells it instead (CLINICO_EMAIL_FILE_PATH), so that the test can read them.
EMAIL_BACKEND = (
    "django.core.mail.backends.filebased.EmailBackend"
    if env("CLINICO_EMAIL_FILE_PATH", default="")
    else "django.core.mail.backends.locmem.EmailBackend"
)
