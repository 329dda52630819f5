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
# The access lines are JSON (RedactingLogger.access below); this format is for tools that read
# gunicorn's settings, the lines themselves carry the same fields.
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
import datetime  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import traceback  # noqa: E402

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

    def setup(self, cfg):
        """gunicorn's own lines (start-up, workers booting or killed) are JSON like the rest."""
        super().setup(cfg)
        if os.environ.get("CLINICO_LOG_FORMAT", "json") != "json":
            return
        from common.logs import ContextFilter, JsonFormatter

        for handler in self.error_log.handlers:
            handler.setFormatter(JsonFormatter())
            handler.addFilter(ContextFilter())

    def access(self, resp, req, environ, request_time):
        """One JSON line per answer, with the keys of the application's lines (common/logs.py)
        and the request id the application returned in X-Request-ID."""
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        line = {
            "time": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S%z"),
            "level": "INFO",
            "logger": "gunicorn.access",
            "process": "web",
            "pid": os.getpid(),
            "request_id": atoms.get("{x-request-id}o") or None,
            "message": f"{atoms.get('m')} {atoms.get('U')} {atoms.get('s')}",
            "remote": atoms.get("h"),
            "method": atoms.get("m"),
            "path": atoms.get("U"),
            "status": atoms.get("s"),
            "bytes": atoms.get("B"),
            "duration_ms": atoms.get("M"),
            "user_agent": atoms.get("a"),
        }
        try:
            self.access_log.info("%s", json.dumps({k: v for k, v in line.items() if v is not None}))
        except Exception:  # noqa: BLE001 - gunicorn's own policy: a log line never fails a request
            self.error(traceback.format_exc())


logger_class = RedactingLogger

# --- Metrics (common/metrics.py): the master serves what every worker records ---------------
# On CLINICO_METRICS_PORT_WEB (unset or 0: not served), in prometheus-client's multiprocess mode:
# each worker writes its samples to files in an empty directory of this run, the master adds
# them up at each scrape, and a worker that exits is marked dead so that its gauges go.
os.environ.setdefault("CLINICO_PROCESS_KIND", "web")
_metrics_port = int(os.environ.get("CLINICO_METRICS_PORT_WEB") or 0)
if _metrics_port:
    import shutil  # noqa: E402
    from pathlib import Path  # noqa: E402

    _metrics_default = Path(__file__).resolve().parents[1] / ".run" / "prometheus"
    _metrics_dir = Path(os.environ.get("CLINICO_METRICS_DIR") or _metrics_default)
    _metrics_dir = _metrics_dir / f"web-{_metrics_port}"
    shutil.rmtree(_metrics_dir, ignore_errors=True)
    _metrics_dir.mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(_metrics_dir)


def when_ready(server):
    if not _metrics_port:
        return
    from prometheus_client import CollectorRegistry, start_http_server
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    address = os.environ.get("CLINICO_METRICS_ADDRESS", "127.0.0.1")
    try:
        start_http_server(_metrics_port, addr=address, registry=registry)
    except OSError as error:
        server.log.error("Metrics cannot be served on %s:%s (%s)", address, _metrics_port, error)
        return
    server.log.info("Metrics of web on http://%s:%s/metrics", address, _metrics_port)


def child_exit(server, worker):
    if _metrics_port:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
