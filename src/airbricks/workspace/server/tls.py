"""The local workspace's TLS material: a private CA and a server certificate it signed, made at first start.

``databricks-sql-connector`` (the provider's ``DatabricksSqlHook``) always speaks HTTPS and verifies the server,
so the workspace offers an HTTPS listener. Clients trust the CA file (``ca.pem``), never an unverified
connection: the connector through ``_tls_trusted_ca_file``, ``requests``-based clients (the provider's REST hook,
databricks-sdk) through ``REQUESTS_CA_BUNDLE`` pointed at ``ca-bundle.pem`` (the CA plus certifi's public roots,
so public sites still verify). Everything lives under ``<data dir>/tls``; the keys are 0600. The CA's key never
leaves the data dir; a later start reuses the files (a certificate missing a host it must name is re-issued).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # cryptography is imported by the functions that use it, not with this module
    from cryptography import x509

TLS_DIR = "tls"
#: Long enough that nobody meets an expiry in a local setup; short enough to stay below what clients refuse.
_VALID_DAYS = 825


@dataclass(frozen=True)
class TlsFiles:
    """Where the workspace's TLS files are."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    #: The CA and certifi's roots in one file, for ``REQUESTS_CA_BUNDLE`` / ``SSL_CERT_FILE``.
    bundle_file: Path


def _write_private(path: Path, data: bytes) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as fh:
        fh.write(data)
    tmp.replace(path)


def _names(hosts: list[str]) -> list[str]:
    """The names the server certificate must carry: the bound host, and both loopback spellings."""
    out = []
    for host in [*hosts, "127.0.0.1", "localhost"]:
        if host and host not in ("0.0.0.0", "::") and host not in out:
            out.append(host)
    return out


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    from cryptography import x509

    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


def _covers(cert_file: Path, names: list[str]) -> bool:
    from cryptography import x509

    try:
        cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        present = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (ValueError, x509.ExtensionNotFound, OSError):
        return False
    have = {str(v) for v in present.get_values_for_type(x509.IPAddress)} | set(
        present.get_values_for_type(x509.DNSName)
    )
    expires = cert.not_valid_after_utc
    return set(names) <= have and expires > datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=7)


def ensure_tls_files(data_dir: Path, hosts: list[str] | None = None) -> TlsFiles:
    """The CA and server certificate under ``<data_dir>/tls``, made on first use (EC P-256, SHA-256)."""
    folder = Path(data_dir) / TLS_DIR
    folder.mkdir(parents=True, exist_ok=True)
    files = TlsFiles(
        ca_file=folder / "ca.pem",
        cert_file=folder / "server.pem",
        key_file=folder / "server-key.pem",
        bundle_file=folder / "ca-bundle.pem",
    )
    names = _names(hosts or [])
    ca_key_file = folder / "ca-key.pem"
    if not (files.ca_file.exists() and ca_key_file.exists()):
        _make_ca(files.ca_file, ca_key_file)
    if not (files.cert_file.exists() and files.key_file.exists() and _covers(files.cert_file, names)):
        _make_server_cert(files, ca_key_file, names)
    if not files.bundle_file.exists():
        _write_bundle(files)
    return files


def _make_ca(ca_file: Path, ca_key_file: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "airbricks local workspace CA")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_private(
        ca_key_file,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    ca_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _make_server_cert(files: TlsFiles, ca_key_file: Path, names: list[str]) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    ca_cert = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_file.read_bytes(), password=None)
    ca_public_key = ca_cert.public_key()
    if not isinstance(ca_key, ec.EllipticCurvePrivateKey) or not isinstance(ca_public_key, ec.EllipticCurvePublicKey):
        raise ValueError(f"{ca_key_file} and {files.ca_file} are not the EC key pair airbricks makes: delete them")
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=_VALID_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_san(names), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_public_key), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write_private(
        files.key_file,
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
    )
    files.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_bundle(files: TlsFiles) -> None:
    """The CA followed by certifi's roots (when certifi is installed, as it is wherever requests is)."""
    parts = [files.ca_file.read_bytes()]
    try:
        import certifi

        parts.append(Path(certifi.where()).read_bytes())
    except ImportError:
        pass
    files.bundle_file.write_bytes(b"\n".join(parts))
