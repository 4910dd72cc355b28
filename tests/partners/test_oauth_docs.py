"""docs/oauth.md is true: every shell block runs (in bash, in order, as a partner would paste
them) and every Python example works, against a live server; its tables match the code."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from oauth2_provider.models import AccessToken, RefreshToken
from oauth2_provider.settings import oauth2_settings

from partners.models import Partner, PartnerApplication
from partners.scopes import SCOPES, TIER_SCOPES, grantable_scopes
from partners.services import applications as apps
from tests.infra import skip_or_fail
from tests.partners.factories import PartnerFactory, make_api_key
from tests.partners.oauth_flows import ACTOR, REDIRECT, approved_client

DOC = Path(__file__).resolve().parents[2] / "docs" / "oauth.md"
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>\w+)\n(?P<body>.*?)^(?P=indent)```$", re.M | re.S)
PLACEHOLDER = re.compile(r"^export [A-Z_]+=\S")
ASSIGNED = re.compile(r"^\s*(?:export\s+)?([A-Z_]+)=", re.M)
HTTP_STATUS = re.compile(r"^HTTP (\d{3})$", re.M)
USER, PASSWORD = "jane", "correct horse battery"

live = pytest.mark.django_db(transaction=True, serialized_rollback=True)


def doc_blocks(lang: str) -> list[str]:
    """The fenced blocks of ``lang`` in the guide, in order, without their list indentation."""
    found = []
    for match in FENCE.finditer(DOC.read_text()):
        if match["lang"] == lang:
            indent = len(match["indent"])
            found.append("".join(line[indent:] for line in match["body"].splitlines(True)))
    return found


def placeholders(block: str) -> set[str] | None:
    """The names a block only sets to example values (the test supplies real ones)."""
    lines = [line for line in block.splitlines() if line.strip()]
    if lines and all(PLACEHOLDER.match(line) for line in lines):
        return set(ASSIGNED.findall(block))
    return None


@dataclass
class Ran:
    stdout: str
    statuses: list[int]


def run_bash(block: str, variables: dict[str, str], workdir: Path) -> Ran:
    """Run ``block`` with ``variables`` in its environment; what it assigns is read back into
    ``variables``. ``curl`` reports each answer's status on stderr (``HTTP 200``)."""
    env_file = workdir / "env"
    script = (
        "set -euo pipefail\nset -a\n"
        "curl() { command curl --write-out '%{stderr}HTTP %{http_code}\\n' \"$@\"; }\n"
        f"{block}\nenv -0 > {env_file}\n"
    )
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), "LC_ALL": "C.UTF-8", **variables}
    done = subprocess.run(
        ["bash", "-c", script], env=env, cwd=workdir, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, (block, done.stdout, done.stderr)
    assert not HTTP_STATUS.sub("", done.stderr).strip(), (block, done.stderr)
    exported = dict(item.split("=", 1) for item in env_file.read_text().split("\0") if "=" in item)
    for name in set(ASSIGNED.findall(block)):
        assert exported.get(name) not in (None, "", "null"), (block, name, done.stdout)
        variables[name] = exported[name]
    return Ran(stdout=done.stdout, statuses=[int(s) for s in HTTP_STATUS.findall(done.stderr)])


class _FormFields(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        name = attributes.get("name")
        if tag == "input" and name and (attributes.get("type") != "submit" or name == "allow"):
            self.fields[name] = attributes.get("value") or ""


def _form(html: str) -> dict[str, str]:
    parser = _FormFields()
    parser.feed(html)
    return parser.fields


def browser_consent(base_url: str, authorize_url: str) -> str:
    """The user's browser: sign in, approve; returns where CareOS redirects it (not followed:
    it is the partner's site)."""
    with requests.Session() as browser:
        return _sign_in_and_approve(browser, base_url, authorize_url)


def _sign_in_and_approve(browser: requests.Session, base_url: str, authorize_url: str) -> str:
    to_login = browser.get(authorize_url, allow_redirects=False, timeout=10)
    assert to_login.status_code == 302, to_login.text
    login_page = browser.get(urljoin(base_url, to_login.headers["Location"]), timeout=10)
    signed_in = browser.post(
        f"{base_url}/accounts/login/",
        data=_form(login_page.text) | {"username": USER, "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert signed_in.status_code == 302, signed_in.text
    consent_url = urljoin(base_url, signed_in.headers["Location"])
    consent = browser.get(consent_url, allow_redirects=False, timeout=10)
    assert consent.status_code == 200, consent.text
    approved = browser.post(
        consent_url, data=_form(consent.text), allow_redirects=False, timeout=10
    )
    assert approved.status_code == 302, approved.text
    return approved.headers["Location"]


@pytest.fixture
def guide_server(live_server, settings, django_user_model):  # type: ignore[no-untyped-def]
    """The live server as the issuer (PUBLIC_BASE_URL), a partner, its API key, and a user."""
    missing = [tool for tool in ("bash", "curl", "jq", "openssl") if shutil.which(tool) is None]
    if missing:
        skip_or_fail(f"the guide's commands need {', '.join(missing)}")
    settings.PUBLIC_BASE_URL = live_server.url
    settings.OAUTH2_PROVIDER = {**settings.OAUTH2_PROVIDER, "OIDC_ISS_ENDPOINT": live_server.url}
    # The live server speaks plain http: the browser would not send Secure cookies back.
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    django_user_model.objects.create_user(username=USER, password=PASSWORD)
    partner = PartnerFactory(tier=Partner.Tier.PRO)
    # The key holds the scopes the guide's application asks for (a key grants only its own).
    api_key = make_api_key(
        partner=partner, scopes=["read:partner", "manage:partner", "read:leads"]
    ).secret
    return live_server.url, partner, api_key


def _review(application_id: str) -> None:
    """What CareOS staff do between the partner's submission and its next call."""
    application = PartnerApplication.objects.get(public_id=application_id, status="submitted")
    apps.application_start_review(application=application, actor=ACTOR)
    apps.application_approve(application=application, actor=ACTOR, notes="Looks good.")


@live
def test_every_shell_block_of_the_guide_runs(guide_server, tmp_path):
    base_url, partner, api_key = guide_server
    service = approved_client(partner=partner, grant_type="client-credentials")
    supplied: dict[frozenset[str], Callable[[dict[str, str]], dict[str, str]]] = {
        frozenset({"BASE_URL", "API_KEY"}): lambda _: {"BASE_URL": base_url, "API_KEY": api_key},
        frozenset({"CODE"}): lambda seen: {"CODE": _code_from_browser(base_url, seen)},
        frozenset({"CLIENT_ID", "CLIENT_SECRET"}): lambda _: {
            "CLIENT_ID": service.client_id,
            "CLIENT_SECRET": service.client_secret,
        },
    }
    variables: dict[str, str] = {}
    outputs: list[tuple[str, Ran]] = []
    for block in doc_blocks("bash"):
        names = placeholders(block)
        if names is not None:
            assert frozenset(names) in supplied, f"the test supplies no values for {names}"
            variables |= supplied[frozenset(names)](variables)
            continue
        if "jq -r .clientId" in block:
            _review(variables["APPLICATION_ID"])
        ran = run_bash(block, variables, tmp_path)
        assert len(ran.statuses) == len(re.findall(r"\bcurl\s", block)), block
        assert all(200 <= status < 300 for status in ran.statuses), (block, ran)
        outputs.append((block, ran))

    def output_of(marker: str) -> list[str]:
        return [ran.stdout for block, ran in outputs if marker in block]

    (metadata,) = output_of("/.well-known/oauth-authorization-server")
    assert json.loads(metadata)["issuer"] == base_url
    (introspection,) = output_of("/o/introspect/")
    assert json.loads(introspection)["active"] is True
    for me in output_of('/api/v1/partners/me" -H "Authorization: Bearer'):
        assert json.loads(me)["id"] == partner.public_id
    # The walkthrough's application was approved and its client used; the sign-in's tokens
    # were revoked at the end (the refresh token, and with it its access token).
    application = PartnerApplication.objects.get(public_id=variables["APPLICATION_ID"])
    assert application.status == "approved"
    assert application.oauth_client.application.client_id != service.client_id
    user_client = application.oauth_client.application
    assert not AccessToken.objects.filter(application=user_client).exists()
    assert not RefreshToken.objects.filter(application=user_client, revoked=None).exists()


def _code_from_browser(base_url: str, variables: dict[str, str]) -> str:
    """The user opens AUTHORIZE_URL; the redirect carries the code, the state and ``iss``."""
    callback = browser_consent(base_url, variables["AUTHORIZE_URL"])
    assert callback.startswith(f"{REDIRECT}?")
    query = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
    assert query["state"] == variables["STATE"]
    assert query["iss"] == base_url
    return query["code"]


def _python_examples(tmp_path: Path) -> ModuleType:
    """The guide's Python blocks, in order, as one module."""
    source = tmp_path / "oauth_guide_examples.py"
    source.write_text("\n\n".join(doc_blocks("python")))
    spec = importlib.util.spec_from_file_location("oauth_guide_examples", source)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@live
def test_the_python_examples_of_the_guide_work(guide_server, tmp_path):
    base_url, partner, _api_key = guide_server
    guide = _python_examples(tmp_path)
    metadata = guide.careos_metadata(base_url)
    assert metadata["issuer"] == base_url

    web = approved_client(partner=partner)
    credentials = (metadata, web.client_id, web.client_secret)
    url, state, verifier = guide.sign_in_start(*credentials, REDIRECT)
    callback = browser_consent(base_url, url)
    token = guide.sign_in_finish(
        *credentials, REDIRECT, callback_url=callback, state=state, code_verifier=verifier
    )
    assert set(token["scope"].split()) == {"read:partner", "read:leads"}
    with pytest.raises(ValueError, match="another issuer"):
        guide.sign_in_finish(
            *credentials,
            REDIRECT,
            callback_url=callback.replace("iss=", "iss=https%3A%2F%2Fevil.example&x="),
            state=state,
            code_verifier=verifier,
        )

    saved: list[dict] = []
    with guide.user_api(*credentials, token, lambda new, **_: saved.append(dict(new))) as api:
        me = api.get(f"{base_url}/api/v1/partners/me", timeout=10)
        assert me.json()["id"] == partner.public_id
        api.token["expires_at"] = int(time.time()) - 60  # as if an hour had passed
        assert api.get(f"{base_url}/api/v1/partners/me", timeout=10).status_code == 200
    (renewed,) = saved
    assert renewed["refresh_token"] != token["refresh_token"]  # rotated

    assert guide.introspect(*credentials, renewed["access_token"])["active"] is True
    guide.sign_out(*credentials, renewed)
    assert guide.introspect(*credentials, renewed["access_token"]) == {"active": False}

    service = approved_client(partner=partner, grant_type="client-credentials")
    with guide.service_api(metadata, service.client_id, service.client_secret) as service_api:
        first = service_api.token["access_token"]
        assert service_api.get(f"{base_url}/api/v1/partners/me", timeout=10).status_code == 200
        service_api.token["expires_at"] = int(time.time()) - 60
        assert service_api.get(f"{base_url}/api/v1/partners/me", timeout=10).status_code == 200
        assert service_api.token["access_token"] != first  # fetched a new one by itself


def test_the_scope_table_is_the_catalogue():
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", DOC.read_text(), re.M)
    assert sorted(name for name, _, _ in rows) == grantable_scopes()
    for name, text, tiers in rows:
        assert text == str(SCOPES[name])
        assert tiers.split(", ") == [tier for tier, scopes in TIER_SCOPES.items() if name in scopes]


def test_the_lifetimes_are_the_settings():
    text = DOC.read_text()
    code = re.search(r"^\| authorization code \| (\d+) seconds", text, re.M)
    access = re.search(r"^\| access token \| (\d+) seconds", text, re.M)
    refresh = re.search(r"^\| refresh token \| usable until (\d+) seconds", text, re.M)
    assert code and access and refresh
    assert int(code[1]) == oauth2_settings.AUTHORIZATION_CODE_EXPIRE_SECONDS
    assert int(access[1]) == oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS
    assert int(refresh[1]) == oauth2_settings.REFRESH_TOKEN_EXPIRE_SECONDS
