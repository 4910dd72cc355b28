"""Liveness and readiness probes."""

import logging

from django.db import connection
from django.http import HttpRequest, JsonResponse

from careos.celery import app as celery_app

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        logger.warning("readiness: database unreachable", exc_info=True)
        return False
    return True


def _broker_ok() -> bool:
    try:
        with celery_app.connection_for_write() as conn:
            # One attempt: the prober retries, and a slow answer is itself a failure.
            conn.ensure_connection(max_retries=0, timeout=2)
            # A connection is not enough for every transport: open a channel too.
            _ = conn.default_channel
    except Exception:
        logger.warning("readiness: broker unreachable", exc_info=True)
        return False
    return True


def readyz(request: HttpRequest) -> JsonResponse:
    checks = {
        "database": "ok" if _database_ok() else "unreachable",
        "broker": "ok" if _broker_ok() else "unreachable",
    }
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ready" if ready else "unavailable", "checks": checks},
        status=200 if ready else 503,
    )
