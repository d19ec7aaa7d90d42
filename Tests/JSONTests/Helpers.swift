import JSON
import XCTest

// Helpers shared by the JSON tests: parsing text, asserting a refusal's reason and offset, and
// walking every value of a tree.

/// Parses the UTF-8 of `text`.
func parse(_ text: String, limits: JSONLimits = JSONLimits()) throws -> JSONValue {
    try JSONParser.parse(Array(text.utf8), limits: limits)
}

/// The error JSONParser gives for `bytes`, or nil if it accepts them.
func parseError(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) -> JSONError? {
    do {
        _ = try JSONParser.parse(bytes, limits: limits)
        return nil
    } catch {
        return error
    }
}

/// Asserts that `text` is refused for `reason`, pointing at byte `offset`.
func assertRejects(
    _ text: String, _ reason: JSONError.Reason, at offset: Int, limits: JSONLimits = JSONLimits(),
    file: StaticString = #filePath, line: UInt = #line
) {
    assertRejects(Array(text.utf8), reason, at: offset, limits: limits, file: file, line: line)
}

func assertRejects(
    _ bytes: [UInt8], _ reason: JSONError.Reason, at offset: Int, limits: JSONLimits = JSONLimits(),
    file: StaticString = #filePath, line: UInt = #line
) {
    guard let error = parseError(bytes, limits: limits) else {
        XCTFail("accepted \(String(decoding: bytes, as: UTF8.self).debugDescription)", file: file, line: line)
        return
    }
    XCTAssertEqual(error, JSONError(reason, at: offset),
                   "for \(String(decoding: bytes, as: UTF8.self).debugDescription)", file: file, line: line)
}

extension JSONValue {
    /// Every value in the tree, this one first, depth first in input order.
    var allValues: [JSONValue] {
        var result: [JSONValue] = [self]
        if let elements = array {
            for element in elements { result += element.allValues }
        } else if let members = object {
            for member in members { result += member.value.allValues }
        }
        return result
    }

    /// The direct children of an array or object.
    var children: [JSONValue] {
        array ?? object?.map(\.value) ?? []
    }
}

/// The invariants a parsed document must keep, checked by the random round trips and on the
/// fuzzer's regression inputs: ranges lie within the input, children inside their parent and in
/// order, each range re-parses alone to the same value, and writing the value with JSONWriter
/// and parsing that gives it back.
func assertInvariants(of value: JSONValue, input: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
    for node in value.allValues {
        XCTAssertTrue(node.range.lowerBound >= 0 && node.range.upperBound <= input.count && !node.range.isEmpty,
                      "range \(node.range) outside the input of \(input.count) bytes", file: file, line: line)
        var previousEnd = node.range.lowerBound
        for child in node.children {
            XCTAssertTrue(child.range.lowerBound > previousEnd && child.range.upperBound < node.range.upperBound,
                          "child range \(child.range) not inside \(node.range) after \(previousEnd)", file: file, line: line)
            previousEnd = child.range.upperBound
        }
        let slice = Array(input[node.range])
        XCTAssertEqual(try JSONParser.parse(slice), node, "the bytes of \(node.range) alone", file: file, line: line)
    }
    var writer = JSONWriter()
    writer.value(value)
    XCTAssertEqual(try JSONParser.parse(writer.bytes), value, "written back", file: file, line: line)
}
