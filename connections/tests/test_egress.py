"""The endpoints a discovery document names are judged by the addresses their hosts resolve to, and connected
to only at those addresses (connections.egress), with real sockets: listeners on loopback addresses record
whatever reaches them. No test here sends anything off loopback: address literals are only parsed, the only
name looked up for real is localhost (/etc/hosts), and a socket connecting anywhere else fails the test."""
from collections.abc import Iterator
import ipaddress
import json
import logging
import socket
import ssl
import threading

from django.core.cache import cache
import pytest
import requests

from authcore.testing import assert_error, free_port
from connections import egress
from connections.errors import ProviderUnavailable
from connections.models import Connection
from connections.providers import get_provider, with_retries

from .conftest import APP_CALLBACK
from .helpers import complete, query_of, start

pytestmark = pytest.mark.django_db(transaction=True)

ELSEWHERE = "https://198.51.100.7/.well-known/openid-configuration"  # never fetched: its document is seeded
ON_LOOPBACK = "http://127.0.0.1:9/.well-known/openid-configuration"
ON_A_PRIVATE_NETWORK = "https://10.0.0.5/.well-known/openid-configuration"


class Resolver:
    """socket.getaddrinfo without the network, recording every call: address literals in any form are only
    parsed (AI_NUMERICHOST), `localhost` is looked up for real (/etc/hosts), a name in `names` answers the
    next of its addresses (the last one repeats), anything else does not resolve."""

    def __init__(self, real) -> None:
        self.real = real
        self.calls: list[str] = []
        self.names: dict[str, list[str]] = {}

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        self.calls.append(host)
        if host == "localhost":
            return self.real(host, port, family, type, proto, flags)
        if isinstance(host, str) and host in self.names:
            answers = self.names[host]
            host = answers.pop(0) if len(answers) > 1 else answers[0]
        return self.real(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    def names_looked_up(self) -> list[str]:
        return [host for host in self.calls if not _is_literal(host)]


def _is_literal(host) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


@pytest.fixture
def resolver(monkeypatch) -> Resolver:
    resolver = Resolver(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    real_connect = socket.socket.connect

    def connect_on_loopback_only(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            host = address[0]
            assert _is_literal(host) and ipaddress.ip_address(host).is_loopback, f"a connection to {address}"
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect_on_loopback_only)
    return resolver


class Listener:
    """A TCP listener on (host, port) that counts the connections it accepts, keeps what each one sent, and
    answers each with one small JSON response naming its own address."""

    def __init__(self, host: str, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.tls = tls
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.bind((host, port))
        self.socket.listen(8)
        self.socket.settimeout(0.05)  # accept() wakes up to notice close()
        self.stopped = threading.Event()
        self.host, self.port = self.socket.getsockname()[:2]
        self.accepted = 0
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.socket.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted += 1
            conn.settimeout(5)
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                data = b""
                while b"\r\n\r\n" not in data and (chunk := conn.recv(65536)):
                    data += chunk
                self.received.append(data)
                body = json.dumps({"listener": self.host}).encode()
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
            except OSError:
                pass
            finally:
                conn.close()

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=5)
        self.socket.close()


@pytest.fixture
def trap() -> Iterator[Listener]:
    """A listener on 127.0.0.3, where nothing may arrive."""
    listener = Listener("127.0.0.3")
    yield listener
    listener.close()


def configure(settings, discovery_url: str, document: dict, **config) -> None:
    """Provider "p" with this discovery URL, whose document is already in the cache (so never fetched)."""
    settings.CONNECTIONS = {**settings.CONNECTIONS, "PROVIDERS": {"p": {
        "client_id": "c", "client_secret": "the-client-secret", "discovery_url": discovery_url, **config}}}
    cache.set(f"connections:discovery:{discovery_url}", document, 60)


# --- classification ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(("address", "kind"), [
    ("8.8.8.8", "public"), ("2606:4700:4700::1111", "public"),
    ("127.0.0.1", "loopback"), ("127.0.0.3", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("64:ff9b::7f00:1", "loopback"), ("2002:7f00:1::", "loopback"),
    ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("192.168.1.1", "private"), ("100.64.0.1", "private"),
    ("fd00::1", "private"), ("::ffff:10.1.2.3", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("::ffff:169.254.169.254", "link-local"),
    ("fd00:ec2::254", "link-local"), ("100.100.100.200", "link-local"),  # metadata services outside 169.254/16
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("0.1.2.3", "unspecified"), ("::", "unspecified"), ("::ffff:0.0.0.0", "unspecified"),
    ("192.0.2.1", "reserved"), ("198.51.100.7", "reserved"), ("240.0.0.1", "reserved"),
    ("255.255.255.255", "reserved"), ("::127.0.0.1", "reserved"),
])
def test_addresses_are_classified(address, kind):
    assert egress.kind_of(address) == kind


@pytest.mark.parametrize(("host", "address"), [
    ("127.0.0.3", "127.0.0.3"), ("0x7f.1", "127.0.0.1"), ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1"),
    ("localhost.", "127.0.0.1"), ("localhost", "127.0.0.1"), ("10.1.2.3", "10.1.2.3"),
])
def test_a_host_is_judged_by_what_it_resolves_to(resolver, host, address):
    with pytest.raises(egress.Refused, match="loopback|private"):
        egress.resolve(host, 443, frozenset({egress.PUBLIC}))
    assert address in egress.resolve(host, 443, frozenset({egress.LOOPBACK, egress.PRIVATE}))


# --- discovered endpoints ---------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.3", "0x7f.1", "[::ffff:127.0.0.1]", "localhost.", "localhost",
                                  "10.1.2.3", "169.254.169.254", "[::]", "[fe80::1]", "unresolvable.test"])
def test_a_document_from_elsewhere_cannot_aim_at_this_machine_or_its_network(settings, resolver, trap, caplog,
                                                                             host):
    url = f"https://{host}:{trap.port}"
    configure(settings, ELSEWHERE, {"authorization_endpoint": f"{url}/authorize", "token_endpoint": f"{url}/token",
                                    "revocation_endpoint": f"{url}/revoke"})
    provider = get_provider("p")

    for name in ("authorization_url", "token_url", "revocation_url"):
        with pytest.raises(ProviderUnavailable):
            provider.endpoint(name)

    assert trap.accepted == 0
    assert "refused" in caplog.text and "the-client-secret" not in caplog.text
    assert all(record.levelno <= logging.WARNING for record in caplog.records)


def test_a_document_on_loopback_may_name_loopback_but_not_a_private_network(settings, resolver):
    configure(settings, ON_LOOPBACK, {"token_endpoint": "https://127.0.0.3/token",
                                      "authorization_endpoint": "https://0x7f.1/authorize",
                                      "revocation_endpoint": "https://10.1.2.3/revoke"})
    provider = get_provider("p")

    assert provider.endpoint("token_url") == "https://127.0.0.3/token"
    assert provider.endpoint("authorization_url") == "https://0x7f.1/authorize"
    with pytest.raises(ProviderUnavailable):
        provider.endpoint("revocation_url")


def test_a_document_on_a_private_network_may_name_that_network(settings, resolver):
    configure(settings, ON_A_PRIVATE_NETWORK, {"token_endpoint": "https://10.1.2.3/token",
                                               "revocation_endpoint": "https://127.0.0.3/revoke",
                                               "authorization_endpoint": "https://169.254.169.254/authorize"})
    provider = get_provider("p")

    assert provider.endpoint("token_url") == "https://10.1.2.3/token"
    for name in ("revocation_url", "authorization_url"):
        with pytest.raises(ProviderUnavailable):
            provider.endpoint(name)


def test_the_client_secret_never_reaches_a_loopback_endpoint_named_by_a_document_elsewhere(
        settings, api, user, resolver, trap, caplog, demo):
    """The whole flow: the authorization URL is configured (the real provider), the token endpoint comes from
    a document that is not on this machine and names 127.0.0.3. The code exchange is refused before any
    connection: neither the client secret, nor the code, nor the PKCE verifier leaves."""
    configure(settings, ELSEWHERE, {"token_endpoint": f"https://127.0.0.3:{trap.port}/token"},
              client_id=demo.client_id, client_secret=demo.client_secret, scopes=["read"],
              authorization_url=demo.authorization_endpoint, redirect_uri=APP_CALLBACK)
    response = start(api, user, provider="p")
    assert response.status_code == 200, response.content
    answer = query_of(demo.authorize(response.json()["authorization_url"]))
    assert answer.get("code")

    assert_error(complete(api, user, answer, provider="p"), 503, "provider_unavailable")

    assert trap.accepted == 0 and trap.received == []
    assert not Connection.objects.exists()
    assert "127.0.0.3" in caplog.text and demo.client_secret not in caplog.text


def test_a_name_that_resolves_elsewhere_when_connecting_is_not_followed(settings, resolver, trap):
    """DNS rebinding: the name answers a public address to the check and 127.0.0.3 to the connection. The
    connection is checked again on its own resolution, and refused."""
    resolver.names["idp.test"] = ["8.8.8.8", "127.0.0.3"]  # 8.8.8.8 is never connected to (the resolver fixture)
    token_url = f"https://idp.test:{trap.port}/token"
    configure(settings, ELSEWHERE, {"token_endpoint": token_url})
    provider = get_provider("p")
    assert provider.endpoint("token_url") == token_url

    with pytest.raises(ProviderUnavailable):
        with_retries("p", lambda: provider.client().post(token_url, data={"code": "the-code"}, withhold_token=True),
                     idempotent=False)

    assert trap.accepted == 0
    assert resolver.names_looked_up() == ["idp.test", "idp.test"]  # the check, then the connection's own


def test_a_name_is_resolved_once_and_the_socket_goes_to_the_address_checked(resolver):
    """A name answering 127.0.0.1 and then 127.0.0.3: the pinned connection looks it up once and connects to
    that answer (the Host header and TLS still name the host)."""
    first = Listener("127.0.0.1", 0)
    try:
        second = Listener("127.0.0.3", first.port)
    except OSError:
        first.close()
        pytest.skip("127.0.0.3 has that port taken")
    resolver.names["idp.test"] = ["127.0.0.1", "127.0.0.3"]
    session = requests.Session()
    session.mount("http://", egress.PinnedAdapter(frozenset({egress.PUBLIC, egress.LOOPBACK})))
    try:
        response = session.get(f"http://idp.test:{first.port}/token", timeout=5)
    finally:
        first.close()
        second.close()
        session.close()

    assert response.json() == {"listener": "127.0.0.1"}
    assert (first.accepted, second.accepted) == (1, 0)
    assert f"Host: idp.test:{first.port}".encode() in first.received[0]
    assert resolver.names_looked_up() == ["idp.test"]
    assert resolver.calls.count("127.0.0.1") == 1  # urllib3 is handed the literal, never the name


def certificate_for(name: str, directory) -> tuple[str, str, str]:
    """A CA and a server certificate for the DNS name `name` only (no IP address in it): the CA's path, and
    the server's certificate and key paths."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key, server_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
              .issuer_name(ca_name).public_key(server_key.public_key())
              .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
              .not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
              .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
              .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
              .sign(ca_key, hashes.SHA256()))
    paths = [str(directory / file) for file in ("ca.pem", "server.pem", "server.key")]
    for path, data in zip(paths, [ca.public_bytes(serialization.Encoding.PEM),
                                  server.public_bytes(serialization.Encoding.PEM),
                                  server_key.private_bytes(serialization.Encoding.PEM,
                                                           serialization.PrivateFormat.PKCS8,
                                                           serialization.NoEncryption())], strict=True):
        with open(path, "wb") as file:
            file.write(data)
    return paths[0], paths[1], paths[2]


def test_tls_still_names_the_host_when_the_socket_goes_to_its_address(resolver, tmp_path):
    """The certificate names only `localhost`: it verifies, and SNI says localhost, although the socket was
    given the address 127.0.0.1."""
    ca, certificate, key = certificate_for("localhost", tmp_path)
    server_names: list[str] = []
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificate, key)
    tls.sni_callback = lambda sock, name, context: server_names.append(name)
    listener = Listener("127.0.0.1", tls=tls)
    session = requests.Session()
    session.mount("https://", egress.PinnedAdapter(frozenset({egress.LOOPBACK})))
    try:
        response = session.get(f"https://localhost:{listener.port}/token", verify=ca, timeout=5)
    finally:
        listener.close()
        session.close()

    assert response.json() == {"listener": "127.0.0.1"}
    assert server_names == ["localhost"]
    assert resolver.names_looked_up() == ["localhost"] and resolver.calls.count("127.0.0.1") == 1


def test_a_discovered_endpoint_on_loopback_is_connected_to_by_its_checked_address(settings, resolver):
    """The document on this machine names `localhost`: allowed, looked up once per check, and the socket
    connects to the literal the lookup gave."""
    listener = Listener("127.0.0.1")
    token_url = f"http://localhost:{listener.port}/token"
    configure(settings, ON_LOOPBACK, {"token_endpoint": token_url})
    provider = get_provider("p")
    try:
        assert provider.endpoint("token_url") == token_url
        resolver.calls.clear()
        response = provider.client().post(token_url, data={"grant_type": "x"}, timeout=5, withhold_token=True)
    finally:
        listener.close()

    assert response.json() == {"listener": "127.0.0.1"} and listener.accepted == 1
    assert resolver.names_looked_up() == ["localhost"]
    assert f"Host: localhost:{listener.port}".encode() in listener.received[0]


def test_a_discovered_endpoint_is_not_reached_through_a_proxy(settings, resolver, monkeypatch):
    """A proxy would look the name up again, after the check: refused (endpoints configured here still may)."""
    listener = Listener("127.0.0.1")
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{free_port()}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    token_url = f"http://127.0.0.1:{listener.port}/token"
    configure(settings, ON_LOOPBACK, {"token_endpoint": token_url})
    provider = get_provider("p")
    try:
        with pytest.raises(egress.Refused, match="proxy"):
            provider.client().post(token_url, timeout=5, withhold_token=True)
    finally:
        listener.close()
    assert listener.accepted == 0


def test_endpoints_configured_here_keep_their_own_rules(settings, resolver):
    """A revocation URL configured beside a discovery URL elsewhere is the operator's choice: not refused for
    being on loopback."""
    listener = Listener("127.0.0.1")
    revocation_url = f"http://127.0.0.1:{listener.port}/revoke"
    configure(settings, ELSEWHERE, {}, revocation_url=revocation_url)
    provider = get_provider("p")
    try:
        assert provider.endpoint("revocation_url") == revocation_url
        response = provider.client().post(revocation_url, timeout=5, withhold_token=True)
    finally:
        listener.close()
    assert response.status_code == 200 and listener.accepted == 1
