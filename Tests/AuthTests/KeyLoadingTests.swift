import Auth
import Foundation
import XCTest

/// Keys from a JWKS, a single JWK, PEM (SubjectPublicKeyInfo and certificates) and secrets.
final class KeyLoadingTests: XCTestCase {
    private func key(_ set: KeySet, kid: String, file: StaticString = #filePath, line: UInt = #line) -> VerificationKey? {
        let matches = set.keys.filter { $0.kid == kid }
        XCTAssertEqual(matches.count, 1, "keys with kid \(kid)", file: file, line: line)
        return matches.first
    }

    func testJWKSLoadsEveryKeyType() throws {
        let set = try KeySet.load(jwks: Fixture.data("jwks.json"))
        XCTAssertEqual(set.keys.compactMap(\.kid), ["rsa-1", "ec256-1", "ec384-1", "ed-1", "rsa-rs256-only"])
        XCTAssertEqual(key(set, kid: "rsa-1")?.kind, .rsa)
        XCTAssertEqual(key(set, kid: "rsa-1")?.algorithms, [.rs256, .rs384, .rs512, .ps256])
        XCTAssertEqual(key(set, kid: "ec256-1")?.kind, .p256)
        XCTAssertEqual(key(set, kid: "ec256-1")?.algorithms, [.es256])
        XCTAssertEqual(key(set, kid: "ec384-1")?.kind, .p384)
        XCTAssertEqual(key(set, kid: "ec384-1")?.algorithms, [.es384])
        XCTAssertEqual(key(set, kid: "ed-1")?.kind, .ed25519)
        XCTAssertEqual(key(set, kid: "ed-1")?.algorithms, [.eddsa])
        XCTAssertEqual(key(set, kid: "rsa-rs256-only")?.algorithms, [.rs256])
    }

    func testJWKSSkipsEncryptionKeysAndUnsupportedCurves() throws {
        let set = try KeySet.load(jwks: Fixture.data("jwks.json"))
        XCTAssertEqual(set.skipped.map(\.kid), ["rsa-enc", "ec521-1"])
        XCTAssertTrue(set.skipped[0].reason.contains("enc"), set.skipped[0].reason)
        XCTAssertTrue(set.skipped[1].reason.contains("P-521"), set.skipped[1].reason)
    }

    func testJWKSFromAFile() throws {
        let path = Fixture.directory.appendingPathComponent("jwks.json").path
        XCTAssertEqual(try KeySet.load(jwksFile: path).keys.count, 5)
        XCTAssertThrowsError(try KeySet.load(jwksFile: path + ".missing")) { error in
            guard case .invalidJWKS = error as? KeyError else { return XCTFail("\(error)") }
        }
    }

    func testOctJWK() throws {
        let key = try VerificationKey(jwk: Fixture.text("hmac.jwk.json"))
        XCTAssertEqual(key.kind, .secret)
        XCTAssertEqual(key.kid, "hs-1")
        XCTAssertEqual(key.algorithms, [.hs256, .hs384, .hs512])
    }

    func testSecretFromBytesVerifies() throws {
        let jwk = try JSONSerialization.jsonObject(with: Fixture.data("hmac.jwk.json")) as! [String: Any]
        let secret = try XCTUnwrap(Base64Decoding.url(jwk["k"] as! String))
        let keys = KeySet([try VerificationKey(secret: secret, kid: "hs-1", algorithms: [.hs256])])
        let verifier = JWTVerifier(keys: keys, options: Fixture.expectedOptions)
        XCTAssertNotNil(assertAccepted(verifier.verify(Fixture.token("valid_hs256"), now: Fixture.now)))
        assertRejected(verifier.verify(Fixture.token("valid_hs512"), now: Fixture.now), "unsupported_algorithm")
    }

    func testEmptySecretRefused() {
        XCTAssertThrowsError(try VerificationKey(secret: [])) { error in
            guard case .weakKey = error as? KeyError else { return XCTFail("\(error)") }
        }
    }

    func testPEMOfEveryPublicKeyType() throws {
        XCTAssertEqual(try VerificationKey(pem: Fixture.text("rsa_public.pem")).kind, .rsa)
        XCTAssertEqual(try VerificationKey(pem: Fixture.text("ec256_public.pem")).kind, .p256)
        XCTAssertEqual(try VerificationKey(pem: Fixture.text("ec384_public.pem")).kind, .p384)
        XCTAssertEqual(try VerificationKey(pem: Fixture.text("ed25519_public.pem")).kind, .ed25519)
        XCTAssertEqual(try VerificationKey(pem: Fixture.text("ed25519_public.pem")).algorithms, [.eddsa])
    }

    func testPEMOfACertificate() throws {
        let key = try VerificationKey(pem: Fixture.text("rsa_cert.pem"), kid: "rsa-1")
        XCTAssertEqual(key.kind, .rsa)
        XCTAssertEqual(key.kid, "rsa-1")
    }

    func testPEMWithAlgorithmRestriction() throws {
        let key = try VerificationKey(pem: Fixture.text("rsa_public.pem"), algorithms: [.ps256])
        XCTAssertEqual(key.algorithms, [.ps256])
    }

    func testShortRSAKeyRefused() {
        XCTAssertThrowsError(try VerificationKey(pem: Fixture.text("rsa1024_public.pem"))) { error in
            guard case .weakKey = error as? KeyError else { return XCTFail("\(error)") }
        }
    }

    func testGarbagePEMRefused() {
        for text in ["", "not a pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"] {
            XCTAssertThrowsError(try VerificationKey(pem: text)) { error in
                XCTAssertEqual(error as? KeyError, .invalidPEM)
            }
        }
    }

    /// Only PUBLIC KEY and CERTIFICATE blocks are read; a private key given by mistake is refused.
    func testPrivateKeyLabelRefused() {
        let relabeled = Fixture.text("ec256_public.pem").replacingOccurrences(of: "PUBLIC KEY", with: "PRIVATE KEY")
        XCTAssertThrowsError(try VerificationKey(pem: relabeled)) { error in
            XCTAssertEqual(error as? KeyError, .invalidPEM)
        }
    }

    // MARK: Single JWKs

    private func jwk(_ kid: String) throws -> [String: Any] {
        let document = try JSONSerialization.jsonObject(with: Fixture.data("jwks.json")) as! [String: Any]
        return (document["keys"] as! [[String: Any]]).first { $0["kid"] as? String == kid }!
    }

    private func load(_ members: [String: Any]) throws -> VerificationKey {
        let data = try JSONSerialization.data(withJSONObject: members)
        return try VerificationKey(jwk: String(decoding: data, as: UTF8.self))
    }

    private func assertJWKError(_ members: [String: Any], _ check: (KeyError) -> Bool,
                                file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try load(members), file: file, line: line) { error in
            guard let keyError = error as? KeyError, check(keyError) else {
                return XCTFail("unexpected \(error)", file: file, line: line)
            }
        }
    }

    private func isInvalid(_ error: KeyError) -> Bool { if case .invalidJWK = error { return true }; return false }
    private func isUnusable(_ error: KeyError) -> Bool { if case .unusableJWK = error { return true }; return false }

    func testEachJWKTypeLoadsAlone() throws {
        XCTAssertEqual(try load(jwk("rsa-1")).kind, .rsa)
        XCTAssertEqual(try load(jwk("ec256-1")).kind, .p256)
        XCTAssertEqual(try load(jwk("ec384-1")).kind, .p384)
        XCTAssertEqual(try load(jwk("ed-1")).kind, .ed25519)
    }

    func testJWKWithoutKty() throws {
        var members = try jwk("rsa-1")
        members["kty"] = nil
        assertJWKError(members, isInvalid)
    }

    func testRSAJWKWithoutModulus() throws {
        var members = try jwk("rsa-1")
        members["n"] = nil
        assertJWKError(members, isInvalid)
    }

    func testJWKWithPaddedBase64() throws {
        var members = try jwk("rsa-1")
        members["e"] = "AQAB="
        assertJWKError(members, isInvalid)
    }

    func testECPointNotOnTheCurve() throws {
        var members = try jwk("ec256-1")
        var y = try XCTUnwrap(Base64Decoding.url(members["y"] as! String))
        y[31] ^= 0x01
        members["y"] = Base64Decoding.urlEncode(y)
        assertJWKError(members, isInvalid)
    }

    func testECCoordinateOfTheWrongLength() throws {
        var members = try jwk("ec384-1")
        let x = try XCTUnwrap(Base64Decoding.url(members["x"] as! String))
        members["x"] = Base64Decoding.urlEncode(Array(x.dropFirst()))
        assertJWKError(members, isInvalid)
    }

    func testEd25519KeyOfTheWrongLength() throws {
        var members = try jwk("ed-1")
        members["x"] = Base64Decoding.urlEncode([UInt8](repeating: 7, count: 31))
        assertJWKError(members, isInvalid)
    }

    func testJWKAlgorithmThatDoesNotFitTheKey() throws {
        var members = try jwk("ec256-1")
        members["alg"] = "ES384"
        XCTAssertThrowsError(try load(members)) { error in
            XCTAssertEqual(error as? KeyError, .algorithmMismatch(.es384, .p256))
        }
        members["alg"] = "HS256"
        XCTAssertThrowsError(try load(members)) { error in
            XCTAssertEqual(error as? KeyError, .algorithmMismatch(.hs256, .p256))
        }
    }

    func testUnusableSingleJWKs() throws {
        var encryption = try jwk("rsa-1")
        encryption["use"] = "enc"
        assertJWKError(encryption, isUnusable)
        var wrapOnly = try jwk("rsa-1")
        wrapOnly["key_ops"] = ["wrapKey"]
        assertJWKError(wrapOnly, isUnusable)
        var unsupportedAlgorithm = try jwk("rsa-1")
        unsupportedAlgorithm["alg"] = "RSA-OAEP"
        assertJWKError(unsupportedAlgorithm, isUnusable)
        assertJWKError(try jwk("ec521-1"), isUnusable)
        assertJWKError(["kty": "OKP", "crv": "X25519", "x": Base64Decoding.urlEncode([UInt8](repeating: 9, count: 32))], isUnusable)
    }

    func testEmptyOctKeyRefused() {
        assertJWKError(["kty": "oct", "k": ""]) { if case .weakKey = $0 { return true }; return false }
    }

    func testInvalidJWKSDocuments() {
        for text in ["", "[]", #"{"keys": {}}"#, #"{"keys": [1]}"#, #"{"keys": [{"kty": "RSA", "n": "AQAB"}]}"#] {
            XCTAssertThrowsError(try KeySet.load(jwks: Data(text.utf8)), text) { error in
                guard case .invalidJWKS = error as? KeyError else { return XCTFail("\(error)") }
            }
        }
        XCTAssertEqual(try KeySet.load(jwks: Data(#"{"keys": []}"#.utf8)).keys.count, 0)
    }

    /// Descriptions identify a key without showing it.
    func testKeyDescriptionHidesTheSecret() throws {
        let jwk = try JSONSerialization.jsonObject(with: Fixture.data("hmac.jwk.json")) as! [String: Any]
        let key = try VerificationKey(jwk: Fixture.text("hmac.jwk.json"))
        XCTAssertFalse(key.description.contains(jwk["k"] as! String))
        XCTAssertEqual(key.description, "VerificationKey(kid: hs-1, oct, 512 bits, algorithms: HS256,HS384,HS512)")
    }
}
