#!/usr/bin/env python3
"""Makes the Auth test fixtures with real PyJWT, so the Swift verifier is checked against an
independent issuer rather than against tokens it (or we) produced.

Run once and commit the output; the Swift tests only read the files, they never need Python:

    python3 -m pip install pyjwt cryptography
    python3 Tests/AuthTests/Fixtures/make_fixtures.py

Every key here is generated for the tests and used nowhere else. Valid tokens expire in 2100 so
the fixtures stay valid; the tests pass `now` explicitly (NOW below) anyway.
"""

import base64
import hashlib
import hmac
import json
import os
import secrets

import jwt
from jwt.algorithms import ECAlgorithm, HMACAlgorithm, OKPAlgorithm, RSAAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.x509.oid import NameOID
import datetime

HERE = os.path.dirname(os.path.abspath(__file__))

NOW = 1_750_000_000          # 2025-06-15, the `now` the Swift tests pass
EXP_2100 = 4_102_444_800     # 2100-01-01
EXP_2001 = 1_000_000_000     # 2001-09-09
Y2099 = 4_070_908_800        # 2099-01-01
ISSUER = "https://api.relay.test"
AUDIENCE = "relay"
SUBJECT = "user-42"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_json(obj) -> str:
    return b64url(json.dumps(obj, separators=(",", ":")).encode())


def write(name: str, text: str) -> None:
    with open(os.path.join(HERE, name), "w") as f:
        f.write(text)


def pem_public(key) -> str:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# Keys ---------------------------------------------------------------------------------------
rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_enc_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
rsa_weak_key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # refused: < 2048
p256_key = ec.generate_private_key(ec.SECP256R1())
p384_key = ec.generate_private_key(ec.SECP384R1())
p521_key = ec.generate_private_key(ec.SECP521R1())
ed_key = ed25519.Ed25519PrivateKey.generate()
hs_secret = secrets.token_bytes(64)  # 64 bytes: long enough for HS512 (RFC 7518 §3.2)

rsa_pem = pem_public(rsa_key)
write("rsa_public.pem", rsa_pem)
write("ec256_public.pem", pem_public(p256_key))
write("ec384_public.pem", pem_public(p384_key))
write("ed25519_public.pem", pem_public(ed_key))
write("rsa1024_public.pem", pem_public(rsa_weak_key))

# A self-signed certificate around the RSA key: some issuers publish certificates, not bare keys.
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relay test issuer")])
cert = (
    x509.CertificateBuilder()
    .subject_name(name)
    .issuer_name(name)
    .public_key(rsa_key.public_key())
    .serial_number(x509.random_serial_number())
    .not_valid_before(datetime.datetime(2024, 1, 1))
    .not_valid_after(datetime.datetime(2100, 1, 1))
    .sign(rsa_key, hashes.SHA256())
)
write("rsa_cert.pem", cert.public_bytes(serialization.Encoding.PEM).decode())


def jwk(algorithm_class, key, **extra):
    d = algorithm_class.to_jwk(key, as_dict=True)
    d.update(extra)
    return d


jwks = {
    "keys": [
        jwk(RSAAlgorithm, rsa_key.public_key(), kid="rsa-1", use="sig"),
        jwk(ECAlgorithm, p256_key.public_key(), kid="ec256-1", use="sig"),
        jwk(ECAlgorithm, p384_key.public_key(), kid="ec384-1"),
        jwk(OKPAlgorithm, ed_key.public_key(), kid="ed-1", use="sig"),
        # The same RSA key, but its `alg` allows RS256 only.
        jwk(RSAAlgorithm, rsa_key.public_key(), kid="rsa-rs256-only", alg="RS256"),
        # Skipped by the loader: an encryption key, and a curve Relay does not support.
        jwk(RSAAlgorithm, rsa_enc_key.public_key(), kid="rsa-enc", use="enc"),
        jwk(ECAlgorithm, p521_key.public_key(), kid="ec521-1"),
    ]
}
write("jwks.json", json.dumps(jwks, indent=2) + "\n")
# The HMAC secret as an `oct` JWK, in its own file: a JWKS that is published must never hold it.
write("hmac.jwk.json", json.dumps(jwk(HMACAlgorithm, hs_secret, kid="hs-1"), indent=2) + "\n")


# Tokens -------------------------------------------------------------------------------------
def claims(**changes):
    c = {"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": NOW - 60, "exp": EXP_2100}
    for k, v in changes.items():
        if v is None:
            c.pop(k, None)
        else:
            c[k] = v
    return c


SIGNERS = {
    "HS256": (hs_secret, "hs-1"), "HS384": (hs_secret, "hs-1"), "HS512": (hs_secret, "hs-1"),
    "RS256": (rsa_key, "rsa-1"), "RS384": (rsa_key, "rsa-1"), "RS512": (rsa_key, "rsa-1"),
    "PS256": (rsa_key, "rsa-1"),
    "ES256": (p256_key, "ec256-1"), "ES384": (p384_key, "ec384-1"),
    "EdDSA": (ed_key, "ed-1"),
}


def sign(alg, payload, kid="default"):
    key, default_kid = SIGNERS[alg]
    headers = {} if kid is None else {"kid": default_kid if kid == "default" else kid}
    return jwt.encode(payload, key, algorithm=alg, headers=headers)


def parts(token):
    return token.split(".")


def flip_last_signature_byte(token):
    h, p, s = parts(token)
    sig = bytearray(base64.urlsafe_b64decode(s + "=" * (-len(s) % 4)))
    sig[len(sig) // 2] ^= 0x01
    return f"{h}.{p}.{b64url(bytes(sig))}"


def drop_signature_bytes(token, count):
    h, p, s = parts(token)
    sig = base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
    return f"{h}.{p}.{b64url(sig[:-count])}"


tokens = {}
for alg in SIGNERS:
    tokens[f"valid_{alg.lower()}"] = sign(alg, claims())

valid_rs256 = tokens["valid_rs256"]
h, _, s = parts(valid_rs256)
tokens["tampered_payload"] = f"{h}.{b64url_json(claims(sub='admin'))}.{s}"
tokens["tampered_signature"] = flip_last_signature_byte(valid_rs256)
tokens["truncated_signature"] = drop_signature_bytes(valid_rs256, 1)
tokens["truncated_signature_es256"] = drop_signature_bytes(tokens["valid_es256"], 1)
tokens["tampered_signature_es256"] = flip_last_signature_byte(tokens["valid_es256"])
tokens["tampered_signature_eddsa"] = flip_last_signature_byte(tokens["valid_eddsa"])
tokens["tampered_signature_hs256"] = flip_last_signature_byte(tokens["valid_hs256"])
tokens["tampered_signature_ps256"] = flip_last_signature_byte(tokens["valid_ps256"])

tokens["expired"] = sign("RS256", claims(iat=EXP_2001 - 3600, exp=EXP_2001))
tokens["nbf_2099"] = sign("RS256", claims(nbf=Y2099))
tokens["iat_2099"] = sign("RS256", claims(iat=Y2099))
tokens["wrong_iss"] = sign("RS256", claims(iss="https://evil.example"))
tokens["wrong_aud"] = sign("RS256", claims(aud="billing"))
tokens["aud_list"] = sign("RS256", claims(aud=["billing", AUDIENCE]))
tokens["aud_list_without_expected"] = sign("RS256", claims(aud=["billing", "search"]))
tokens["missing_sub"] = sign("RS256", claims(sub=None))
tokens["missing_exp"] = sign("RS256", claims(exp=None))
tokens["empty_sub"] = sign("RS256", claims(sub=""))
tokens["exp_string"] = sign("RS256", claims(exp="4102444800"))
tokens["exp_bool"] = sign("RS256", claims(exp=True))
tokens["sub_number"] = sign("RS256", claims(sub=42))
tokens["aud_number"] = sign("RS256", claims(aud=7))
tokens["channels_not_strings"] = sign("RS256", claims(channels=["room:1", 2]))
tokens["channels_not_array"] = sign("RS256", claims(channels="room:1"))
tokens["channel_not_string"] = sign("RS256", claims(channel=["room:1"]))
tokens["expired_10s_ago"] = sign("RS256", claims(exp=NOW - 10))
tokens["nbf_in_10s"] = sign("RS256", claims(nbf=NOW + 10))
tokens["float_exp"] = sign("RS256", claims(exp=EXP_2100 + 0.5, nbf=NOW - 0.25))

# Payload that is valid JSON but not an object, signed properly (built by hand: PyJWT wants a dict).
def hand_sign_rs256(header, payload_bytes):
    signing_input = f"{b64url_json(header)}.{b64url(payload_bytes)}".encode()
    from cryptography.hazmat.primitives.asymmetric import padding
    sig = rsa_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input.decode()}.{b64url(sig)}"

tokens["payload_array"] = hand_sign_rs256({"alg": "RS256", "kid": "rsa-1"}, b'["sub","exp"]')
tokens["payload_not_json"] = hand_sign_rs256({"alg": "RS256", "kid": "rsa-1"}, b"sub=user-42")
tokens["header_kid_number"] = hand_sign_rs256({"alg": "RS256", "kid": 1}, json.dumps(claims()).encode())
tokens["header_crit"] = hand_sign_rs256({"alg": "RS256", "kid": "rsa-1", "crit": ["exp"]}, json.dumps(claims()).encode())

# alg "none": unsigned, built by hand (PyJWT would need to be told to), in several spellings.
for spelling in ["none", "None", "NONE", "nOnE"]:
    header = {"alg": spelling, "typ": "JWT"}
    tokens[f"alg_{spelling}"] = f"{b64url_json(header)}.{b64url_json(claims())}."
# Unsupported algorithms even with a signature: none with a copied RS256 signature, and RS1.
tokens["alg_none_with_signature"] = f"{b64url_json({'alg': 'none'})}.{parts(valid_rs256)[1]}.{parts(valid_rs256)[2]}"
tokens["alg_rs1"] = f"{b64url_json({'alg': 'RS1', 'kid': 'rsa-1'})}.{parts(valid_rs256)[1]}.{parts(valid_rs256)[2]}"

# Algorithm confusion: HS256 keyed with the RSA public key's PEM bytes. PyJWT refuses to do this
# (it knows a PEM is no HMAC secret), so it is built by hand, with and without the RSA key's kid.
def confusion(header):
    signing_input = f"{b64url_json(header)}.{b64url_json(claims())}".encode()
    mac = hmac.new(rsa_pem.encode(), signing_input, hashlib.sha256).digest()
    return f"{signing_input.decode()}.{b64url(mac)}"

tokens["hs256_confusion"] = confusion({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"})
tokens["hs256_confusion_no_kid"] = confusion({"alg": "HS256", "typ": "JWT"})

tokens["unknown_kid"] = sign("RS256", claims(), kid="rsa-rotated-away")
tokens["no_kid_rs256"] = sign("RS256", claims(), kid=None)
tokens["no_kid_hs256"] = sign("HS256", claims(), kid=None)
tokens["oversized"] = sign("HS256", claims(pad="x" * 9000))
tokens["es256_with_p384_kid"] = sign("ES256", claims(), kid="ec384-1")
tokens["rich_rs256"] = sign("RS256", claims(
    channels=["room:1", "room:2"],
    info={"name": "Ada", "role": "admin", "tags": ["b", "a"], "meta": {"z": 1, "a": True}},
))
tokens["subscription"] = sign("RS256", claims(channel="room:1"))
tokens["alg_restriction_violated"] = sign("RS384", claims(), kid="rsa-rs256-only")
tokens["alg_restriction_kept"] = sign("RS256", claims(), kid="rsa-rs256-only")

fixture = {
    "now": NOW,
    "issuer": ISSUER,
    "audience": AUDIENCE,
    "subject": SUBJECT,
    "tokens": tokens,
}
write("tokens.json", json.dumps(fixture, indent=2, sort_keys=True) + "\n")
print(f"wrote {len(tokens)} tokens with PyJWT {jwt.__version__}")
