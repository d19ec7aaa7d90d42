import Foundation
import JSON
import TestSupport
import XCTest

/// Random documents written and parsed back. Seeded, so a failure repeats exactly.
final class RoundTripTests: XCTestCase {
    /// 2,000 documents written with JSONWriter parse back to the model, and keep every
    /// invariant (ranges, re-parsing slices, writing back).
    func testWriterOutputParsesBackToTheSameDocument() throws {
        var random = RandomJSON(seed: 0x5EED_0001)
        for index in 0..<2_000 {
            let model = random.document()
            let bytes = model.writtenBytes
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                XCTFail("document \(index) refused: \(error): \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            assertMatches(value, model)
            XCTAssertEqual(value.range, 0..<bytes.count)
            assertInvariants(of: value, input: bytes)
        }
    }

    /// The same documents spelled every way the RFC allows (whitespace, `\u` escapes, surrogate
    /// pairs, `\/`, exponents on integers) parse to the same model.
    func testEverySpellingParsesToTheSameDocument() throws {
        var random = RandomJSON(seed: 0x5EED_0002)
        var rng = SplitMix64(seed: 0x5EED_0003)
        for index in 0..<2_000 {
            let model = random.document()
            let bytes = model.spelled(using: &rng)
            let value: JSONValue
            do {
                value = try JSONParser.parse(bytes)
            } catch {
                XCTFail("document \(index) refused: \(error): \(String(decoding: bytes, as: UTF8.self))")
                continue
            }
            assertMatches(value, model)
            assertInvariants(of: value, input: bytes)
            XCTAssertEqual(value, try JSONParser.parse(model.writtenBytes))
        }
    }

    /// Writing a parsed value is canonical: parsing that output and writing it again gives the
    /// same bytes. (Not necessarily the bytes first parsed: a Double above 2^53 written as
    /// `1.2e+19` comes back as the integer it spells, and is then written as one.)
    func testWritingAParsedValueIsAFixedPoint() throws {
        var random = RandomJSON(seed: 0x5EED_0004)
        var rng = SplitMix64(seed: 0x5EED_0005)
        for _ in 0..<500 {
            var first = JSONWriter()
            first.value(try JSONParser.parse(random.document().spelled(using: &rng)))
            var second = JSONWriter()
            second.value(try JSONParser.parse(first.bytes))
            XCTAssertEqual(String(decoding: second.bytes, as: UTF8.self), String(decoding: first.bytes, as: UTF8.self))
        }
    }

    /// Replays the fuzzer's saved inputs (Fuzz/regressions/json-parser) through the same
    /// invariants as the fuzz harness.
    func testFuzzRegressionInputs() throws {
        // #filePath may pass through a symbolic link (an isolated build of this module).
        let directory = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath()
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/regressions/json-parser")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        XCTAssertFalse(names.isEmpty, "Fuzz/regressions/json-parser holds at least the seeds")
        for name in names {
            let bytes = Array(try Data(contentsOf: directory.appendingPathComponent(name)))
            if let value = try? JSONParser.parse(bytes) {
                assertInvariants(of: value, input: bytes)
            } else if let error = parseError(bytes) {
                XCTAssertTrue((0...bytes.count).contains(error.offset), name)
            }
        }
    }
}
