import TestSupport
import Buffers
import XCTest

/// Base64 with the standard alphabet and padding (RFC 4648 §4), as the handshake keys use it.
final class Base64Tests: XCTestCase {
    /// RFC 4648 §10.
    let vectors: [(plain: String, encoded: String)] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ]

    func testEncodesTheRFCVectors() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.encode(Array(plain.utf8)), encoded, plain)
        }
    }

    func testDecodesTheRFCVectors() {
        for (plain, encoded) in vectors {
            XCTAssertEqual(Base64.decode(encoded), Array(plain.utf8), encoded)
        }
    }

    func testUsesTheStandardAlphabet() {
        XCTAssertEqual(Base64.encode([0xFB, 0xFF, 0xBF]), "+/+/")
        XCTAssertEqual(Base64.decode("+/+/"), [0xFB, 0xFF, 0xBF])
        XCTAssertEqual(Base64.encode(Array(0...255).map(UInt8.init)).count, 344)
    }

    func testTheRFC6455SampleKey() {
        XCTAssertEqual(Base64.decode("dGhlIHNhbXBsZSBub25jZQ=="), Array("the sample nonce".utf8))
    }

    func testRandomBytesRoundTrip() {
        var rng = SplitMix64(seed: 4648)
        for length in 0..<100 {
            let bytes = rng.bytes(length)
            let encoded = Base64.encode(bytes)
            XCTAssertEqual(encoded.utf8.count, (length + 2) / 3 * 4)
            XCTAssertEqual(Base64.decode(encoded), bytes, encoded)
        }
    }

    func testRejectsALengthThatIsNotAMultipleOfFour() {
        for text in ["Z", "Zg", "Zg=", "Zm9", "Zm9vY", "Zm9vYg", "Zm9vYg="] {
            XCTAssertNil(Base64.decode(text), text)
        }
    }

    func testRejectsCharactersOutsideTheAlphabet() {
        // Every one of these is a multiple of four bytes long, so only the characters are wrong.
        for text in ["Zm9v!A==", "Zm 9", "Zm9\n", "Zm-_", "Zm9\u{0}", "Zmé", "Zm9v\r\nYg"] {
            XCTAssertEqual(text.utf8.count % 4, 0, text.debugDescription)
            XCTAssertNil(Base64.decode(text), text.debugDescription)
        }
    }

    func testRejectsMisplacedPadding() {
        for text in ["====", "=Zg=", "Z===", "Zm=v", "Zg==Zm8=", "Zm8=Zm9v", "Zg=a"] {
            XCTAssertNil(Base64.decode(text), text)
        }
    }
}

/// The URL-safe alphabet without padding (RFC 4648 §5), as JSON Web Tokens use it (RFC 7515 §2).
final class Base64URLTests: XCTestCase {
    func testRoundTripsWithoutPadding() {
        var random = SplitMix64(seed: 7)
        for length in 0..<64 {
            let bytes = random.bytes(length)
            let encoded = Base64.encode(bytes, alphabet: .url)
            XCTAssertFalse(encoded.contains("="))
            XCTAssertFalse(encoded.contains("+") || encoded.contains("/"))
            XCTAssertEqual(Base64.decode(encoded, alphabet: .url), bytes)
        }
    }

    func testURLAlphabet() {
        XCTAssertEqual(Base64.encode([0xFB, 0xFF], alphabet: .url), "-_8")
        XCTAssertEqual(Base64.decode("-_8", alphabet: .url), [0xFB, 0xFF])
        XCTAssertNil(Base64.decode("+/8", alphabet: .url), "standard characters are not URL-safe base64")
    }

    func testRefusesPaddingAndImpossibleLengths() {
        XCTAssertNil(Base64.decode("Zg==", alphabet: .url))
        XCTAssertNil(Base64.decode("Z", alphabet: .url))
        XCTAssertNil(Base64.decode("Zh", alphabet: .url), "non-zero unused bits are not canonical")
        XCTAssertEqual(Base64.decode("Zg", alphabet: .url), Array("f".utf8))
    }
}
