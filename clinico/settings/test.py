"""Tests: the real PostgreSQL and RabbitMQ, a fast password hasher."""

from .base import *  # noqa: F403
from .base import env

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CLINICO_SHARD_QUEUES = env.int("CLINICO_SHARD_QUEUES", default=2)
# No refresh task per ticket change into queues no test worker reads; tests of it turn it on.
CLINICO_LIVE_FIGURES_PUBLISH = False
CLINICO_WEBHOOK_ALLOW_LOOPBACK_HTTP = True  # receivers on http://127.0.0.1 (tests, demos)
# Tests run without DNS: receivers named under example.com resolve to a public address
# (example.com's own), which the egress check accepts; tests of refusals answer otherwise.
CLINICO_WEBHOOK_RESOLVE = {"*.example.com": ["93.184.215.14"], "example.com": ["93.184.215.14"]}
# The outbox in memory (django.core.mail.outbox); a worker process started by a test writes files
# where the test tells it instead (CLINICO_EMAIL_FILE_PATH), so that the test can read them.
EMAIL_BACKEND = (
    "django.core.mail.backends.filebased.EmailBackend"
    if env("CLINICO_EMAIL_FILE_PATH", default="")
    else "django.core.mail.backends.locmem.EmailBackend"
)
