import Auth
import XCTest

/// One valid PyJWT token per algorithm, verified through the JWKS (and the HMAC JWK).
final class ValidTokenTests: XCTestCase {
    func testHS256() throws { assertStandardClaims(assertAccepted(try verify("valid_hs256"))) }
    func testHS384() throws { assertStandardClaims(assertAccepted(try verify("valid_hs384"))) }
    func testHS512() throws { assertStandardClaims(assertAccepted(try verify("valid_hs512"))) }
    func testRS256() throws { assertStandardClaims(assertAccepted(try verify("valid_rs256"))) }
    func testRS384() throws { assertStandardClaims(assertAccepted(try verify("valid_rs384"))) }
    func testRS512() throws { assertStandardClaims(assertAccepted(try verify("valid_rs512"))) }
    func testPS256() throws { assertStandardClaims(assertAccepted(try verify("valid_ps256"))) }
    func testES256() throws { assertStandardClaims(assertAccepted(try verify("valid_es256"))) }
    func testES384() throws { assertStandardClaims(assertAccepted(try verify("valid_es384"))) }
    func testEdDSA() throws { assertStandardClaims(assertAccepted(try verify("valid_eddsa"))) }

    func testAudienceListContainingTheExpectedOne() throws {
        let claims = assertAccepted(try verify("aud_list"))
        XCTAssertEqual(claims?.audience, ["billing", "relay"])
    }

    func testChannelsAndInfo() throws {
        let claims = assertAccepted(try verify("rich_rs256"))
        XCTAssertEqual(claims?.subject, "user-42")
        XCTAssertEqual(claims?.channels, ["room:1", "room:2"])
        // Compact, keys sorted at every level, arrays in their order.
        XCTAssertEqual(claims?.info, #"{"meta":{"a":true,"z":1},"name":"Ada","role":"admin","tags":["b","a"]}"#)
        XCTAssertNil(claims?.channel)
    }

    func testSubscriptionTokenChannel() throws {
        let claims = assertAccepted(try verify("subscription"))
        XCTAssertEqual(claims?.channel, "room:1")
        XCTAssertEqual(claims?.channels, [])
    }

    func testFractionalTimes() throws {
        let claims = assertAccepted(try verify("float_exp"))
        XCTAssertEqual(claims?.expiresAt, 4_102_444_800.5)
        XCTAssertEqual(claims?.notBefore, Fixture.now - 0.25)
    }

    func testJWKAlgorithmRestrictionKept() throws {
        assertStandardClaims(assertAccepted(try verify("alg_restriction_kept")))
    }

    func testNoIssuerOrAudienceConfiguredSkipsThoseChecks() throws {
        let options = JWTVerifier.Options()
        assertStandardClaims(assertAccepted(try verify("valid_rs256", options: options)))
        XCTAssertNotNil(assertAccepted(try verify("wrong_iss", options: options)))
        XCTAssertNotNil(assertAccepted(try verify("wrong_aud", options: options)))
    }

    /// The same tokens verify with keys loaded from PEM rather than from the JWKS.
    func testPEMKeysVerifyEveryPublicKeyAlgorithm() throws {
        let keys = KeySet([
            try VerificationKey(pem: Fixture.text("rsa_public.pem"), kid: "rsa-1"),
            try VerificationKey(pem: Fixture.text("ec256_public.pem"), kid: "ec256-1"),
            try VerificationKey(pem: Fixture.text("ec384_public.pem"), kid: "ec384-1"),
            try VerificationKey(pem: Fixture.text("ed25519_public.pem"), kid: "ed-1"),
        ])
        let verifier = JWTVerifier(keys: keys, options: Fixture.expectedOptions)
        for name in ["valid_rs256", "valid_rs384", "valid_rs512", "valid_ps256", "valid_es256", "valid_es384", "valid_eddsa"] {
            assertStandardClaims(assertAccepted(verifier.verify(Fixture.token(name), now: Fixture.now)))
        }
    }

    func testCertificateKeyVerifies() throws {
        let keys = KeySet([try VerificationKey(pem: Fixture.text("rsa_cert.pem"), kid: "rsa-1")])
        let verifier = JWTVerifier(keys: keys, options: Fixture.expectedOptions)
        assertStandardClaims(assertAccepted(verifier.verify(Fixture.token("valid_rs256"), now: Fixture.now)))
    }
}
