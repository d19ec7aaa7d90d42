import FuzzHarness
import Foundation
import XCTest

/// Replays every input in Fuzz/regressions (crashers the fuzzers found, and seeds) through the
/// same checks the fuzzers run, so a fixed bug stays fixed.
final class FuzzRegressionTests: XCTestCase {
    private func inputs(_ target: String) throws -> [(String, [UInt8])] {
        let directory = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fuzz/regressions/\(target)")
        let names = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        return try names.map { ($0, Array(try Data(contentsOf: directory.appendingPathComponent($0)))) }
    }

    func testHTTPParserRegressions() throws {
        let cases = try inputs("http-parser")
        XCTAssertFalse(cases.isEmpty, "Fuzz/regressions/http-parser holds at least the seeds")
        for (_, bytes) in cases { bytes.withUnsafeBytes { FuzzHarness.httpParser($0) } }
    }

    func testFrameReaderRegressions() throws {
        let cases = try inputs("frame-reader")
        XCTAssertFalse(cases.isEmpty, "Fuzz/regressions/frame-reader holds at least the seeds")
        for (_, bytes) in cases { bytes.withUnsafeBytes { FuzzHarness.frameReader($0) } }
    }

    func testJSONParserRegressions() throws {
        let cases = try inputs("json-parser")
        XCTAssertFalse(cases.isEmpty, "Fuzz/regressions/json-parser holds at least the seeds")
        for (_, bytes) in cases { bytes.withUnsafeBytes { FuzzHarness.jsonParser($0) } }
    }
}
