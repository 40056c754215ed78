"""The collector against a real asyncua server that only accepts Basic256Sha256 SignAndEncrypt and user names."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import Server, ua
from asyncua.crypto.cert_gen import dump_private_key_as_pem, generate_private_key, generate_self_signed_app_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from integrations.opcua.collector import EndpointCollector
from integrations.opcua.config import EndpointConfig, TagRef, parse_endpoints
from integrations.opcua.errors import OpcUaError

from .conftest import free_port

on_module_loop = pytest.mark.asyncio(loop_scope="module")  # the secured server lives on the module loop

SERVER_URI = "urn:opsbot:test:secured-plc"
CLIENT_URI = "urn:opsbot:test:collector"
NAMESPACE = "urn:opsbot:test:secured"
USERS = {"operator": "s3cret!"}
STATE_VALUE = 3


@dataclass(frozen=True)
class SecuredServer:
    """Where the secured server listens and the client-side files a correct config needs."""

    url: str
    client_cert: Path
    client_key: Path
    server_cert: Path

    def security(self, *, pin_server_cert: bool = False) -> str:
        parts = ["Basic256Sha256", "SignAndEncrypt", str(self.client_cert), str(self.client_key)]
        return ",".join([*parts, str(self.server_cert)] if pin_server_cert else parts)


class PasswordUserManager:
    """Accepts exactly the users in USERS; None makes asyncua answer BadUserAccessDenied."""

    def get_user(
        self, iserver: Any, username: str | None = None, password: str | None = None, certificate: Any = None
    ) -> User | None:
        if username is not None and USERS.get(username) == password:
            return User(role=UserRole.User, name=username)
        return None


def write_app_certificate(
    folder: Path, stem: str, app_uri: str, usage: x509.ObjectIdentifier, der: bool
) -> tuple[Path, Path]:
    """A self-signed application certificate for app_uri and this host (as OPC UA Part 6 wants), and its key."""
    key = generate_private_key()
    names: list[x509.GeneralName] = [
        x509.UniformResourceIdentifier(app_uri),
        x509.DNSName(socket.gethostname()),
        x509.DNSName("localhost"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
    ]
    cert = generate_self_signed_app_certificate(
        key, stem, {"organizationName": "opsbot tests"}, names, extended=[usage], days=2
    )
    cert_path = folder / f"{stem}.{'der' if der else 'pem'}"
    cert_path.write_bytes(cert.public_bytes(Encoding.DER if der else Encoding.PEM))
    key_path = folder / f"{stem}-key.pem"
    key_path.write_bytes(dump_private_key_as_pem(key))
    return cert_path, key_path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def secured(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[SecuredServer]:
    folder = tmp_path_factory.mktemp("opcua-pki")
    server_cert, server_key = write_app_certificate(folder, "server", SERVER_URI, ExtendedKeyUsageOID.SERVER_AUTH, True)
    client_cert, client_key = write_app_certificate(
        folder, "client", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH, False
    )
    url = f"opc.tcp://127.0.0.1:{free_port()}/secured/"
    server = Server(user_manager=PasswordUserManager())  # type: ignore[arg-type]
    await server.init()
    server.set_endpoint(url)
    await server.set_application_uri(SERVER_URI)
    server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
    server.set_identity_tokens([ua.UserNameIdentityToken])
    await server.load_certificate(server_cert)
    await server.load_private_key(server_key)
    # The server checks the client certificate's validity, URI (against ApplicationUri) and key usage.
    server.set_certificate_validator(
        CertificateValidator(CertificateValidatorOptions.EXT_VALIDATION | CertificateValidatorOptions.PEER_CLIENT)
    )
    index = await server.register_namespace(NAMESPACE)
    machine = await server.nodes.objects.add_object(index, "Press1")
    await machine.add_variable(ua.NodeId("Press1.State", index), "State", ua.Variant(STATE_VALUE, ua.VariantType.Int32))
    await server.start()
    try:
        yield SecuredServer(url=url, client_cert=client_cert, client_key=client_key, server_cert=server_cert)
    finally:
        await server.stop()


def config(secured: SecuredServer, **overrides: Any) -> EndpointConfig:
    values: dict[str, Any] = {
        "name": "press",
        "url": secured.url,
        "timeout_s": 2.0,
        "security": secured.security(),
        "username": "operator",
        "password": USERS["operator"],
        "application_uri": CLIENT_URI,
    }
    return EndpointConfig(**(values | overrides))


TAGS = [TagRef("state", f"nsu={NAMESPACE};s=Press1.State")]


@on_module_loop
@pytest.mark.parametrize("pin_server_cert", [False, True], ids=["discovered-server-cert", "pinned-server-cert"])
async def test_right_certificates_and_password_read_good_values(secured: SecuredServer, pin_server_cert: bool) -> None:
    collector = EndpointCollector(config(secured, security=secured.security(pin_server_cert=pin_server_cert)), TAGS)
    try:
        await collector.connect()
        cycle = await collector.read_once()
    finally:
        await collector.close()
    assert cycle.ok, cycle.error
    assert cycle.values["state"].value == STATE_VALUE
    assert cycle.values["state"].good and cycle.values["state"].status == "Good"


@on_module_loop
async def test_wrong_password_is_a_readable_error(secured: SecuredServer) -> None:
    collector = EndpointCollector(config(secured, password="wrong"), TAGS)
    try:
        with pytest.raises(OpcUaError, match="BadUserAccessDenied") as caught:
            await collector.connect()
        cycle = await collector.read_once()
    finally:
        await collector.close()
    assert secured.url in str(caught.value)
    assert not cycle.ok and "BadUserAccessDenied" in (cycle.error or "")
    assert not collector.connected


@on_module_loop
async def test_no_user_token_against_username_only_server_is_rejected(secured: SecuredServer) -> None:
    collector = EndpointCollector(config(secured, username=None, password=None), TAGS)
    try:
        with pytest.raises(OpcUaError, match="BadIdentityTokenRejected"):
            await collector.connect()
    finally:
        await collector.close()


@on_module_loop
async def test_no_security_against_secured_only_endpoint_is_a_readable_error(secured: SecuredServer) -> None:
    collector = EndpointCollector(config(secured, security=None), TAGS)
    try:
        with pytest.raises(OpcUaError) as caught:
            await collector.connect()
        cycle = await collector.read_once()
    finally:
        await collector.close()
    message = str(caught.value)
    # The server offers no SecurityPolicy#None endpoint; the line says so and names the endpoint.
    assert secured.url in message and "No matching endpoints" in message and "SecurityPolicy#None" in message
    assert "\n" not in message
    assert not cycle.ok and cycle.error == message


@on_module_loop
async def test_client_certificate_for_another_application_uri_is_rejected(secured: SecuredServer) -> None:
    collector = EndpointCollector(config(secured, application_uri="urn:someone:else"), TAGS)
    try:
        with pytest.raises(OpcUaError) as caught:
            await collector.connect()
    finally:
        await collector.close()
    assert "BadCertificateUriInvalid" in str(caught.value)


@on_module_loop
async def test_application_uri_defaults_to_the_client_certificate_uri(secured: SecuredServer) -> None:
    collector = EndpointCollector(config(secured, application_uri=None), TAGS)
    try:
        await collector.connect()
        cycle = await collector.read_once()
    finally:
        await collector.close()
    assert cycle.ok and cycle.values["state"].value == STATE_VALUE, cycle.error


def test_missing_certificate_file_is_one_readable_line(tmp_path: Path) -> None:
    key = tmp_path / "client-key.pem"
    key.write_text("not checked here")
    missing = tmp_path / "nowhere" / "client.pem"
    table = {
        "name": "press",
        "url": "opc.tcp://127.0.0.1:4840",
        "security": f"Basic256Sha256,SignAndEncrypt,{missing},{key}::keypass",
        "application_uri": CLIENT_URI,
    }
    endpoints, errors = parse_endpoints([table])
    assert endpoints == []
    assert errors == [f"equipment.endpoints[0].security: client certificate file not found: {missing}"]


def test_existing_files_pass_and_blanks_around_commas_are_dropped(tmp_path: Path) -> None:
    cert, key, server = (tmp_path / name for name in ("client.pem", "client-key.pem", "server.der"))
    for path in (cert, key, server):
        path.write_bytes(b"x")
    table = {
        "name": "press",
        "url": "opc.tcp://127.0.0.1:4840",
        "security": f"Basic256Sha256, SignAndEncrypt, {cert}, {key}, {server}",
    }
    endpoints, errors = parse_endpoints([table])
    assert errors == []
    assert endpoints[0].security == f"Basic256Sha256,SignAndEncrypt,{cert},{key},{server}"
