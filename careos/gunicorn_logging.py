"""gunicorn's access log, redacted like the app's own logs (careos/logging.py).

gunicorn writes its access log itself, outside Django's logging: a request line such as
``GET /admin/rbac/user/?q=%2B14155550122`` would reach the log with the phone number in it (and
its referer and redirect ``Location`` with it again). ``RedactingGunicornLogger`` masks every
query-string value but paging and ordering in each atom that holds a URL, redacts headers and
environment values by name (cookies, credentials, PHI) and by content, then lets gunicorn
format the line as configured (``--access-logformat``).

Use it with ``--logger-class careos.gunicorn_logging.RedactingGunicornLogger`` (``make run``
does; so does ``gunicorn.conf.py`` at the root of the checkout, which gunicorn reads when
started there).
"""

from typing import Any

from gunicorn.glogging import Logger

from careos.logging import REDACTED, SENSITIVE_KEYS, mask_query_string, mask_url, redact_text

# Atoms holding a URL (referer, redirect target, the raw request URI).
_URL_NAMES = frozenset({"referer", "location", "raw-uri", "http-referer"})
# Headers whose values are addresses or versions, not free text (the phone pattern would eat
# their digits).
_PLAIN_NAMES = frozenset(
    {"x-forwarded-for", "x-real-ip", "remote-addr", "user-agent", "http-user-agent", "host"}
)


def _header_name(key: str) -> str:
    """``{X_Forwarded_For}i`` / ``{http_x_forwarded_for}e`` → ``x-forwarded-for``."""
    name = key[1 : key.index("}")].lower().replace("_", "-")
    return name.removeprefix("http-") if name.startswith("http-x-") else name


class RedactingGunicornLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in list(atoms.items()):
            if not (key.startswith("{") and isinstance(value, str)):
                continue
            name = _header_name(key)
            if SENSITIVE_KEYS.search(name):
                atoms[key] = REDACTED
            elif name in _URL_NAMES:
                atoms[key] = mask_url(value)
            elif name == "query-string":
                atoms[key] = mask_query_string(value)
            elif name not in _PLAIN_NAMES:
                atoms[key] = redact_text(value)
        raw_uri = environ.get("RAW_URI") or environ.get("PATH_INFO", "")
        method, protocol = environ.get("REQUEST_METHOD", "-"), environ.get("SERVER_PROTOCOL", "-")
        atoms["r"] = f"{method} {mask_url(raw_uri)} {protocol}"
        atoms["q"] = mask_query_string(environ.get("QUERY_STRING") or "")
        atoms["f"] = mask_url(str(atoms.get("f", "-")))
        atoms["u"] = redact_text(str(atoms.get("u", "-")))
        return atoms
