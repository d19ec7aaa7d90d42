import Auth
import XCTest

/// Tokens whose signature, algorithm or key is wrong: each refused with its exact code.
final class SignatureFailureTests: XCTestCase {
    func testTamperedPayload() throws { assertRejected(try verify("tampered_payload"), "bad_signature") }
    func testTamperedSignature() throws { assertRejected(try verify("tampered_signature"), "bad_signature") }
    func testTruncatedSignature() throws { assertRejected(try verify("truncated_signature"), "bad_signature") }
    func testTamperedHS256Signature() throws { assertRejected(try verify("tampered_signature_hs256"), "bad_signature") }
    func testTamperedPS256Signature() throws { assertRejected(try verify("tampered_signature_ps256"), "bad_signature") }
    func testTamperedEdDSASignature() throws { assertRejected(try verify("tampered_signature_eddsa"), "bad_signature") }
    func testTamperedES256Signature() throws { assertRejected(try verify("tampered_signature_es256"), "bad_signature") }

    /// r || s must be exactly 64 bytes for ES256; 63 is not padded or guessed at.
    func testTruncatedES256Signature() throws {
        assertRejected(try verify("truncated_signature_es256"), "bad_signature")
    }

    /// An ES256 signature in DER form (as OpenSSL would make it) is not a JWS signature.
    func testDERFormES256SignatureRefused() throws {
        let parts = Fixture.token("valid_es256").split(separator: ".", omittingEmptySubsequences: false)
        let raw = try XCTUnwrap(Base64Decoding.url(String(parts[2])))
        let der = derSignature(r: Array(raw[..<32]), s: Array(raw[32...]))
        let token = "\(parts[0]).\(parts[1]).\(Base64Decoding.urlEncode(der))"
        assertRejected(try Fixture.verifier().verify(token, now: Fixture.now), "bad_signature")
    }

    func testEmptySignature() throws {
        let parts = Fixture.token("valid_rs256").split(separator: ".", omittingEmptySubsequences: false)
        assertRejected(try Fixture.verifier().verify("\(parts[0]).\(parts[1]).", now: Fixture.now), "bad_signature")
    }

    func testAlgNone() throws { assertRejected(try verify("alg_none"), "unsupported_algorithm") }
    func testAlgNoneCapitalized() throws { assertRejected(try verify("alg_None"), "unsupported_algorithm") }
    func testAlgNoneUppercase() throws { assertRejected(try verify("alg_NONE"), "unsupported_algorithm") }
    func testAlgNoneMixedCase() throws { assertRejected(try verify("alg_nOnE"), "unsupported_algorithm") }
    func testAlgNoneWithACopiedSignature() throws {
        assertRejected(try verify("alg_none_with_signature"), "unsupported_algorithm")
    }
    func testUnsupportedAlgorithmRS1() throws { assertRejected(try verify("alg_rs1"), "unsupported_algorithm") }

    /// HS256 keyed with the RSA public key's PEM, naming the RSA key's kid: an RSA key never
    /// verifies HS256, so the HMAC is not even computed.
    func testAlgorithmConfusionWithKid() throws {
        assertRejected(try verify("hs256_confusion"), "unsupported_algorithm")
    }

    /// The same without a kid, against a set whose only key is that RSA key (no kid).
    func testAlgorithmConfusionWithoutKid() throws {
        let keys = KeySet([try VerificationKey(pem: Fixture.text("rsa_public.pem"))])
        let verifier = JWTVerifier(keys: keys, options: Fixture.expectedOptions)
        assertRejected(verifier.verify(Fixture.token("hs256_confusion_no_kid"), now: Fixture.now), "unsupported_algorithm")
        XCTAssertNotNil(assertAccepted(verifier.verify(Fixture.token("no_kid_rs256"), now: Fixture.now)))
    }

    /// Even a key explicitly built from the PEM bytes as a secret would need to be configured as
    /// one; an RSA key cannot be widened to HMAC.
    func testRSAKeyCannotBeGivenHMACAlgorithms() {
        XCTAssertThrowsError(try VerificationKey(pem: Fixture.text("rsa_public.pem"), algorithms: [.hs256])) { error in
            XCTAssertEqual(error as? KeyError, .algorithmMismatch(.hs256, .rsa))
        }
    }

    func testUnknownKid() throws { assertRejected(try verify("unknown_kid"), "unknown_key") }

    /// ES256 signed with P-256 but naming the P-384 key: that key verifies ES384 only.
    func testES256AgainstTheP384Key() throws {
        assertRejected(try verify("es256_with_p384_kid"), "unsupported_algorithm")
        XCTAssertThrowsError(try VerificationKey(pem: Fixture.text("ec384_public.pem"), algorithms: [.es256])) { error in
            XCTAssertEqual(error as? KeyError, .algorithmMismatch(.es256, .p384))
        }
    }

    /// RS384 naming a JWK whose `alg` is RS256 (same RSA key, so the signature itself is good).
    func testJWKAlgorithmRestrictionViolated() throws {
        assertRejected(try verify("alg_restriction_violated"), "unsupported_algorithm")
    }

    /// DER: SEQUENCE { INTEGER r, INTEGER s } for components under 128 bytes.
    private func derSignature(r: [UInt8], s: [UInt8]) -> [UInt8] {
        func integer(_ bytes: [UInt8]) -> [UInt8] {
            var value = Array(bytes.drop(while: { $0 == 0 }))
            if value.isEmpty || value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(r) + integer(s)
        return [0x30, UInt8(body.count)] + body
    }
}
