"""gunicorn settings for production-like runs (the development stack passes its own flags)."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() * 2))
threads = int(os.environ.get("GUNICORN_THREADS", 2))
worker_class = "gthread"
timeout = 60
graceful_timeout = 30
accesslog = "-"
# gunicorn sets REMOTE_ADDR to the TCP peer and passes X-Forwarded-For through untouched;
# Clinico reads that header only from CLINICO_TRUSTED_PROXIES (common/net.py). The same peers,
# and no others, may set the scheme headers (X-Forwarded-Proto) here. Empty: nobody.
forwarded_allow_ips = os.environ.get("CLINICO_TRUSTED_PROXIES", "")
