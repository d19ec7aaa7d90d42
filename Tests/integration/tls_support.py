"""A test certificate authority made with `cryptography`: a CA, and leaf certificates it signs
for given names and validity, written as PEM files the relay config points at."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class TestCA:
    __test__ = False  # not a pytest test class

    def __init__(self, directory: Path):
        self.directory = directory
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Relay Test CA")])
        now = datetime.datetime.now(datetime.timezone.utc)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .sign(self.key, hashes.SHA256()))
        self.cert_path = directory / "ca.pem"
        self.cert_path.write_bytes(self.cert.public_bytes(serialization.Encoding.PEM))

    def issue(self, name: str, *, dns: list[str] | None = None, ips: list[str] | None = None,
              valid_days: tuple[int, int] = (-1, 30), rsa: bool = False) -> tuple[Path, Path, int]:
        """Writes NAME.crt (the leaf, then the CA: a chain) and NAME.key; returns their paths and
        the certificate's serial number."""
        from cryptography.hazmat.primitives.asymmetric import rsa as rsa_keys
        key = rsa_keys.generate_private_key(65537, 2048) if rsa else ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.timezone.utc)
        names: list[x509.GeneralName] = [x509.DNSName(d) for d in (dns if dns is not None else ["localhost"])]
        names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in (ips if ips is not None else ["127.0.0.1"])]
        serial = x509.random_serial_number()
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(self.cert.subject).public_key(key.public_key()).serial_number(serial)
                .not_valid_before(now + datetime.timedelta(days=valid_days[0]))
                .not_valid_after(now + datetime.timedelta(days=valid_days[1]))
                .add_extension(x509.SubjectAlternativeName(names), critical=False)
                .sign(self.key, hashes.SHA256()))
        cert_path = self.directory / f"{name}.crt"
        key_path = self.directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.cert.public_bytes(serialization.Encoding.PEM))
        key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return cert_path, key_path, serial

    def client_context(self, *, minimum: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
                       maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED) -> ssl.SSLContext:
        """What a browser does: trust this CA, check the host name."""
        context = ssl.create_default_context(cafile=str(self.cert_path))
        context.minimum_version = minimum
        context.maximum_version = maximum
        return context


def tls_section(*certificates: tuple[Path, Path], **settings) -> dict:
    section = {"port": 0, "certificates": [{"cert_file": str(cert), "key_file": str(key)} for cert, key in certificates]}
    section.update(settings)
    return section


def peer_serial(tls_socket: ssl.SSLSocket) -> int:
    return x509.load_der_x509_certificate(tls_socket.getpeercert(binary_form=True)).serial_number
