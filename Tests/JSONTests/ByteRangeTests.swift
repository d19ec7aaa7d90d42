import JSON
import XCTest

/// Every value knows its bytes in the input: the gateway forwards a publication's `data` by
/// slicing it out of the client's message.
final class ByteRangeTests: XCTestCase {
    private func text(_ bytes: [UInt8], _ range: Range<Int>?) -> String? {
        range.map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    func testDataSlicesOutExactly() throws {
        let bytes = Array(#"{"a":[1,{"b":"x"}],"data":{"k":[true,null]}}"#.utf8)
        let value = try JSONParser.parse(bytes)
        XCTAssertEqual(text(bytes, value["data"]?.range), #"{"k":[true,null]}"#)
        XCTAssertEqual(value["data"]?.range, 26..<43)
        XCTAssertEqual(text(bytes, value["a"]?.range), #"[1,{"b":"x"}]"#)
        XCTAssertEqual(text(bytes, value["a"]?[1]?.range), #"{"b":"x"}"#)
        XCTAssertEqual(text(bytes, value["a"]?[1]?["b"]?.range), #""x""#)
        XCTAssertEqual(text(bytes, value["data"]?["k"]?[0]?.range), "true")
        XCTAssertEqual(text(bytes, value["data"]?["k"]?[1]?.range), "null")
        XCTAssertEqual(value.range, 0..<bytes.count)
    }

    func testRangesExcludeWhitespace() throws {
        let bytes = Array("  {\n  \"data\" :  [ 1 ,\t2 ]\r\n, \"n\": -0.5e1 }  ".utf8)
        let value = try JSONParser.parse(bytes)
        XCTAssertEqual(text(bytes, value.range), "{\n  \"data\" :  [ 1 ,\t2 ]\r\n, \"n\": -0.5e1 }")
        XCTAssertEqual(text(bytes, value["data"]?.range), "[ 1 ,\t2 ]")
        XCTAssertEqual(text(bytes, value["data"]?[1]?.range), "2")
        XCTAssertEqual(text(bytes, value["n"]?.range), "-0.5e1")
    }

    func testScalarRanges() throws {
        for (json, slice) in [(" true ", "true"), ("false", "false"), ("\tnull\n", "null"), (#" "s" "#, #""s""#), (" 12 ", "12")] {
            let bytes = Array(json.utf8)
            XCTAssertEqual(text(bytes, try JSONParser.parse(bytes).range), slice)
        }
    }

    func testEmptyContainerRanges() throws {
        let bytes = Array(#"[[ ], { }, []]"#.utf8)
        let value = try JSONParser.parse(bytes)
        XCTAssertEqual(value.array?.map { text(bytes, $0.range) }, ["[ ]", "{ }", "[]"])
    }

    /// What the gateway does: take `data` from a client's publish command and embed its bytes in
    /// the message pushed to subscribers, never re-serializing it.
    func testForwardingDataByItsRange() throws {
        let command = Array(#"{ "type": "publish", "channel": "c", "data": {"price": 1.10000, "note": "\u00e9"} }"#.utf8)
        let parsed = try JSONParser.parse(command)
        let data = try XCTUnwrap(parsed["data"])
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("type")
        writer.string("message")
        writer.key("data")
        command.withUnsafeBytes { writer.raw(UnsafeRawBufferPointer(rebasing: $0[data.range])) }
        writer.key("seq")
        writer.int(1)
        writer.endObject()
        XCTAssertEqual(String(decoding: writer.bytes, as: UTF8.self),
                       #"{"type":"message","data":{"price": 1.10000, "note": "\u00e9"},"seq":1}"#)
        XCTAssertEqual(try JSONParser.parse(writer.bytes)["data"], data)
    }
}
