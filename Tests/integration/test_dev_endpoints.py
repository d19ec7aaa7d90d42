"""Development aids on the admin listener (config `dev`): tokens for the demo page and static
files. Real HTTP (urllib) against a real `relay serve`; the tokens are checked with PyJWT and
used on the gateway."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import jwt
import pytest
import yaml

from gateway_support import SECRET, Clients, gateway_config
from test_gateway_server_api import API_KEY, admin_port
from wsraw import run_async

REPO = Path(__file__).resolve().parents[2]


def get(port: int, path: str, *, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=b"{}" if method == "POST" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def dev_config(folder: Path, **dev) -> dict:
    config = gateway_config()
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    config["dev"] = {"tokens": True, "token_ttl": 120, "static": {"/demo/": str(folder)}, **dev}
    return config


@pytest.fixture
def site(tmp_path) -> Path:
    folder = tmp_path / "site"
    (folder / "js").mkdir(parents=True)
    (folder / "index.html").write_text("<!doctype html><title>demo</title>")
    (folder / "js" / "app.js").write_text("export const x = 1;\n")
    (folder / ".secret").write_text("hidden")
    (tmp_path / "outside.txt").write_text("outside the folder")
    return folder


def test_token_endpoint_signs_a_token_the_gateway_accepts(gateway, site):
    server = gateway(dev_config(site))
    port = admin_port(server)
    status, kind, body = get(port, "/dev/token?user=alice&name=Alice+A%2E&role=student&channels=conversation:42,conversation:7*")
    assert status == 200 and kind.startswith("application/json"), body
    reply = json.loads(body)
    claims = jwt.decode(reply["token"], SECRET, algorithms=["HS256"])
    assert claims["sub"] == "alice" == reply["user"]
    assert claims["info"] == {"name": "Alice A.", "role": "student"}
    assert claims["channels"] == ["conversation:42", "conversation:7*"]
    assert abs(claims["exp"] - (time.time() + 120)) < 5 and claims["exp"] == reply["expires"]

    async def scenario():
        async with Clients(server) as clients:
            client = await clients.connect(reply["token"])
            # The channels claim is what lets the page join its conversation.
            await client.ok("subscribe", channel="conversation:42")
            await client.ok("subscribe", channel="conversation:77")
            await client.error("subscribe", "permission_denied", channel="conversation:8")

    run_async(scenario())
    assert reply["token"] not in server.stderr_text()


def test_token_endpoint_refuses_bad_requests(gateway, site):
    server = gateway(dev_config(site))
    port = admin_port(server)
    for query in ["", "?user=", "?user=a%20b", "?user=" + "a" * 65, "?user=al/ice", "?name=x"]:
        assert get(port, "/dev/token" + query)[0] == 400, query
    assert get(port, "/dev/token?user=alice", method="POST")[0] == 405


def test_static_files_stay_inside_their_folder(gateway, site):
    server = gateway(dev_config(site))
    port = admin_port(server)
    for path in ["/demo/", "/demo", "/demo/index.html"]:
        status, kind, body = get(port, path)
        assert (status, kind) == (200, "text/html; charset=utf-8") and body.startswith(b"<!doctype html>"), path
    assert get(port, "/demo/js/app.js")[:2] == (200, "text/javascript; charset=utf-8")
    for path in ["/demo/../outside.txt", "/demo/js/../../outside.txt", "/demo/.secret", "/demo/js", "/demo/js/",
                 "/demo/missing.html", "/demo//index.html", "/demo/%2e%2e/outside.txt"]:
        status, _, body = get(port, path)
        assert status == 404 and b"outside" not in body and b"hidden" not in body, path
    assert get(port, "/demo/index.html", method="POST")[0] == 405
    # The server API is untouched by the static folders.
    assert get(port, "/health")[0] == 200


def test_the_longest_static_prefix_wins(gateway, site, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "app.js").write_text("export const y = 2;\n")
    server = gateway(dev_config(site, static={"/demo/": str(site), "/demo/js/": str(other)}))
    port = admin_port(server)
    assert get(port, "/demo/js/app.js")[2] == b"export const y = 2;\n"
    assert get(port, "/demo/index.html")[0] == 200


def test_dev_is_off_unless_configured(gateway):
    config = gateway_config()
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    server = gateway(config)
    port = admin_port(server)
    assert get(port, "/dev/token?user=alice")[0] == 404
    assert get(port, "/demo/")[0] == 404
    assert "relay dev:" not in server.stdout_text()


def test_dev_announces_itself_at_startup(gateway, site):
    server = gateway(dev_config(site))
    port = admin_port(server)
    out = server.stdout_text()
    assert f"relay dev: {site} at http://127.0.0.1:{port}/demo/" in out
    assert f"tokens for anyone at http://127.0.0.1:{port}/dev/token" in out


@pytest.mark.parametrize("dev, admin, message", [
    ({"tokens": True}, False, "dev: serves on the admin listener"),
    ({"static": {"demo/": "."}}, True, "dev.static.demo/"),
    ({"static": {"/api/": "."}}, True, "dev.static./api/"),
    ({"static": {"/demo/": "/nonexistent-folder"}}, True, "is not a folder"),
    ({"tokens": True, "colour": 1}, True, "dev.colour: unknown setting"),
])
def test_bad_dev_config_is_refused(relay, dev, admin, message):
    config = gateway_config()
    if admin:
        config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    config["dev"] = dev
    result = relay.run_to_exit("serve", config=config)
    assert result.returncode != 0 and message in result.stderr.decode(), result.stderr


def test_dev_tokens_need_an_hs256_secret(relay, tmp_path):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    pem = tmp_path / "key.pem"
    pem.write_bytes(public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    config = gateway_config(auth={"keys": [{"algorithms": ["ES256"], "public_key_file": str(pem)}]})
    config["admin"] = {"enabled": True, "port": 0, "api_key": API_KEY}
    config["dev"] = {"tokens": True}
    result = relay.run_to_exit("serve", config=config)
    assert result.returncode != 0 and "no key with an HS256 secret" in result.stderr.decode(), result.stderr


def test_only_the_dev_config_turns_dev_on():
    production = yaml.safe_load((REPO / "config" / "relay.yaml").read_text())
    development = yaml.safe_load((REPO / "config" / "relay.dev.yaml").read_text())
    assert "dev" not in production
    assert development["dev"]["tokens"] is True
    assert development["dev"]["static"]["/demo/"] == "examples/chat"
