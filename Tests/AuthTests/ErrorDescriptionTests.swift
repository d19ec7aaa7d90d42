import Auth
import Foundation
import XCTest

/// Codes are the protocol's vocabulary; descriptions go to logs and must never carry the token.
final class ErrorDescriptionTests: XCTestCase {
    func testCodesAreTheDocumentedStrings() {
        let errors: [AuthError] = [
            .malformed, .tooLarge, .unsupportedAlgorithm, .unknownKey, .badSignature, .expired, .notYetValid,
            .issuedInFuture, .wrongIssuer, .wrongAudience, .missingSubject, .missingExpiry, .invalidClaim(.channels),
        ]
        XCTAssertEqual(errors.map(\.code), [
            "malformed", "too_large", "unsupported_algorithm", "unknown_key", "bad_signature", "expired",
            "not_yet_valid", "issued_in_future", "wrong_issuer", "wrong_audience", "missing_subject",
            "missing_expiry", "invalid_claim",
        ])
        XCTAssertEqual(Set(ClaimName.allCases.map { AuthError.invalidClaim($0).code }), ["invalid_claim"])
    }

    /// Every fixture token, under options that make each refuse for its own reason: no text an
    /// error gives (description, interpolation, debug form) contains a segment, any 8 characters
    /// in a row of the token, or any string from its header or claims.
    func testNoDescriptionContainsAnyPartOfTheToken() throws {
        let verifier = try Fixture.verifier()
        var refusals = 0
        for name in Fixture.tokenNames {
            let token = Fixture.token(name)
            guard case .failure(let error) = verifier.verify(token, now: Fixture.now) else { continue }
            refusals += 1
            let texts = [error.description, "\(error)", String(reflecting: error), error.localizedDescription]
            for fragment in fragments(of: token) {
                for text in texts {
                    XCTAssertFalse(text.contains(fragment), "\(name): \(error.code) shows \(fragment)")
                }
            }
        }
        XCTAssertGreaterThan(refusals, 40)
    }

    private func fragments(of token: String) -> Set<String> {
        var fragments = Set<String>()
        let characters = Array(token)
        if characters.count >= 8 {
            for start in 0...(characters.count - 8) { fragments.insert(String(characters[start..<(start + 8)])) }
        }
        for segment in token.split(separator: ".") where !segment.isEmpty {
            fragments.insert(String(segment))
            if let decoded = Base64Decoding.url(String(segment)),
               let json = try? JSONSerialization.jsonObject(with: Data(decoded), options: .fragmentsAllowed) {
                collectStrings(json, into: &fragments)
            }
        }
        return fragments
    }

    private func collectStrings(_ value: Any, into fragments: inout Set<String>) {
        switch value {
        case let string as String where string.count >= 4: fragments.insert(string)
        case let array as [Any]: array.forEach { collectStrings($0, into: &fragments) }
        case let object as [String: Any]: object.values.forEach { collectStrings($0, into: &fragments) }
        default: break
        }
    }
}
