"""gunicorn settings for every run: production-like (Dockerfile, docker-compose) and `make run`.

deploy/stack.sh loads this file and overrides the bind address and the process counts with flags.
"""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
accesslog = "-"
# The request's path without its query string, and no Referer: a query string or a referring
# page's address may carry personal data or a key, and access logs are kept and shipped around.
# CPFs travel in request bodies and the panel key in a cookie or header, never in a URL; this
# keeps a client that still puts one in a URL from writing it to the log.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(m)s %(U)s %(H)s" %(s)s %(b)s "%(a)s" %(M)sms'
# gunicorn sets REMOTE_ADDR to the TCP peer and passes X-Forwarded-For through untouched;
# Clinico reads that header only from CLINICO_TRUSTED_PROXIES (common/net.py). The same peers,
# and no others, may set the scheme headers (X-Forwarded-Proto) here. Empty: nobody.
forwarded_allow_ips = os.environ.get("CLINICO_TRUSTED_PROXIES", "")

# The one-time link of an invitation or a password reset carries its token in the path, as
# Django's password views do (`/password/set/<uid>/<token>/`); the page moves it to the session
# and redirects at once, and the access log writes the path with the token blanked.
import re  # noqa: E402

from gunicorn.glogging import Logger  # noqa: E402

_PASSWORD_LINK = re.compile(r"^(/password/set/[^/]+/)[^/]+(/?)")


class RedactingLogger(Logger):
    """gunicorn's logger, with one-time password links' tokens left out of every access line."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for name in ("U", "r"):
            value = atoms.get(name)
            if isinstance(value, str) and "/password/set/" in value:
                method, _sep, rest = value.partition(" ") if name == "r" else ("", "", value)
                rest = _PASSWORD_LINK.sub(r"\1<token>\2", rest)
                atoms[name] = f"{method} {rest}" if name == "r" else rest
        return atoms


logger_class = RedactingLogger
