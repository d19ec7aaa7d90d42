import JSON
import TestSupport
import XCTest

/// JSONWriter: compact output, commas where they belong, the RFC's escapes and nothing more,
/// exact integers and shortest round-trip doubles.
final class WriterTests: XCTestCase {
    private func written(_ build: (inout JSONWriter) -> Void) -> String {
        var writer = JSONWriter()
        build(&writer)
        return String(decoding: writer.bytes, as: UTF8.self)
    }

    func testScalars() {
        XCTAssertEqual(written { $0.null() }, "null")
        XCTAssertEqual(written { $0.bool(true) }, "true")
        XCTAssertEqual(written { $0.bool(false) }, "false")
        XCTAssertEqual(written { $0.int(0) }, "0")
        XCTAssertEqual(written { $0.string("") }, #""""#)
    }

    func testEmptyContainers() {
        XCTAssertEqual(written { $0.beginArray(); $0.endArray() }, "[]")
        XCTAssertEqual(written { $0.beginObject(); $0.endObject() }, "{}")
    }

    func testCommasAreInsertedAutomatically() {
        let json = written { writer in
            writer.beginArray()
            writer.int(1)
            writer.int(2)
            writer.beginArray()
            writer.int(3)
            writer.beginArray()
            writer.endArray()
            writer.endArray()
            writer.beginObject()
            writer.key("a")
            writer.int(1)
            writer.key("b")
            writer.beginArray()
            writer.endArray()
            writer.key("c")
            writer.beginObject()
            writer.endObject()
            writer.endObject()
            writer.null()
            writer.endArray()
        }
        XCTAssertEqual(json, #"[1,2,[3,[]],{"a":1,"b":[],"c":{}},null]"#)
    }

    /// Only `"`, `\` and U+0000–U+001F are escaped; `/`, DEL and all non-ASCII stay raw.
    func testStringEscapes() {
        XCTAssertEqual(written { $0.string("say \"hi\" \\ bye") }, #""say \"hi\" \\ bye""#)
        XCTAssertEqual(written { $0.string("\u{8}\u{C}\n\r\t") }, #""\b\f\n\r\t""#)
        XCTAssertEqual(written { $0.string("a/b\u{7F}é€😀\u{2028}") }, "\"a/b\u{7F}é€😀\u{2028}\"")
        XCTAssertEqual(written { $0.string("\u{0}\u{1}\u{1F}\u{B}") }, #""\u0000\u0001\u001f\u000b""#)
    }

    func testEveryControlCharacterRoundTrips() throws {
        for scalar in 0..<0x20 {
            let string = "<" + String(UnicodeScalar(UInt8(scalar))) + ">"
            var writer = JSONWriter()
            writer.string(string)
            XCTAssertFalse(writer.bytes.contains { $0 < 0x20 }, "raw control character \(scalar)")
            XCTAssertEqual(try JSONParser.parse(writer.bytes).string, string)
        }
    }

    func testKeysAreEscapedToo() {
        XCTAssertEqual(written { $0.beginObject(); $0.key("a\"b\n"); $0.int(1); $0.endObject() }, #"{"a\"b\n":1}"#)
    }

    func testIntegers() {
        XCTAssertEqual(written { $0.int(-1) }, "-1")
        XCTAssertEqual(written { $0.int(1_234_567_890) }, "1234567890")
        XCTAssertEqual(written { $0.int(Int64.max) }, "9223372036854775807")
        XCTAssertEqual(written { $0.int(Int64.min) }, "-9223372036854775808")
        XCTAssertEqual(written { $0.int(Int.min) }, "-9223372036854775808")
        XCTAssertEqual(written { $0.int(Int(10)) }, "10")
    }

    func testDoubles() {
        XCTAssertEqual(written { $0.double(0.1) }, "0.1")
        XCTAssertEqual(written { $0.double(-2.5) }, "-2.5")
        XCTAssertEqual(written { $0.double(100) }, "100")
        XCTAssertEqual(written { $0.double(0) }, "0")
        XCTAssertEqual(written { $0.double(-0.0) }, "-0")
        XCTAssertEqual(written { $0.double(1e100) }, "1e+100")
        XCTAssertEqual(written { $0.double(1e-7) }, "1e-07")
        XCTAssertEqual(written { $0.double(.leastNonzeroMagnitude) }, "5e-324")
        XCTAssertEqual(written { $0.double(.greatestFiniteMagnitude) }, "1.7976931348623157e+308")
        XCTAssertEqual(written { $0.double(0.1 + 0.2) }, "0.30000000000000004")
        XCTAssertEqual(written { $0.double(9_007_199_254_740_991) }, "9007199254740991")
        XCTAssertEqual(written { $0.double(-9_007_199_254_740_991) }, "-9007199254740991")
    }

    /// Any finite Double comes back bit for bit, in the standard library's shortest form (or as
    /// an integer when it is one below 2^53).
    func testRandomDoublesRoundTripInShortestForm() throws {
        var rng = SplitMix64(seed: 0xD0_0B1E)
        var checked = 0
        while checked < 20_000 {
            let value = Double(bitPattern: rng.next())
            guard value.isFinite else { continue }
            checked += 1
            var writer = JSONWriter()
            writer.double(value)
            let parsed = try JSONParser.parse(writer.bytes)
            XCTAssertEqual(parsed.double?.bitPattern, value.bitPattern, "\(value)")
            if value.rounded(.towardZero) != value {
                XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self), value.description)
            }
        }
    }

    func testRawEmbedsBytesAsTheyAre() {
        let data = Array(#"{"k": [true, null]}"#.utf8)
        let json = written { writer in
            writer.beginArray()
            writer.int(1)
            data.withUnsafeBytes { writer.raw($0) }
            data.withUnsafeBytes { writer.raw($0) }
            writer.endArray()
        }
        XCTAssertEqual(json, #"[1,{"k": [true, null]},{"k": [true, null]}]"#)
    }

    func testWritingAParsedValueGivesCompactJSON() throws {
        let value = try parse(#" { "a" : [ 1 , -0 , 2.50 , 1e2 , 12345678901234567890 ] , "s" : "\u00e9\n" , "t" : true , "n" : null } "#)
        var writer = JSONWriter()
        writer.value(value)
        XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self),
                       "{\"a\":[1,-0,2.5,100,1.2345678901234567e+19],\"s\":\"é\\n\",\"t\":true,\"n\":null}")
        XCTAssertEqual(try JSONParser.parse(writer.bytes), value)
    }

    /// A number that is not an Int64 but whose Double is one is written as that integer's
    /// digits, so it parses back to the same Double and compares equal.
    func testWritingNumbersWhoseDoubleIsAnInteger() throws {
        for (text, expected) in [("1e-400", "0"), ("-1e-400", "-0"), ("4611686018427387904.5", "4611686018427387904"),
                                 ("1e18", "1000000000000000000"), ("1e19", "1e+19")] {
            let value = try parse(text)
            var writer = JSONWriter()
            writer.value(value)
            XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self), expected, text)
            XCTAssertEqual(try JSONParser.parse(writer.bytes), value, text)
        }
    }

    func testInitialCapacityDoesNotChangeTheOutput() {
        var small = JSONWriter(capacity: 0)
        var large = JSONWriter(capacity: 4096)
        for index in 0..<100 {
            small.string("value \(index)")
            large.string("value \(index)")
        }
        XCTAssertEqual(small.bytes, large.bytes)
    }
}
