import httpx
import pytest

from careos.http import UnsafeURLError, safe_client, validate_public_url

PUBLIC_ADDRESS = "93.184.216.34"


class ScriptedResolver:
    """Answers each lookup of a host with the next address list in its script."""

    def __init__(self, answers: dict[str, list[list[str]]]) -> None:
        self.answers = answers
        self.calls: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        script = self.answers[host]
        return script.pop(0) if len(script) > 1 else script[0]


@pytest.fixture
def guarded(settings):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = False
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    return settings


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/hook", "loopback"),
        ("http://[::1]/hook", "loopback"),
        ("http://10.1.2.3/hook", "private"),
        ("http://192.168.0.10/hook", "private"),
        ("http://172.20.0.1/hook", "private"),
        ("http://169.254.10.1/hook", "link-local"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
        ("http://100.64.1.1/hook", "carrier-grade NAT"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback (embedded in IPv6)"),
        ("http://[::ffff:a9fe:a9fe]/hook", "cloud metadata (embedded in IPv6)"),
        # Odd spellings of loopback are caught because the *resolved* address is checked.
        ("http://2130706433/hook", "loopback"),
        ("http://0x7f.1/hook", "loopback"),
    ],
)
def test_non_public_literal_addresses_are_refused(guarded, url, reason):
    with pytest.raises(UnsafeURLError) as excinfo:
        validate_public_url(url)
    assert excinfo.value.reason.endswith(f"a {reason} address")


def test_hostname_resolving_to_loopback_is_refused(guarded):
    with pytest.raises(UnsafeURLError, match=r"localhost resolves to .*loopback"):
        validate_public_url("http://localhost:8080/hook")


def test_any_private_address_among_several_refuses_the_host(guarded):
    resolver = ScriptedResolver({"mixed.example": [[PUBLIC_ADDRESS, "10.0.0.5"]]})
    with pytest.raises(UnsafeURLError, match=r"10\.0\.0\.5, a private address"):
        validate_public_url("https://mixed.example/hook", resolver=resolver)


def test_public_host_is_accepted(guarded):
    resolver = ScriptedResolver({"partner.example": [[PUBLIC_ADDRESS]]})
    assert validate_public_url("https://partner.example/hook", resolver=resolver) is None


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://partner.example/x", "scheme must be http or https"),
        ("file:///etc/passwd", "scheme must be http or https"),
        ("https://user:pw@partner.example/x", "must not contain credentials"),
        ("https:///nohost", "has no host"),
        ("https://partner.example:99999/x", "malformed URL"),
    ],
)
def test_malformed_or_unsupported_urls_are_refused(guarded, url, message):
    resolver = ScriptedResolver({"partner.example": [[PUBLIC_ADDRESS]]})
    with pytest.raises(UnsafeURLError, match=message):
        validate_public_url(url, resolver=resolver)


def test_https_is_required_when_settings_say_so(guarded):
    guarded.OUTBOUND_HTTP_REQUIRE_HTTPS = True
    resolver = ScriptedResolver({"partner.example": [[PUBLIC_ADDRESS]]})
    with pytest.raises(UnsafeURLError, match="must use https"):
        validate_public_url("http://partner.example/hook", resolver=resolver)


def test_unresolvable_host_is_refused(guarded):
    with pytest.raises(UnsafeURLError, match="cannot be resolved"):
        validate_public_url("https://does-not-exist.invalid/hook")


LONG_LABEL_HOST = "a" * 64 + ".example.com"


@pytest.mark.parametrize(
    "host",
    [
        LONG_LABEL_HOST,
        "\u00fc" * 60 + ".example.com",  # 60 characters, but over 63 once punycode-encoded
        "partner..example",
    ],
)
def test_host_name_that_is_not_a_dns_name_is_refused_not_a_crash(guarded, host):
    with pytest.raises(UnsafeURLError, match="not a valid DNS name") as excinfo:
        validate_public_url(f"http://{host}/")
    assert isinstance(excinfo.value.__cause__, UnicodeError)


def test_host_name_that_is_not_a_dns_name_is_refused_at_connect_time(guarded):
    with safe_client() as client, pytest.raises(UnsafeURLError, match="not a valid DNS name"):
        client.get(f"http://{LONG_LABEL_HOST}/")


def test_private_targets_allowed_when_setting_is_on(settings):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    settings.OUTBOUND_HTTP_REQUIRE_HTTPS = False
    assert validate_public_url("http://127.0.0.1:8000/hook") is None


def test_request_to_loopback_server_works_when_allowed(settings, local_server):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    with safe_client() as client:
        response = client.get(local_server.url("/ping"))
    assert response.status_code == 200
    assert response.text == "pong"
    assert local_server.requests == [{"path": "/ping", "host": f"127.0.0.1:{local_server.port}"}]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_request_to_loopback_server_is_refused_when_not_allowed(guarded, local_server, host):
    with safe_client() as client, pytest.raises(UnsafeURLError, match="loopback"):
        client.get(local_server.url("/ping", host=host))
    assert local_server.requests == []


def test_refusal_is_an_httpx_request_error(guarded, local_server):
    with safe_client() as client, pytest.raises(httpx.RequestError):
        client.post(local_server.url("/hook"), json={"a": 1})


def test_dns_rebinding_is_refused_at_connect_time(guarded, local_server):
    """The URL passed validation (public answer), then the name rebinds to loopback."""
    resolver = ScriptedResolver({"rebind.example": [[PUBLIC_ADDRESS], ["127.0.0.1"]]})
    url = f"http://rebind.example:{local_server.port}/ping"
    validate_public_url(url, resolver=resolver)
    with safe_client(resolver=resolver) as client, pytest.raises(UnsafeURLError, match="loopback"):
        client.get(url)
    assert resolver.calls == ["rebind.example", "rebind.example"]
    assert local_server.requests == []


def test_connection_goes_to_the_checked_address_with_original_host_header(settings, local_server):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    # A second lookup would answer an unroutable address: the connect must not look it up again.
    resolver = ScriptedResolver({"partner.example": [["127.0.0.1"], ["192.0.2.1"]]})
    with safe_client(resolver=resolver, timeout=2) as client:
        response = client.get(f"http://partner.example:{local_server.port}/ping")
    assert response.status_code == 200
    assert resolver.calls == ["partner.example"]
    assert local_server.requests == [
        {"path": "/ping", "host": f"partner.example:{local_server.port}"}
    ]


def test_each_redirect_hop_goes_through_the_guard(settings, local_server):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    resolver = ScriptedResolver({"a.example": [["127.0.0.1"]], "b.example": [["127.0.0.1"]]})
    target = f"http://b.example:{local_server.port}/final"
    with safe_client(resolver=resolver, follow_redirects=True) as client:
        response = client.get(f"http://a.example:{local_server.port}/redirect?to={target}")
    assert response.status_code == 200
    assert resolver.calls == ["a.example", "b.example"]


def test_redirects_are_not_followed_by_default(settings, local_server):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    with safe_client() as client:
        response = client.get(local_server.url("/redirect?to=http://169.254.169.254/"))
    assert response.status_code == 302
    assert len(local_server.requests) == 1


def test_tls_verifies_the_original_hostname(settings, local_tls_server, tls_material):
    settings.OUTBOUND_HTTP_ALLOW_PRIVATE = True
    resolver = ScriptedResolver(
        {"partner.example": [["127.0.0.1"]], "other.example": [["127.0.0.1"]]}
    )
    with safe_client(resolver=resolver, verify=tls_material[1]) as client:
        response = client.get(f"https://partner.example:{local_tls_server.port}/ping")
        assert response.status_code == 200
        # Same address, but the certificate is not for this name: refused.
        with pytest.raises(httpx.ConnectError, match="certificate"):
            client.get(f"https://other.example:{local_tls_server.port}/ping")
    assert local_tls_server.requests == [
        {"path": "/ping", "host": f"partner.example:{local_tls_server.port}"}
    ]


def test_timeout_comes_from_settings(settings):
    settings.OUTBOUND_HTTP_TIMEOUT_SECONDS = 3.5
    with safe_client() as client:
        assert client.timeout.connect == 3.5
        assert client.timeout.read == 3.5
    with safe_client(timeout=1) as client:
        assert client.timeout.read == 1
