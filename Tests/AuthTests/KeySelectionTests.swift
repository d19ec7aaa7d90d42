import Auth
import Foundation
import XCTest

/// Which keys a token is checked against: by `kid` when it has one, else the keys without a kid.
final class KeySelectionTests: XCTestCase {
    private func pem(_ name: String, kid: String? = nil) throws -> VerificationKey {
        try VerificationKey(pem: Fixture.text(name), kid: kid)
    }

    /// A second RSA key (the JWKS's encryption key, made usable for the test) under a chosen kid.
    private func otherRSA(kid: String?) throws -> VerificationKey {
        let document = try JSONSerialization.jsonObject(with: Fixture.data("jwks.json")) as! [String: Any]
        var members = (document["keys"] as! [[String: Any]]).first { $0["kid"] as? String == "rsa-enc" }!
        members["use"] = nil
        members["kid"] = kid
        let data = try JSONSerialization.data(withJSONObject: members)
        return try VerificationKey(jwk: String(decoding: data, as: UTF8.self))
    }

    private func verify(_ name: String, with keys: [VerificationKey]) -> Result<Claims, AuthError> {
        JWTVerifier(keys: KeySet(keys), options: Fixture.expectedOptions).verify(Fixture.token(name), now: Fixture.now)
    }

    func testKidSelectsOnlyThatKey() throws {
        // The right key is present, but under another kid: the token's kid names the wrong one.
        let keys = [try otherRSA(kid: "rsa-1"), try pem("rsa_public.pem", kid: "rsa-2")]
        assertRejected(verify("valid_rs256", with: keys), "bad_signature")
    }

    func testEveryKeyWithTheKidIsTried() throws {
        let keys = [try otherRSA(kid: "rsa-1"), try pem("rsa_public.pem", kid: "rsa-1")]
        XCTAssertNotNil(assertAccepted(verify("valid_rs256", with: keys)))
    }

    func testKidNotInTheSet() throws {
        assertRejected(verify("valid_rs256", with: [try pem("rsa_public.pem", kid: "rsa-2")]), "unknown_key")
    }

    /// A token naming a kid never falls back to keys without one.
    func testKidDoesNotFallBackToKeysWithoutKid() throws {
        assertRejected(verify("valid_rs256", with: [try pem("rsa_public.pem")]), "unknown_key")
    }

    func testTokenWithoutKidUsesKeysWithoutKid() throws {
        let keys = [try pem("ec256_public.pem"), try otherRSA(kid: nil), try pem("rsa_public.pem")]
        XCTAssertNotNil(assertAccepted(verify("no_kid_rs256", with: keys)))
    }

    func testTokenWithoutKidIgnoresKeysWithKid() throws {
        let keys = [try pem("rsa_public.pem", kid: "rsa-1"), try otherRSA(kid: nil)]
        assertRejected(verify("no_kid_rs256", with: keys), "bad_signature")
    }

    /// Once every key has a kid, a token must name one.
    func testTokenWithoutKidWhenEveryKeyHasOne() throws {
        assertRejected(try verify("no_kid_rs256"), "unknown_key")
        assertRejected(try verify("no_kid_hs256"), "unknown_key")
    }

    func testTokenWithoutKidAndNoKeyForItsAlgorithm() throws {
        let keys = [try pem("ec256_public.pem"), try pem("rsa_public.pem", kid: "rsa-1")]
        assertRejected(verify("no_kid_rs256", with: keys), "unsupported_algorithm")
    }

    func testSecretWithoutKid() throws {
        let secret = try VerificationKey(jwk: Fixture.text("hmac.jwk.json"))
        let keys = [try pem("rsa_public.pem"), try VerificationKey(secret: secretBytes(), algorithms: nil)]
        XCTAssertNil(keys[1].kid)
        XCTAssertEqual(secret.kid, "hs-1")
        XCTAssertNotNil(assertAccepted(verify("no_kid_hs256", with: keys)))
    }

    func testEmptyKeySet() {
        assertRejected(verify("valid_rs256", with: []), "unknown_key")
        assertRejected(verify("no_kid_rs256", with: []), "unknown_key")
    }

    private func secretBytes() throws -> [UInt8] {
        let jwk = try JSONSerialization.jsonObject(with: Fixture.data("hmac.jwk.json")) as! [String: Any]
        return try XCTUnwrap(Base64Decoding.url(jwk["k"] as! String))
    }
}
