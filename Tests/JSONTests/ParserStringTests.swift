import JSON
import XCTest

/// Strings: escapes decoded (surrogate pairs combined), raw UTF-8 kept, and keys decoded the
/// same way.
final class ParserStringTests: XCTestCase {
    private func string(_ json: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        try XCTUnwrap(try parse(json).string, file: file, line: line)
    }

    func testShortEscapes() throws {
        XCTAssertEqual(try string(#""\" \\ \/ \b \f \n \r \t""#), "\" \\ / \u{8} \u{C} \n \r \t")
        XCTAssertEqual(try string(#""\\\\""#), #"\\"#)
        XCTAssertEqual(try string(#""\"\"""#), #""""#)
    }

    func testUnicodeEscapes() throws {
        XCTAssertEqual(try string(#""\u0041""#), "A")
        XCTAssertEqual(try string(#""\u00e9\u00E9""#), "éé")
        XCTAssertEqual(try string(#""\u20AC\u20ac""#), "€€")
        XCTAssertEqual(try string(#""\u005C""#), "\\")  // RFC 8259 §7's example
        XCTAssertEqual(try string(#""\uFFFF""#), "\u{FFFF}")
        XCTAssertEqual(try string(#""\u001f\u007F""#), "\u{1F}\u{7F}")
    }

    /// `\u0000` is a valid escape, and gives a String holding U+0000.
    func testEscapedNUL() throws {
        let value = try string(#""a\u0000b""#)
        XCTAssertEqual(Array(value.unicodeScalars).map(\.value), [0x61, 0, 0x62])
        XCTAssertEqual(value.utf8.count, 3)
    }

    /// RFC 8259 §7: a character outside the Basic Multilingual Plane is escaped as a UTF-16
    /// surrogate pair.
    func testSurrogatePairs() throws {
        XCTAssertEqual(try string(#""\uD834\uDD1E""#), "𝄞")  // RFC 8259 §7's example
        XCTAssertEqual(try string(#""\ud83d\ude00""#), "😀")
        XCTAssertEqual(try string(#""\ud800\udc00""#), "\u{10000}")
        XCTAssertEqual(try string(#""\udbff\udfff""#), "\u{10FFFF}")
        XCTAssertEqual(try string(#""x\ud83d\ude00y\ud83d\ude01""#), "x😀y😁")
    }

    func testRawUTF8IsKept() throws {
        XCTAssertEqual(try string("\"é€😀\""), "é€😀")
        XCTAssertEqual(try string("\"\u{7F}\""), "\u{7F}")  // DEL needs no escape
        XCTAssertEqual(try string("\"\u{2028}\u{2029}\""), "\u{2028}\u{2029}")
        XCTAssertEqual(try string("\"\u{FFFF}\u{10FFFF}\""), "\u{FFFF}\u{10FFFF}")
        XCTAssertEqual(try string("\"κόσμε — 世界\""), "κόσμε — 世界")
    }

    func testRawAndEscapedMixed() throws {
        XCTAssertEqual(try string(#""a\nb€\u00e9😀\ud83d\ude00z""#), "a\nb€é😀😀z")
    }

    /// Escapes at every position of a string longer than the eight-byte scan.
    func testEscapesAtEveryPosition() throws {
        let filler = "abcdefghijklmnopqrstuvwxyz0123456789"
        for position in 0...filler.count {
            let prefix = String(filler.prefix(position))
            let suffix = String(filler.dropFirst(position))
            XCTAssertEqual(try string("\"" + prefix + #"\n"# + suffix + "\""), prefix + "\n" + suffix, "at \(position)")
            XCTAssertEqual(try string("\"" + prefix + #"\""# + suffix + "\""), prefix + "\"" + suffix, "at \(position)")
            XCTAssertEqual(try string("\"" + prefix + "é" + suffix + "\""), prefix + "é" + suffix, "at \(position)")
            XCTAssertEqual(try string("\"" + prefix + "\""), prefix)
        }
    }

    func testLongStrings() throws {
        let long = String(repeating: "0123456789", count: 10_000)
        XCTAssertEqual(try string("\"" + long + "\""), long)
        let escaped = String(repeating: #"ab\tc"#, count: 5_000)
        XCTAssertEqual(try string("\"" + escaped + "\""), String(repeating: "ab\tc", count: 5_000))
    }

    func testKeysAreDecodedLikeStrings() throws {
        let value = try parse(#"{"a\nb":1,"\u00e9":2,"😀":3,"":4}"#)
        XCTAssertEqual(value.object?.map(\.key), ["a\nb", "é", "😀", ""])
        XCTAssertEqual(value["é"]?.int64, 2)
        XCTAssertEqual(value[""]?.int64, 4)
    }

    func testStringRangeIncludesTheQuotes() throws {
        let text = #"[ "a\"b" ]"#
        let value = try parse(text)
        XCTAssertEqual(value[0]?.range, 2..<8)
        XCTAssertEqual(String(decoding: Array(text.utf8)[2..<8], as: UTF8.self), #""a\"b""#)
    }
}
