import Auth
import Foundation
import XCTest

/// The files Fixtures/make_fixtures.py wrote with PyJWT: keys, a JWKS, and named tokens.
enum Fixture {
    static let directory: URL = {
        guard let url = Bundle.module.url(forResource: "Fixtures", withExtension: nil) else {
            fatalError("Fixtures missing from the test bundle")
        }
        return url
    }()

    static func data(_ name: String) -> Data {
        do {
            return try Data(contentsOf: directory.appendingPathComponent(name))
        } catch {
            fatalError("cannot read fixture \(name): \(error)")
        }
    }

    static func text(_ name: String) -> String { String(decoding: data(name), as: UTF8.self) }

    /// tokens.json: the named tokens and the values they were made with.
    private struct Document: Decodable, Sendable {
        let now: Double
        let issuer: String
        let audience: String
        let subject: String
        let tokens: [String: String]
    }

    private static let document: Document = {
        do {
            return try JSONDecoder().decode(Document.self, from: data("tokens.json"))
        } catch {
            fatalError("tokens.json: \(error)")
        }
    }()

    /// The instant the tokens were made for (2025-06-15); valid tokens run to 2100.
    static var now: Double { document.now }
    static var issuer: String { document.issuer }
    static var audience: String { document.audience }
    static var subject: String { document.subject }

    static func token(_ name: String) -> String {
        guard let token = document.tokens[name] else { fatalError("no token named \(name) in tokens.json") }
        return token
    }

    static var tokenNames: [String] { document.tokens.keys.sorted() }

    /// Every signing key: the public JWKS plus the HMAC secret's JWK.
    static func keySet() throws -> KeySet {
        let published = try KeySet.load(jwks: data("jwks.json"))
        let secret = try VerificationKey(jwk: text("hmac.jwk.json"))
        return KeySet(published.keys + [secret])
    }

    static var expectedOptions: JWTVerifier.Options { JWTVerifier.Options(issuer: issuer, audience: audience) }

    static func verifier(options: JWTVerifier.Options = expectedOptions) throws -> JWTVerifier {
        JWTVerifier(keys: try keySet(), options: options)
    }
}

extension XCTestCase {
    /// Verifies the named fixture token with every key and the expected issuer and audience.
    func verify(_ name: String, now: Double = Fixture.now, options: JWTVerifier.Options = Fixture.expectedOptions)
        throws -> Result<Claims, AuthError> {
        try Fixture.verifier(options: options).verify(Fixture.token(name), now: now)
    }

    func assertRejected(_ result: Result<Claims, AuthError>, _ code: String,
                        file: StaticString = #filePath, line: UInt = #line) {
        switch result {
        case .success: XCTFail("accepted; expected \(code)", file: file, line: line)
        case .failure(let error): XCTAssertEqual(error.code, code, file: file, line: line)
        }
    }

    func assertAccepted(_ result: Result<Claims, AuthError>, file: StaticString = #filePath, line: UInt = #line)
        -> Claims? {
        switch result {
        case .success(let claims): return claims
        case .failure(let error):
            XCTFail("rejected with \(error.code)", file: file, line: line)
            return nil
        }
    }

    /// The claims every valid fixture token carries.
    func assertStandardClaims(_ claims: Claims?, file: StaticString = #filePath, line: UInt = #line) {
        guard let claims else { return }
        XCTAssertEqual(claims.subject, Fixture.subject, file: file, line: line)
        XCTAssertEqual(claims.expiresAt, 4_102_444_800, file: file, line: line)
        XCTAssertEqual(claims.issuedAt, Fixture.now - 60, file: file, line: line)
        XCTAssertNil(claims.notBefore, file: file, line: line)
        XCTAssertEqual(claims.issuer, Fixture.issuer, file: file, line: line)
        XCTAssertEqual(claims.audience, [Fixture.audience], file: file, line: line)
        XCTAssertEqual(claims.channels, [], file: file, line: line)
        XCTAssertNil(claims.info, file: file, line: line)
        XCTAssertNil(claims.channel, file: file, line: line)
    }
}
