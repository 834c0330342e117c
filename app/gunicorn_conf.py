"""gunicorn settings for Veiviser, read from VEIVISER_* environment variables.

`veiviser serve` loads this module. It also works with gunicorn directly:
`gunicorn -c python:app.gunicorn_conf 'app:create_app()'` (but then the checks
of `veiviser serve` are skipped). It lives inside the package, not the project
root, so an installed wheel has it too.

gunicorn reads every module-level name that matches one of its settings; the
helpers' names match none.
"""

from __future__ import annotations

import gc
import os
from typing import Any

from gunicorn.glogging import Logger  # type: ignore[import-untyped]

from app.logs import JsonFormatter

_WORKER_CAP = 8  # every worker holds its own connection pool; PostgreSQL's slots are finite


def _env_int(name: str, default: int, low: int = 1) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise RuntimeError(f"{name} must be a whole number") from None
    if value < low:
        raise RuntimeError(f"{name} must be at least {low}")
    return value


def default_workers() -> int:
    """2 × cores + 1, the usual rule for a mostly I/O-bound app, capped."""
    return min(2 * (os.cpu_count() or 1) + 1, _WORKER_CAP)


class GunicornLogger(Logger):  # type: ignore[misc]
    """gunicorn's own logger, writing JSON lines; access lines drop the query string.

    The access log is off unless VEIVISER_ACCESS_LOG is set: the app already writes
    one line per request with the request id and user id ("veiviser.request").
    """

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            for handler in log.handlers:
                if getattr(handler, "_gunicorn", False):
                    handler.setFormatter(JsonFormatter())

    def access(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> None:
        if not self.access_log_enabled:
            return
        status = str(resp.status).split(None, 1)[0]
        request_id = next(
            (value for name, value in resp.headers if name.lower() == "x-request-id"), None
        )
        self.access_log.info(
            "access",
            extra={
                "request_id": request_id,
                "method": environ.get("REQUEST_METHOD"),
                # PATH_INFO, never RAW_URI or QUERY_STRING: search terms travel there.
                "path": environ.get("PATH_INFO"),
                "status": int(status) if status.isdigit() else status,
                "duration_ms": round(request_time.total_seconds() * 1000, 1),
            },
        )


bind = os.environ.get("VEIVISER_BIND", "127.0.0.1:8000")
workers = _env_int("VEIVISER_WORKERS", default_workers())
threads = _env_int("VEIVISER_THREADS", 1)
# gthread only pays off with more than one thread per worker.
worker_class = "gthread" if threads > 1 else "sync"
timeout = _env_int("VEIVISER_TIMEOUT", 30)
graceful_timeout = _env_int("VEIVISER_GRACEFUL_TIMEOUT", 30)
keepalive = 5
# Recycle workers now and then so a slow leak cannot grow without bound; the jitter
# keeps them from all restarting at the same moment.
max_requests = _env_int("VEIVISER_MAX_REQUESTS", 1000, low=0)
max_requests_jitter = max(max_requests // 10, 0)
# Only these addresses may tell gunicorn the original scheme (X-Forwarded-Proto).
forwarded_allow_ips = os.environ.get("VEIVISER_FORWARDED_ALLOW_IPS", "127.0.0.1")
# Each worker imports and builds the app itself. With preload the master would build
# one engine and key ring before forking, and the workers would share its database
# sockets and pool state across the fork, which corrupts connections under load.
preload_app = False
proc_name = "veiviser"
# gunicorn 25.1+ opens a control socket under $HOME by default; a service account may
# have no writable home, and the service manager's signals already do the job.
control_socket_disable = True
logger_class = GunicornLogger
loglevel = os.environ.get("VEIVISER_LOG_LEVEL", "info").lower()
errorlog = "-"
accesslog = os.environ.get("VEIVISER_ACCESS_LOG") or None
# Heartbeat files on a RAM disk: a busy or container disk cannot stall the workers.
if os.path.isdir("/dev/shm"):  # noqa: S108 - gunicorn's documented advice, not a temp file
    worker_tmp_dir = "/dev/shm"  # noqa: S108


def post_worker_init(worker: Any) -> None:
    """Move everything the app built at start-up out of the garbage collector's sight.

    The leader's figure page allocates enough per request to start a full collection
    every few requests, and a full collection walked every object of the loaded app
    (80-100 ms added to one request in four at 100k participants). Frozen objects are
    still freed when unreferenced; only cycles among them stay, and the app's own are
    meant to live as long as the worker.
    """
    gc.freeze()
