import Auth
import XCTest

/// Size and shape: refused before any key is looked at.
final class MalformedTokenTests: XCTestCase {
    private var parts: [Substring] {
        Fixture.token("valid_rs256").split(separator: ".", omittingEmptySubsequences: false)
    }

    private func check(_ token: String, _ code: String, file: StaticString = #filePath, line: UInt = #line) throws {
        assertRejected(try Fixture.verifier().verify(token, now: Fixture.now), code, file: file, line: line)
    }

    func testOversized() throws { assertRejected(try verify("oversized"), "too_large") }

    func testOversizedIsCheckedBeforeShape() throws {
        try check(String(repeating: "A", count: 8193), "too_large")
        try check(String(repeating: "A", count: 8192), "malformed")
    }

    func testMaxTokenBytesIsConfigurable() throws {
        let token = Fixture.token("valid_rs256")
        var options = Fixture.expectedOptions
        options.maxTokenBytes = token.utf8.count
        XCTAssertNotNil(assertAccepted(try verify("valid_rs256", options: options)))
        options.maxTokenBytes = token.utf8.count - 1
        assertRejected(try verify("valid_rs256", options: options), "too_large")
    }

    func testEmpty() throws { try check("", "malformed") }
    func testTwoSegments() throws { try check("\(parts[0]).\(parts[1])", "malformed") }
    func testFourSegments() throws { try check("\(parts[0]).\(parts[1]).\(parts[2]).\(parts[2])", "malformed") }
    func testFiveSegmentsJWE() throws { try check("\(parts[0]).\(parts[1]).\(parts[2]).\(parts[1]).\(parts[2])", "malformed") }
    func testEmptyHeader() throws { try check(".\(parts[1]).\(parts[2])", "malformed") }
    func testEmptyPayload() throws { try check("\(parts[0])..\(parts[2])", "malformed") }
    func testPaddedSegment() throws { try check("\(parts[0]).\(parts[1]).\(parts[2])==", "malformed") }
    func testStandardAlphabetCharacter() throws { try check("\(parts[0]).\(parts[1]).\(parts[2])+", "malformed") }
    func testWhitespace() throws { try check("\(parts[0]). \(parts[1]).\(parts[2])", "malformed") }
    func testBearerPrefix() throws { try check("Bearer \(parts[0]).\(parts[1]).\(parts[2])", "malformed") }
    func testNonASCII() throws { try check("\(parts[0]).\(parts[1]).\(parts[2])é", "malformed") }

    func testHeaderNotJSON() throws {
        try check("\(Base64Decoding.urlEncode("alg=RS256")).\(parts[1]).\(parts[2])", "malformed")
    }

    func testHeaderNotAnObject() throws {
        try check("\(Base64Decoding.urlEncode(#"["RS256"]"#)).\(parts[1]).\(parts[2])", "malformed")
    }

    func testHeaderWithoutAlg() throws {
        try check("\(Base64Decoding.urlEncode(#"{"kid":"rsa-1"}"#)).\(parts[1]).\(parts[2])", "malformed")
    }

    func testHeaderAlgNotAString() throws {
        try check("\(Base64Decoding.urlEncode(#"{"alg":256}"#)).\(parts[1]).\(parts[2])", "malformed")
    }

    func testHeaderTypNotAString() throws {
        try check("\(Base64Decoding.urlEncode(#"{"alg":"RS256","kid":"rsa-1","typ":1}"#)).\(parts[1]).\(parts[2])", "malformed")
    }

    func testHeaderKidNotAString() throws { assertRejected(try verify("header_kid_number"), "malformed") }
    func testHeaderWithCrit() throws { assertRejected(try verify("header_crit"), "malformed") }

    /// `alg` values are case-sensitive (RFC 7515 §4.1.1).
    func testLowercaseAlgorithm() throws {
        try check("\(Base64Decoding.urlEncode(#"{"alg":"rs256","kid":"rsa-1"}"#)).\(parts[1]).\(parts[2])", "unsupported_algorithm")
    }
}
