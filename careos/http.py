"""The one outbound HTTP client: timeouts and an SSRF guard on every connection.

The guard sits in the network backend under httpx, so it runs for every new connection,
including each redirect hop: the host is resolved once, refused if ANY address is not public
(unless ``OUTBOUND_HTTP_ALLOW_PRIVATE``), and the socket is opened to the address that was
checked. A DNS-rebinding host therefore cannot answer a public address to the check and a private
one to the connect. The URL is left untouched, so the Host header, the TLS SNI and the
certificate check all use the original hostname, and pooled connections are keyed by it.
"""

import ipaddress
import socket
import ssl
from collections.abc import Iterable
from typing import Protocol
from urllib.parse import urlsplit

import httpcore
import httpx
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

CLOUD_METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# IPv6 ranges whose low 32 bits are an IPv4 address that is what is really reached.
_IPV4_IN_LOW_BITS = (ipaddress.ip_network("::/96"), ipaddress.ip_network("64:ff9b::/96"))


class UnsafeURLError(httpx.RequestError, ValueError):
    """A URL or a connection target that the SSRF guard refuses; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Resolver(Protocol):
    """Turns a hostname into the IP addresses to connect to (tests inject their own)."""

    def resolve(self, host: str, port: int) -> list[str]: ...


class SystemResolver:
    def resolve(self, host: str, port: int) -> list[str]:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return list(dict.fromkeys(str(info[4][0]) for info in infos))


def address_block_reason(address: IPAddress) -> str | None:
    """Why ``address`` is not a public internet address, or ``None`` when it is."""
    if address in CLOUD_METADATA_ADDRESSES:
        return "cloud metadata"
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and any(address in net for net in _IPV4_IN_LOW_BITS):
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_block_reason(embedded)
            return f"{reason} (embedded in IPv6)" if reason else None
    checks = (
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("carrier-grade NAT", isinstance(address, ipaddress.IPv4Address) and address in _CGNAT),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
        ("non-global", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def check_addresses(host: str, addresses: Iterable[str]) -> list[str]:
    """Refuse unless every address is public (or private targets are allowed by settings)."""
    checked = list(addresses)
    if not checked:
        raise UnsafeURLError(f"{host} resolves to no address")
    if settings.OUTBOUND_HTTP_ALLOW_PRIVATE:
        return checked
    for raw in checked:
        try:
            address = ipaddress.ip_address(raw.split("%", 1)[0])
        except ValueError as exc:
            raise UnsafeURLError(f"{host} resolves to an invalid address {raw!r}") from exc
        reason = address_block_reason(address)
        if reason:
            raise UnsafeURLError(f"{host} resolves to {address}, a {reason} address")
    return checked


def check_host_name(host: str) -> None:
    """Refuse a host name that cannot be looked up at all (an IP literal passes).

    ``getaddrinfo`` IDNA-encodes a ``str`` host and raises ``UnicodeError`` (not ``OSError``)
    for an empty label, a label over 63 characters (after punycode) or text IDNA cannot encode:
    that is a verdict on the URL, not DNS trouble, so it is refused like any other bad URL.
    """
    try:
        host.encode("idna")
    except UnicodeError as exc:
        raise UnsafeURLError(
            "the host name is not a valid DNS name (an empty label, a label over 63 "
            "characters once IDNA-encoded, or characters IDNA cannot encode)"
        ) from exc


def validate_public_url(url: str, *, resolver: Resolver | None = None) -> None:
    """Check a URL someone registers with us (webhook endpoint, FHIR base URL, ...).

    Raises ``UnsafeURLError`` with the reason: bad scheme, plain http where https is required,
    credentials in the URL, no host, a host name that is not a valid (IDNA) DNS name, a host
    that does not resolve or resolves to any non-public address.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeURLError(f"malformed URL: {exc}") from exc
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise UnsafeURLError("the URL scheme must be http or https")
    if scheme == "http" and settings.OUTBOUND_HTTP_REQUIRE_HTTPS:
        raise UnsafeURLError("the URL must use https")
    if parts.username is not None or parts.password is not None:
        raise UnsafeURLError("the URL must not contain credentials")
    host = parts.hostname
    if not host:
        raise UnsafeURLError("the URL has no host")
    check_host_name(host)
    port = port or (443 if scheme == "https" else 80)
    try:
        addresses = (resolver or SystemResolver()).resolve(host, port)
    except OSError as exc:
        raise UnsafeURLError(f"{host} cannot be resolved") from exc
    check_addresses(host, addresses)


class GuardedNetworkBackend(httpcore.NetworkBackend):
    """Resolves, checks, and connects to the checked address (never resolves twice)."""

    def __init__(self, resolver: Resolver) -> None:
        self._resolver = resolver
        self._backend = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        check_host_name(host)
        try:
            addresses = self._resolver.resolve(host, port)
        except OSError as exc:
            raise httpcore.ConnectError(f"{host} cannot be resolved: {exc}") from exc
        last_error: Exception | None = None
        for address in check_addresses(host, addresses):
            try:
                return self._backend.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        assert last_error is not None
        raise last_error

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise UnsafeURLError("unix sockets are not allowed")

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    def __init__(
        self,
        *,
        resolver: Resolver,
        verify: ssl.SSLContext | None = None,
        limits: httpx.Limits | None = None,
    ) -> None:
        limits = limits or httpx.Limits()
        super().__init__(trust_env=False, limits=limits)
        # httpx has no public parameter for the network backend yet (encode/httpx#3749), so the
        # pool httpx built is replaced by an identical one that connects through the guard.
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(verify=verify or True, trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(resolver),
        )


def safe_client(
    *,
    timeout: float | None = None,
    follow_redirects: bool = False,
    headers: dict[str, str] | None = None,
    verify: ssl.SSLContext | None = None,
    resolver: Resolver | None = None,
) -> httpx.Client:
    """An ``httpx.Client`` for calls to addresses we do not control.

    Every connection (each redirect hop too) goes through the SSRF guard; a refused target
    raises ``UnsafeURLError`` (a subclass of ``httpx.RequestError``). Environment proxies are
    ignored: a proxy would resolve the host itself and bypass the guard. ``verify`` is a CA
    context for servers with a private CA; certificate checking cannot be turned off.
    """
    return httpx.Client(
        transport=GuardedTransport(resolver=resolver or SystemResolver(), verify=verify),
        timeout=httpx.Timeout(
            timeout if timeout is not None else settings.OUTBOUND_HTTP_TIMEOUT_SECONDS
        ),
        follow_redirects=follow_redirects,
        headers=headers,
        trust_env=False,
    )
