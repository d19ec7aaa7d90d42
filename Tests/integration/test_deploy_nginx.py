"""The deployment of docs/DEPLOY.md: Debian's nginx terminates TLS in front of two Relay replicas,
with the shipped proxy settings (deploy/nginx/relay-proxy.conf). A client speaks relay.v1 over WSS
through it; the certificate is checked by the client; close codes pass through."""

from __future__ import annotations

import datetime
import getpass
import ssl
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect as ws_connect

from gateway_support import SUBPROTOCOL, GatewayClient, gateway_config, make_token
from wsraw import run_async

REPO = Path(__file__).resolve().parents[2]
# Debian's nginx (make test installs nginx-light).
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def write_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """A test CA and a certificate for `localhost` signed by it."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Relay test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = directory / "ca.pem", directory / "cert.pem", directory / "key.pem"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture
def nginx_front(gateway, tmp_path):
    replicas = [gateway(gateway_config()) for _ in range(2)]
    ca, cert, key = write_certificates(tmp_path)
    port = free_port()
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (tmp_path / name).mkdir()
    upstreams = "\n".join(f"        server 127.0.0.1:{replica.port};" for replica in replicas)
    config = tmp_path / "nginx.conf"
    config.write_text(f"""
user {getpass.getuser()};
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log info;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    upstream relay {{
        least_conn;
{upstreams}
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /ws {{
            include {REPO}/deploy/nginx/relay-proxy.conf;
        }}
    }}
}}
""")
    process = subprocess.Popen([NGINX, "-p", str(tmp_path), "-c", str(config), "-g", "daemon off;"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"nginx did not start: {process.stderr.read().decode()}\n{(tmp_path / 'error.log').read_text()}")
            time.sleep(0.05)
    context = ssl.create_default_context(cafile=str(ca))
    yield port, context, replicas
    process.terminate()
    process.wait(timeout=10)


async def open_client(port: int, context, host: str = "localhost", name: str = "") -> GatewayClient:
    ws = await ws_connect(f"wss://{host}:{port}/ws", ssl=context, server_hostname="localhost" if host == "127.0.0.1" else None,
                          subprotocols=[SUBPROTOCOL], open_timeout=5, close_timeout=2, ping_interval=None)
    return GatewayClient(ws, name)


def test_relay_v1_over_wss_through_nginx_to_both_replicas(nginx_front):
    port, context, replicas = nginx_front

    async def scenario():
        clients = [await open_client(port, context, name=f"user{index}") for index in range(6)]
        try:
            for index, client in enumerate(clients):
                await client.ok("connect", token=make_token(f"user{index}"))
                await client.ok("subscribe", channel=f"user:user{index}")
                await client.ok("ping")
            refused = await open_client(port, context, name="refused")
            await refused.call("connect", token=make_token("mallory", ttl=-120))
            assert await refused.expect_close() == 4003, "the close code passes through nginx"
        finally:
            for client in clients:
                await client.close()

    run_async(scenario(), timeout=30)
    # least_conn spread the connections over both replicas.
    per_replica = [sum(1 for record in replica.log_records() if record.get("message") == "authenticated")
                   for replica in replicas]
    assert all(count >= 1 for count in per_replica) and sum(per_replica) == 6, per_replica


def test_the_client_checks_the_certificate(nginx_front):
    port, context, _ = nginx_front

    async def untrusted():
        await ws_connect(f"wss://localhost:{port}/ws", ssl=ssl.create_default_context(), open_timeout=5)

    with pytest.raises(ssl.SSLCertVerificationError):
        run_async(untrusted(), timeout=10)

    async def wrong_name():
        await ws_connect(f"wss://127.0.0.1:{port}/ws", ssl=context, open_timeout=5)

    with pytest.raises(ssl.SSLCertVerificationError):
        run_async(wrong_name(), timeout=10)
