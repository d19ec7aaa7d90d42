@testable import WebSocket
import XCTest

/// SHA-1 (FIPS 180-4), through OpenSSL, for the accept key.
final class SHA1Tests: XCTestCase {
    private func hexDigest(_ text: String) -> String {
        SHA1.digest(Array(text.utf8)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    func testKnownDigests() {
        XCTAssertEqual(hexDigest(""), "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        XCTAssertEqual(hexDigest("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d")
        XCTAssertEqual(hexDigest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
                       "84983e441c3bd26ebaae4aa1f95129e5e54670f1")
    }

    func testMillionAs() {
        XCTAssertEqual(hexDigest(String(repeating: "a", count: 1_000_000)), "34aa973cd4c4daa4f61eeb2bdbad27316534016f")
    }
}
