import JSON
import XCTest

/// Every rule of strict RFC 8259 the parser enforces, each broken on purpose: the input must be
/// refused for that reason, with the offset of the byte at fault (or the input's length when it
/// ends too soon).
final class ParserStrictnessTests: XCTestCase {
    func testInputThatEndsTooSoon() {
        assertRejects("", .unexpectedEnd, at: 0)
        assertRejects("   ", .unexpectedEnd, at: 3)
        assertRejects("[", .unexpectedEnd, at: 1)
        assertRejects("[1", .unexpectedEnd, at: 2)
        assertRejects("[1,", .unexpectedEnd, at: 3)
        assertRejects("[1, ", .unexpectedEnd, at: 4)
        assertRejects("{", .unexpectedEnd, at: 1)
        assertRejects(#"{"a""#, .unexpectedEnd, at: 4)
        assertRejects(#"{"a":"#, .unexpectedEnd, at: 5)
        assertRejects(#"{"a":1"#, .unexpectedEnd, at: 6)
        assertRejects(#"{"a":1,"#, .unexpectedEnd, at: 7)
        assertRejects(#""abc"#, .unexpectedEnd, at: 4)
        assertRejects(#"["abc\"#, .unexpectedEnd, at: 6)
        assertRejects(#""\u00"#, .unexpectedEnd, at: 5)
        assertRejects(#""\ud83d"#, .unexpectedEnd, at: 7)
        assertRejects(#""\ud83d\"#, .unexpectedEnd, at: 8)
    }

    func testTrailingCommasPointAtTheComma() {
        assertRejects("[1,]", .trailingComma, at: 2)
        assertRejects("[1 , ]", .trailingComma, at: 3)
        assertRejects(#"{"a":1,}"#, .trailingComma, at: 6)
        assertRejects("{\"a\":1 ,\n}", .trailingComma, at: 7)
        assertRejects("[[],]", .trailingComma, at: 3)
    }

    func testMissingValuesKeysColonsAndCommas() {
        assertRejects("[,1]", .expectedValue, at: 1)
        assertRejects("[1,,2]", .expectedValue, at: 3)
        assertRejects("]", .expectedValue, at: 0)
        assertRejects("}", .expectedValue, at: 0)
        assertRejects(",", .expectedValue, at: 0)
        assertRejects(":", .expectedValue, at: 0)
        assertRejects(#"{"a":}"#, .expectedValue, at: 5)
        assertRejects("{,}", .expectedKey, at: 1)
        assertRejects(#"{"a":1,,}"#, .expectedKey, at: 7)
        assertRejects("{a:1}", .expectedKey, at: 1)
        assertRejects("{'a':1}", .expectedKey, at: 1)
        assertRejects("{1:1}", .expectedKey, at: 1)
        assertRejects("{null:1}", .expectedKey, at: 1)
        assertRejects(#"{"a" 1}"#, .expectedColon, at: 5)
        assertRejects(#"{"a"=1}"#, .expectedColon, at: 4)
        assertRejects(#"{"a"::1}"#, .expectedValue, at: 5)
        assertRejects("[1 2]", .expectedCommaOrClose, at: 3)
        assertRejects(#"{"a":1 "b":2}"#, .expectedCommaOrClose, at: 7)
        assertRejects("[1}", .expectedCommaOrClose, at: 2)
        assertRejects(#"{"a":1]"#, .expectedCommaOrClose, at: 6)
        assertRejects("[1;2]", .expectedCommaOrClose, at: 2)
    }

    func testOneValueOnly() {
        assertRejects("1 2", .trailingData, at: 2)
        assertRejects("{} {}", .trailingData, at: 3)
        assertRejects("[]]", .trailingData, at: 2)
        assertRejects(#""a""b""#, .trailingData, at: 3)
        assertRejects("nulls", .trailingData, at: 4)
        assertRejects("true\n,", .trailingData, at: 5)
        assertRejects([0x31, 0x00], .trailingData, at: 1)
    }

    /// Only space, tab, LF and CR are whitespace.
    func testOtherWhitespaceIsRefused() {
        assertRejects("\u{0B}1", .expectedValue, at: 0)  // vertical tab
        assertRejects("\u{0C}1", .expectedValue, at: 0)  // form feed
        assertRejects("[1,\u{A0}2]", .expectedValue, at: 3)  // no-break space (C2 A0)
        assertRejects("\u{FEFF}1", .expectedValue, at: 0)  // a byte order mark
        assertRejects("1\u{2028}", .trailingData, at: 1)
    }

    func testNoComments() {
        assertRejects("/* c */ 1", .expectedValue, at: 0)
        assertRejects("// c\n1", .expectedValue, at: 0)
        assertRejects("[1 // c\n]", .expectedCommaOrClose, at: 3)
        assertRejects("[1, /* c */ 2]", .expectedValue, at: 4)
        assertRejects("1 # c", .trailingData, at: 2)
    }

    func testOnlyTheThreeLiterals() {
        assertRejects("tru", .invalidLiteral, at: 0)
        assertRejects("nul", .invalidLiteral, at: 0)
        assertRejects("[fals]", .invalidLiteral, at: 1)
        assertRejects("nulL", .invalidLiteral, at: 0)
        assertRejects("trUe", .invalidLiteral, at: 0)
        assertRejects("[nan]", .invalidLiteral, at: 1)
        assertRejects("True", .expectedValue, at: 0)
        assertRejects("NULL", .expectedValue, at: 0)
        assertRejects("NaN", .expectedValue, at: 0)
        assertRejects("Infinity", .expectedValue, at: 0)
        assertRejects("-Infinity", .invalidNumber, at: 1)
        assertRejects("undefined", .expectedValue, at: 0)
        assertRejects("'single'", .expectedValue, at: 0)
    }

    func testNoLeadingZeros() {
        assertRejects("01", .leadingZero, at: 0)
        assertRejects("00", .leadingZero, at: 0)
        assertRejects("-01", .leadingZero, at: 1)
        assertRejects("[0123]", .leadingZero, at: 1)
        assertRejects(#"{"a":007}"#, .leadingZero, at: 5)
        assertRejects("00.5", .leadingZero, at: 0)
    }

    func testNumberGrammar() {
        assertRejects("+1", .expectedValue, at: 0)
        assertRejects(".5", .expectedValue, at: 0)
        assertRejects("[-.5]", .invalidNumber, at: 2)
        assertRejects("1.", .invalidNumber, at: 2)
        assertRejects("[1.]", .invalidNumber, at: 3)
        assertRejects("1.e5", .invalidNumber, at: 2)
        assertRejects("1e", .invalidNumber, at: 2)
        assertRejects("1e+", .invalidNumber, at: 3)
        assertRejects("1E--5", .invalidNumber, at: 3)
        assertRejects("1e.5", .invalidNumber, at: 2)
        assertRejects("-", .invalidNumber, at: 1)
        assertRejects("- 1", .invalidNumber, at: 1)
        assertRejects("--1", .invalidNumber, at: 1)
        assertRejects("-a", .invalidNumber, at: 1)
        assertRejects("1.5.3", .trailingData, at: 3)
        assertRejects("0x10", .trailingData, at: 1)
        assertRejects("1e5.5", .trailingData, at: 3)
        assertRejects("1_000", .trailingData, at: 1)
        assertRejects("１", .expectedValue, at: 0)  // a fullwidth digit
    }

    func testNumbersBeyondDoubleAreRefused() {
        assertRejects("1e309", .numberOutOfRange, at: 0)
        assertRejects("[-1e309]", .numberOutOfRange, at: 1)
        assertRejects("1" + String(repeating: "0", count: 400), .numberOutOfRange, at: 0)
        assertRejects(#"{"n":1.8e308}"#, .numberOutOfRange, at: 5)
        assertRejects("1e99999999999999999999999", .numberOutOfRange, at: 0)
    }

    func testControlCharactersMustBeEscaped() {
        assertRejects("\"a\u{01}b\"", .controlCharacter, at: 2)
        assertRejects("\"\t\"", .controlCharacter, at: 1)
        assertRejects("\"line\nbreak\"", .controlCharacter, at: 5)
        assertRejects("\"\r\"", .controlCharacter, at: 1)
        assertRejects([0x22, 0x00, 0x22], .controlCharacter, at: 1)
        assertRejects("\"\u{1F}\"", .controlCharacter, at: 1)
        assertRejects("{\"k\u{0}\":1}", .controlCharacter, at: 3)
        // Past the eight-byte fast path too.
        assertRejects("\"0123456789abcdef\u{1B}\"", .controlCharacter, at: 17)
        assertRejects("\"0123456789\\n\u{7}\"", .controlCharacter, at: 13)
    }

    func testOnlyTheRFCEscapes() {
        assertRejects(#""\x41""#, .invalidEscape, at: 1)
        assertRejects(#""\'""#, .invalidEscape, at: 1)
        assertRejects(#""\a""#, .invalidEscape, at: 1)
        assertRejects(#""\U0041""#, .invalidEscape, at: 1)
        assertRejects(#""\u12""#, .invalidEscape, at: 1)
        assertRejects(#""\u12G4""#, .invalidEscape, at: 1)
        assertRejects(#""\u 123""#, .invalidEscape, at: 1)
        assertRejects(#""abc\0""#, .invalidEscape, at: 4)
        assertRejects("\"\\\u{e9}\"", .invalidEscape, at: 1)
        assertRejects("\"\\\n\"", .invalidEscape, at: 1)
    }

    /// RFC 8259 §7 and RFC 3629: a surrogate escape stands only as half of a high-low pair.
    func testLoneSurrogatesAreRefused() {
        assertRejects(#""\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\uDBFF""#, .loneSurrogate, at: 1)
        assertRejects(#""\udc00""#, .loneSurrogate, at: 1)
        assertRejects(#""x\uDFFF""#, .loneSurrogate, at: 2)
        assertRejects(#""\ud800\u0041""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\udc00\ud800""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\n""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800x""#, .loneSurrogate, at: 1)
        assertRejects(#""\ud800\uE000""#, .loneSurrogate, at: 1)
        assertRejects(#"["ok", "\ud83d\ude00", "\ude00"]"#, .loneSurrogate, at: 24)
        assertRejects(#""\ud800\u12""#, .invalidEscape, at: 7)
    }

    /// Inside strings, bytes that are not UTF-8 are refused, not repaired (outside strings they
    /// cannot start anything).
    func testInvalidUTF8IsRefused() {
        let samples: [(name: String, bytes: [UInt8])] = [
            ("FF", [0xFF]),
            ("FE", [0xFE]),
            ("lone continuation", [0x80]),
            ("overlong C0 80", [0xC0, 0x80]),
            ("overlong C1 BF", [0xC1, 0xBF]),
            ("overlong E0 9F BF", [0xE0, 0x9F, 0xBF]),
            ("overlong F0 8F BF BF", [0xF0, 0x8F, 0xBF, 0xBF]),
            ("surrogate ED A0 80", [0xED, 0xA0, 0x80]),
            ("past U+10FFFF", [0xF4, 0x90, 0x80, 0x80]),
            ("F5", [0xF5, 0x80, 0x80, 0x80]),
            ("truncated three-byte", [0xE2, 0x82]),
            ("lead byte then ASCII", [0xC3, 0x41]),
            ("four-byte with ASCII third", [0xF0, 0x9F, 0x41, 0x80]),
        ]
        for (name, bytes) in samples {
            let input = Array(#"["ok","ab"#.utf8) + bytes + Array(#"cd"]"#.utf8)
            guard let error = parseError(input) else {
                XCTFail("accepted \(name)")
                continue
            }
            XCTAssertEqual(error, JSONError(.invalidUTF8, at: 9), name)
        }
        // At the very end of the input, too.
        assertRejects([0x22, 0xE2, 0x82], .invalidUTF8, at: 1)
        assertRejects([0xC3, 0xA9], .expectedValue, at: 0)
        assertRejects([0x5B, 0x31, 0xFF, 0x5D], .expectedCommaOrClose, at: 2)
    }

    func testErrorsDescribeThemselvesShortly() {
        let error = JSONError(.expectedColon, at: 17)
        XCTAssertEqual(error.description, "expected ':' at byte 17")
        XCTAssertEqual(JSONError(.duplicateKey, at: 3).description, "duplicate key at byte 3")
        XCTAssertEqual(JSONError(.loneSurrogate, at: 0).reason.description, "lone surrogate in \\u escape")
    }
}
