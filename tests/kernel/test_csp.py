"""The Content-Security-Policy (django-csp) and the pages that must work under it: the admin
and the API docs load only their own static files, with no inline script."""

import re
from html.parser import HTMLParser

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


class Assets(HTMLParser):
    """Every URL a page loads (scripts, stylesheets, images, icons) and its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline_scripts: list[str] = []
        self.handlers: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.handlers += [name for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            if values.get("src"):
                self.urls.append(values["src"] or "")
            else:
                self._in_script = True
        elif tag in ("img", "iframe") and values.get("src"):
            self.urls.append(values["src"] or "")
        elif tag == "link" and values.get("href"):
            self.urls.append(values["href"] or "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline_scripts.append(data)


def policy(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        name, *values = part.split()
        directives[name] = values
    return directives


def assets_of(client, path: str) -> Assets:  # type: ignore[no-untyped-def]
    response = client.get(path)
    assert response.status_code == 200, path
    parser = Assets()
    parser.feed(response.content.decode())
    return parser


def assert_own_files_only(client, path: str) -> list[str]:  # type: ignore[no-untyped-def]
    page = assets_of(client, path)
    assert page.urls, path
    assert page.inline_scripts == [], path
    assert page.handlers == [], path
    for url in page.urls:
        assert not re.match(r"^(https?:)?//", url), f"{path} loads {url} from elsewhere"
        assert url.startswith("/"), url  # this server: static files, /admin/jsi18n/, …
        loaded = client.get(url)
        assert loaded.status_code == 200, url
        assert b"".join(loaded.streaming_content if loaded.streaming else [loaded.content])
    return page.urls


def test_every_response_carries_a_policy_without_inline_or_eval_scripts(client):
    for path in ("/admin/login/", "/api/docs/", "/accounts/login/", "/healthz"):
        directives = policy(client.get(path))
        assert directives["default-src"] == ["'self'"], path
        assert directives["script-src"] == ["'self'"], path
        assert directives["object-src"] == ["'none'"], path
        assert directives["frame-ancestors"] == ["'none'"], path
        header = client.get(path)["Content-Security-Policy"]
        assert "unsafe-eval" not in header and "*" not in header


def test_the_admin_loads_only_its_own_static_files(client, admin_client):
    assert_own_files_only(client, "/admin/login/")
    assert_own_files_only(admin_client, "/admin/")
    assert_own_files_only(admin_client, "/admin/rbac/user/")
    assert_own_files_only(admin_client, "/admin/rbac/user/add/")


def test_the_api_docs_load_only_their_own_files(client):
    urls = assert_own_files_only(client, "/api/docs/")
    assert any("swagger-ui-bundle.js" in url for url in urls)
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert b"SwaggerUIBundle(" in script.content
    # The schema it fetches is same-origin (connect-src 'self').
    assert b'url: "/api/schema/"' in script.content
    assert b'"validatorUrl": null' in script.content


def test_the_second_factor_pages_work_under_the_policy(django_user_model):
    root = django_user_model.objects.create_superuser(username="csp-root", password=None)
    password_only = Client()
    password_only.force_login(root)
    assert_own_files_only(password_only, "/accounts/mfa/setup/")
