import Foundation
import JSON
import TestSupport
import XCTest

/// JSONParser against a reference: Foundation's JSONSerialization (Foundation is used by these
/// tests only, never by the module), on 2,000 random byte mutations of valid documents.
///
/// Whenever JSONParser accepts, JSONSerialization must accept too, with the same value; so
/// whenever JSONSerialization refuses, JSONParser refuses. The other way round, JSONParser is
/// stricter on purpose, and each of these differences is named below:
/// - duplicate keys (JSONSerialization keeps the last; a command with two `channel`s is ambiguous);
/// - trailing commas, `[1,]` and `{"a":1,}`, which JSONSerialization accepts;
/// - a byte order mark, which JSONSerialization skips (RFC 8259 §8.1 forbids sending one);
/// - UTF-16 and UTF-32 input, which JSONSerialization detects by zero bytes at the start
///   (RFC 8259 §8.1: JSON exchanged between systems is UTF-8);
/// - nesting deeper than `JSONLimits.maxDepth` (JSONSerialization allows 512 levels).
///
/// Two defects of the reference are allowed for when values are compared: it drops U+FEFF
/// where it starts a run of raw characters inside a string (it decodes each run between escapes
/// as if it were a whole text, byte order mark included), so strings are compared without
/// U+FEFF (JSONParser keeps every character, as StringTests shows); and numbers it reads as
/// NSDecimalNumber convert to Double up to several ulps off (JSONParser's are correctly
/// rounded: ParserNumberTests checks them against the standard library).
final class ReferenceParserTests: XCTestCase {
    private enum Verdict: Hashable {
        case bothAccept, bothRefuse, deliberateDifference(String)
    }

    func testAgreesWithJSONSerializationOnMutatedDocuments() throws {
        var random = RandomJSON(seed: 0x2EF_0001)
        random.maxDepth = 2
        var rng = SplitMix64(seed: 0x2EF_0002)
        var verdicts: [Verdict: Int] = [:]
        for index in 0..<2_000 {
            var bytes = random.document().spelled(using: &rng)
            let mutations = Int.random(in: 0..<10, using: &rng) == 0 ? 0 : Int.random(in: 1...3, using: &rng)
            for _ in 0..<mutations { mutate(&bytes, using: &rng) }
            let verdict = compare(bytes, index: index)
            verdicts[verdict, default: 0] += 1
        }
        // Not vacuous: many documents both accept and many both refuse; deliberate differences
        // may occur (testDeliberateDifferences shows each), but agreement must dominate.
        XCTAssertGreaterThan(verdicts[.bothAccept, default: 0], 300, "\(verdicts)")
        XCTAssertGreaterThan(verdicts[.bothRefuse, default: 0], 600, "\(verdicts)")
        let differences = verdicts.filter { if case .deliberateDifference = $0.key { true } else { false } }
        XCTAssertLessThan(differences.values.reduce(0, +), 300, "\(verdicts)")
    }

    /// Each deliberate difference, shown once on purpose.
    func testDeliberateDifferences() throws {
        let cases: [(String, JSONError.Reason)] = [
            (#"{"a":1,"a":2}"#, .duplicateKey),
            ("[1,]", .trailingComma),
            (#"{"a":1,}"#, .trailingComma),
            ("\u{FEFF}[1]", .expectedValue),
            (String(repeating: "[", count: 33) + String(repeating: "]", count: 33), .tooDeep),
        ]
        for (text, reason) in cases {
            XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]), text)
            XCTAssertEqual(parseError(Array(text.utf8))?.reason, reason, text)
        }
        let utf16: [UInt8] = [0x5B, 0x00, 0x31, 0x00, 0x5D, 0x00]  // "[1]" in UTF-16LE
        XCTAssertNotNil(try? JSONSerialization.jsonObject(with: Data(utf16), options: [.fragmentsAllowed]))
        XCTAssertNotNil(parseError(utf16))
    }

    private func compare(_ bytes: [UInt8], index: Int, file: StaticString = #filePath, line: UInt = #line) -> Verdict {
        let theirs = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed])
        let text = String(decoding: bytes, as: UTF8.self).debugDescription
        switch (Result { () throws(JSONError) in try JSONParser.parse(bytes) }, theirs) {
        case (.success(let value), .some(let reference)):
            assertSame(value, reference, path: "#\(index) $", file: file, line: line)
            return .bothAccept
        case (.success, .none):
            XCTFail("#\(index): JSONParser accepts what JSONSerialization refuses: \(text)", file: file, line: line)
            return .bothAccept
        case (.failure, .none):
            return .bothRefuse
        case (.failure(let error), .some):
            guard let difference = deliberateDifference(error, bytes) else {
                XCTFail("#\(index): JSONParser refuses (\(error)) what JSONSerialization accepts: \(text)", file: file, line: line)
                return .bothRefuse
            }
            return .deliberateDifference(difference)
        }
    }

    private func deliberateDifference(_ error: JSONError, _ bytes: [UInt8]) -> String? {
        switch error.reason {
        case .duplicateKey: return "duplicate key"
        case .trailingComma: return "trailing comma"
        case .tooDeep: return "depth"
        default: break
        }
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) && error.offset == 0 { return "byte order mark" }
        if bytes.prefix(4).contains(0) { return "UTF-16 or UTF-32" }
        return nil
    }

    /// The same value: kinds, strings scalar for scalar, numbers as Doubles (exactly, unless
    /// JSONSerialization went through Decimal) and Int64s.
    private func assertSame(_ value: JSONValue, _ reference: Any, path: String, file: StaticString, line: UInt) {
        switch value.kind {
        case .null:
            XCTAssertTrue(reference is NSNull, "\(path): \(reference)", file: file, line: line)
        case .bool:
            XCTAssertTrue(String(describing: type(of: reference)).contains("Boolean"), "\(path): \(reference)", file: file, line: line)
            XCTAssertEqual(value.bool, (reference as? NSNumber)?.boolValue, path, file: file, line: line)
        case .number:
            guard let number = reference as? NSNumber, !String(describing: type(of: reference)).contains("Boolean") else {
                XCTFail("\(path): \(reference) is not a number", file: file, line: line)
                return
            }
            let double = value.double ?? .nan
            if reference is NSDecimalNumber {
                XCTAssertEqual(double, number.doubleValue, accuracy: double.magnitude * 1e-13, path, file: file, line: line)
            } else {
                XCTAssertEqual(double, number.doubleValue, path, file: file, line: line)
                if let integer = value.int64, number.doubleValue.rounded() == number.doubleValue {
                    XCTAssertEqual(integer, number.int64Value, path, file: file, line: line)
                }
            }
        case .string:
            XCTAssertEqual(value.string.map { Array(referenceForm($0).unicodeScalars) }, (reference as? String).map { Array(referenceForm($0).unicodeScalars) },
                           path, file: file, line: line)
        case .array:
            guard let elements = value.array, let others = reference as? [Any], elements.count == others.count else {
                XCTFail("\(path): \(value) vs \(reference)", file: file, line: line)
                return
            }
            for (offset, (element, other)) in zip(elements, others).enumerated() {
                assertSame(element, other, path: "\(path)[\(offset)]", file: file, line: line)
            }
        case .object:
            guard let members = value.object, let dictionary = reference as? [String: Any] else {
                XCTFail("\(path): \(value) vs \(reference)", file: file, line: line)
                return
            }
            // Keys that differ only by U+FEFF become one key in the reference: compare the rest.
            var forms: [String: Int] = [:]
            for member in members { forms[referenceForm(member.key), default: 0] += 1 }
            XCTAssertEqual(forms.count, dictionary.count, "\(path): \(value) vs \(reference)", file: file, line: line)
            let others = Dictionary(dictionary.map { (referenceForm($0.key), $0.value) }, uniquingKeysWith: { first, _ in first })
            for member in members where forms[referenceForm(member.key)] == 1 {
                guard let other = others[referenceForm(member.key)] else {
                    XCTFail("\(path): no key \(member.key.debugDescription) in \(reference)", file: file, line: line)
                    continue
                }
                assertSame(member.value, other, path: "\(path).\(member.key.debugDescription)", file: file, line: line)
            }
        }
    }

    /// A string without U+FEFF, which JSONSerialization may or may not have dropped.
    private func referenceForm(_ string: String) -> String {
        var scalars = string.unicodeScalars
        scalars.removeAll { $0 == "\u{FEFF}" }
        return String(scalars)
    }

    /// Bytes and snippets that matter to a JSON parser, so that mutations often stay close to
    /// valid JSON instead of being refused at the first byte.
    private static let snippets: [[UInt8]] = [
        "{", "}", "[", "]", ",", ":", "\"", "\\", "-", "+", ".", "e", "E", "0", "1", "9", " ", "\n", "\t",
        "t", "f", "n", "u", "/", "true", "null", #""a":1,"#, #"\u"#, #"\ud800"#, #"\udc00"#, #"\ud83d\ude00"#,
        "01", "1e999", "1e-999", "-0", ".5", "1.", "NaN", "/* */", "\u{FEFF}", "\u{0}", "\u{1F}", "é", "😀",
    ].map { Array($0.utf8) }

    private func mutate(_ bytes: inout [UInt8], using rng: inout SplitMix64) {
        let position = Int.random(in: 0...bytes.count, using: &rng)
        switch Int.random(in: 0..<9, using: &rng) {
        case 0 where position < bytes.count:
            bytes[position] = UInt8.random(in: 0...255, using: &rng)
        case 1 where position < bytes.count:
            bytes[position] = Self.snippets.filter { $0.count == 1 }.randomElement(using: &rng)![0]
        case 2:
            bytes.insert(contentsOf: Self.snippets.randomElement(using: &rng)!, at: position)
        case 3 where position < bytes.count:
            bytes.remove(at: position)
        case 4 where position < bytes.count:
            let end = min(bytes.count, position + Int.random(in: 1...8, using: &rng))
            bytes.removeSubrange(position..<end)
        case 5 where position < bytes.count:
            let end = min(bytes.count, position + Int.random(in: 1...12, using: &rng))
            let span = Array(bytes[position..<end])
            bytes.insert(contentsOf: span, at: Int.random(in: 0...bytes.count, using: &rng))
        case 6:
            bytes.insert(contentsOf: Array([" ", "\n", "\t", "\r", "\u{B}"].randomElement(using: &rng)!.utf8), at: position)
        case 7:
            // Another digit where there is one: leading zeros, other numbers, broken escapes.
            if let digit = bytes.indices.filter({ (0x30...0x39).contains(bytes[$0]) }).randomElement(using: &rng) {
                bytes[digit] = UInt8.random(in: 0x30...0x39, using: &rng)
            }
        default:
            bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
        }
    }
}
