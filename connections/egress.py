"""Connections to hosts a third party named (the endpoints of a provider's discovery document).

A host is resolved once, every address it resolves to must be of an allowed kind, and the socket connects to
one of those very addresses: a name cannot answer an allowed address to the check and another one to the
connection (DNS rebinding). Only the socket is pinned: the Host header, TLS SNI and the certificate check
still use the host name (urllib3 takes them from the connection's host, not from the socket)."""
from functools import cache
import ipaddress
import socket
import sys
from urllib.parse import urlsplit

from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family, create_connection

PUBLIC = "public"
LOOPBACK = "loopback"
PRIVATE = "private"
LINK_LOCAL = "link-local"
MULTICAST = "multicast"
UNSPECIFIED = "unspecified"
RESERVED = "reserved"

# RFC 1918, shared address space (RFC 6598, carrier-grade NAT and overlay networks), unique-local and the
# deprecated site-local IPv6 ranges.
PRIVATE_NETWORKS = tuple(ipaddress.ip_network(network) for network in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "fc00::/7", "fec0::/10"))
THIS_NETWORK = ipaddress.ip_network("0.0.0.0/8")  # 0.0.0.0 reaches this machine on Linux
# Cloud metadata services that sit outside the link-local range (AWS's IPv6 endpoint, Alibaba Cloud's): never
# allowed, even where a provider on a private network makes private addresses allowed.
METADATA_ADDRESSES = frozenset(map(ipaddress.ip_address, ("fd00:ec2::254", "100.100.100.200")))
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class Refused(Exception):
    """The host resolves to an address of a kind not allowed (or cannot be checked). The message names the
    host and the kind, nothing else of the URL."""


def kind_of(address) -> str:
    """public, loopback, private, link-local (169.254.169.254, the cloud metadata service, included),
    multicast, unspecified or reserved (documentation, benchmarking, 240/4, IPv4-compatible IPv6...)."""
    ip = ipaddress.ip_address(address)
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        return kind_of(embedded)
    if ip in METADATA_ADDRESSES:
        return LINK_LOCAL
    if ip.is_unspecified or ip in THIS_NETWORK:
        return UNSPECIFIED
    if ip.is_loopback:
        return LOOPBACK
    if ip.is_multicast:  # before is_global, which multicast addresses can be
        return MULTICAST
    if ip.is_link_local:
        return LINK_LOCAL
    if any(ip in network for network in PRIVATE_NETWORKS):
        return PRIVATE
    if ip.is_global and not ip.is_reserved:
        return PUBLIC
    return RESERVED


def _embedded_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 form carries, by which it is judged: ::ffff:127.0.0.1 is 127.0.0.1."""
    if ip.version != 6:
        return None
    embedded = ip.ipv4_mapped or ip.sixtofour
    if embedded is None and ip in NAT64:
        embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return embedded


def _lookup(host: str, port: int | None) -> list[str]:
    """The addresses `host` resolves to, as literals, in the resolver's order (one getaddrinfo call: a name
    is looked up, an address in any form, 0x7f.1 included, is only parsed). socket.gaierror if none."""
    name = host.strip("[]").rstrip(".")  # localhost. is localhost
    if not name:
        raise socket.gaierror(socket.EAI_NONAME, "no host")
    found = socket.getaddrinfo(name, port, allowed_gai_family(), socket.SOCK_STREAM)
    addresses = list(dict.fromkeys(sockaddr[0] for *_, sockaddr in found))
    if not addresses:
        raise socket.gaierror(socket.EAI_NONAME, "no address")
    return addresses


def resolve(host: str, port: int | None, allowed: frozenset[str]) -> list[str]:
    """The addresses of `host` if every one is of an `allowed` kind, else Refused: not only the first, since
    a connection falls back to the next. socket.gaierror (or UnicodeError) when the name does not resolve."""
    addresses = _lookup(host, port)
    for address in addresses:
        kind = kind_of(address)
        if kind not in allowed:
            raise Refused(f"{host} resolves to {address} ({kind})")
    return addresses


def kinds_of_host(host: str | None) -> frozenset[str]:
    """The kinds of every address `host` resolves to; none if it does not resolve."""
    try:
        return frozenset(kind_of(address) for address in _lookup(host or "", None))
    except (OSError, UnicodeError, ValueError):
        return frozenset()


def check_url(url: str, allowed: frozenset[str]) -> None:
    """Refused unless the URL's host resolves only to allowed kinds (a URL the browser goes to, which this
    server never connects to, is checked the same way)."""
    host = "the host"
    try:
        parts = urlsplit(url)
        host = parts.hostname or host
        resolve(parts.hostname or "", parts.port, allowed)
    except (OSError, UnicodeError, ValueError):  # socket.gaierror is an OSError; a bad port a ValueError
        raise Refused(f"{host} cannot be resolved") from None


class _PinnedConnectionMixin:
    allowed: frozenset[str] = frozenset()

    def _new_conn(self) -> socket.socket:
        try:
            addresses = resolve(self._dns_host, self.port, self.allowed)
        except (socket.gaierror, UnicodeError) as error:
            raise NameResolutionError(self.host, self, error) from error
        failure: OSError | None = None
        for address in addresses:
            try:
                sock = create_connection((address, self.port), self.timeout, source_address=self.source_address,
                                         socket_options=self.socket_options)
            except OSError as error:
                failure = error
                continue
            sys.audit("http.client.connect", self, self.host, self.port)
            return sock
        if isinstance(failure, TimeoutError):
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={self.timeout})") from failure
        raise NewConnectionError(self, f"Failed to establish a new connection: {failure}") from failure


@cache
def _pool_classes(allowed: frozenset[str]) -> dict[str, type]:
    attributes = {"allowed": allowed}
    http = type("PinnedHTTPConnection", (_PinnedConnectionMixin, HTTPConnection), attributes)
    https = type("PinnedHTTPSConnection", (_PinnedConnectionMixin, HTTPSConnection), attributes)
    return {"http": type("PinnedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
            "https": type("PinnedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https})}


class PinnedAdapter(HTTPAdapter):
    """A requests adapter whose connections are checked and pinned as above (allowed: the kinds of address
    it may connect to). Never through a proxy: the proxy would resolve the host again, after the check."""

    def __init__(self, allowed: frozenset[str], **kwargs) -> None:
        self.allowed = frozenset(allowed)
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _pool_classes(self.allowed)

    def send(self, request, stream=False, timeout=None, verify=True, cert=None, proxies=None):
        if select_proxy(request.url, proxies):
            raise Refused(f"{urlsplit(request.url).hostname} would be reached through a proxy")
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=proxies)
