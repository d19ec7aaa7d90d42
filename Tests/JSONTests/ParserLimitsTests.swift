import JSON
import XCTest

/// Limits (depth, string length, members) and the duplicate-key rule.
final class ParserLimitsTests: XCTestCase {
    func testDefaultDepthIs32() throws {
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        XCTAssertNoThrow(try parse(ok))
        let tooDeep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        assertRejects(tooDeep, .tooDeep, at: 32)
        let objects = String(repeating: #"{"a":"#, count: 33) + "1" + String(repeating: "}", count: 33)
        assertRejects(objects, .tooDeep, at: 32 * 5)
    }

    func testCustomDepth() throws {
        let one = JSONLimits(maxDepth: 1)
        XCTAssertNoThrow(try parse("[1,2]", limits: one))
        XCTAssertNoThrow(try parse(#"{"a":1}"#, limits: one))
        assertRejects("[[1]]", .tooDeep, at: 1, limits: one)
        assertRejects(#"{"a":{}}"#, .tooDeep, at: 5, limits: one)
        let zero = JSONLimits(maxDepth: 0)
        XCTAssertNoThrow(try parse("1", limits: zero))
        XCTAssertNoThrow(try parse(#""s""#, limits: zero))
        assertRejects("[]", .tooDeep, at: 0, limits: zero)
    }

    /// The parser keeps its stack on the heap: a megabyte of brackets is refused at the limit,
    /// not by overflowing the thread's stack.
    func testHugeNestingIsRefusedAtTheLimit() {
        let brackets = [UInt8](repeating: UInt8(ascii: "["), count: 1 << 20)
        XCTAssertEqual(parseError(brackets), JSONError(.tooDeep, at: 32))
        let deepest = JSONLimits(maxDepth: .max)
        XCTAssertEqual(parseError(brackets, limits: deepest), JSONError(.tooDeep, at: JSONLimits.maxSupportedDepth))
    }

    func testTheSupportedDepthParsesAndIsDestroyed() throws {
        let limits = JSONLimits(maxDepth: JSONLimits.maxSupportedDepth)
        let depth = JSONLimits.maxSupportedDepth
        let text = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        var value: JSONValue? = try parse(text, limits: limits)
        XCTAssertEqual(value?.range, 0..<(2 * depth))
        value = nil
    }

    func testStringLengthCountsInputBytes() {
        let five = JSONLimits(maxStringBytes: 5)
        XCTAssertNoThrow(try parse(#""abcde""#, limits: five))
        XCTAssertNoThrow(try parse(#""éé""#, limits: five))
        assertRejects(#""abcdef""#, .stringTooLong, at: 0, limits: five)
        assertRejects(#"["x","\n\n\n"]"#, .stringTooLong, at: 5, limits: five)  // 6 input bytes, 3 decoded
        assertRejects(#"{"abcdef":1}"#, .stringTooLong, at: 1, limits: five)
        assertRejects(#""ééé""#, .stringTooLong, at: 0, limits: five)
    }

    func testMembersPerContainer() {
        let three = JSONLimits(maxMembers: 3)
        XCTAssertNoThrow(try parse("[1,2,3]", limits: three))
        XCTAssertNoThrow(try parse("[[1,2,3],[1,2,3],[1,2,3]]", limits: three))
        XCTAssertNoThrow(try parse(#"{"a":1,"b":2,"c":3}"#, limits: three))
        assertRejects("[1,2,3,4]", .tooManyMembers, at: 7, limits: three)
        assertRejects("[1,2,3, []]", .tooManyMembers, at: 8, limits: three)
        assertRejects(#"{"a":1,"b":2,"c":3,"d":4}"#, .tooManyMembers, at: 19, limits: three)
        assertRejects("[1]", .tooManyMembers, at: 1, limits: JSONLimits(maxMembers: 0))
        XCTAssertNoThrow(try parse("[]", limits: JSONLimits(maxMembers: 0)))
    }

    func testDuplicateKeysPointAtTheSecond() {
        assertRejects(#"{"a":1,"a":2}"#, .duplicateKey, at: 7)
        assertRejects(#"{"a":1,"b":2,"a":3}"#, .duplicateKey, at: 13)
        assertRejects(#"{"channel":"x","data":{},"channel":"y"}"#, .duplicateKey, at: 25)
        assertRejects(#"[{"a":{"b":1,"b":1}}]"#, .duplicateKey, at: 13)
    }

    /// Keys compare decoded: an escaped spelling of the same key is the same key.
    func testDuplicateKeysCompareDecoded() {
        assertRejects(#"{"a":1,"\u0061":2}"#, .duplicateKey, at: 7)
        assertRejects(#"{"\n":1,"\u000a":2}"#, .duplicateKey, at: 8)
        assertRejects(#"{"😀":1,"\ud83d\ude00":2}"#, .duplicateKey, at: 10)
    }

    /// Keys compare as Swift Strings, by canonical equivalence, as `subscript(key:)` looks them
    /// up: "é" precomposed and "e" + U+0301 are one key, so a look-up could not tell them apart.
    func testCanonicallyEquivalentKeysAreDuplicates() {
        assertRejects("{\"\u{E9}\":1,\"e\u{301}\":2}", .duplicateKey, at: 8)
    }

    /// Past a dozen members, the check hashes; it must still find every duplicate.
    func testDuplicatesInLargeObjects() {
        for count in [11, 12, 13, 40] {
            let members = (0..<count).map { #""k\#($0)":\#($0)"# }
            let prefix = "{" + members.joined(separator: ",") + ","
            for duplicate in [0, count / 2, count - 1] {
                assertRejects(prefix + #""k\#(duplicate)":0}"#, .duplicateKey, at: prefix.utf8.count)
            }
            XCTAssertNoThrow(try parse(prefix + #""fresh":0}"#))
        }
    }

    /// Each object checks its own keys: the same keys in nested and sibling objects are fine,
    /// and an outer object's key set survives a large inner object coming and going.
    func testKeysAreCheckedPerObject() throws {
        let keys = (0..<20).map { "k\($0)" }
        let inner = "{" + keys.map { #""\#($0)":1"# }.joined(separator: ",") + "}"
        let outer = "{" + keys.map { #""\#($0)":\#(inner)"# }.joined(separator: ",") + "}"
        let value = try parse(outer)
        XCTAssertEqual(value.object?.count, 20)
        XCTAssertEqual(value["k19"]?["k19"]?.int64, 1)
        XCTAssertNoThrow(try parse(#"[{"a":1},{"a":2},{"a":{"a":3}}]"#))
        let duplicated = String(outer.dropLast()) + #","k3":0}"#
        assertRejects(duplicated, .duplicateKey, at: outer.utf8.count)
    }
}
