import TestSupport
import Buffers
import XCTest

/// Incremental UTF-8 validation (RFC 3629 §4), the check behind every text message.
final class UTF8ValidatorTests: XCTestCase {
    let validSamples: [(name: String, bytes: [UInt8])] = [
        ("empty", []),
        ("ASCII", Array("Hello, world! 0123456789 ~".utf8)),
        ("NUL and DEL", [0x00, 0x7F]),
        ("two-byte U+0080", [0xC2, 0x80]),
        ("two-byte U+07FF", [0xDF, 0xBF]),
        ("three-byte U+0800", [0xE0, 0xA0, 0x80]),
        ("three-byte U+D7FF", [0xED, 0x9F, 0xBF]),
        ("three-byte U+E000", [0xEE, 0x80, 0x80]),
        ("U+FFFF", [0xEF, 0xBF, 0xBF]),
        ("four-byte U+10000", [0xF0, 0x90, 0x80, 0x80]),
        ("U+10FFFF", [0xF4, 0x8F, 0xBF, 0xBF]),
        ("κόσμε", Array("κόσμε".utf8)),
        ("mixed", Array("a€𝄞é b 😀 ASCII after".utf8)),
    ]

    let invalidSamples: [(name: String, bytes: [UInt8])] = [
        ("overlong C0 80", [0xC0, 0x80]),
        ("overlong C1 BF", [0xC1, 0xBF]),
        ("overlong E0 80 80", [0xE0, 0x80, 0x80]),
        ("overlong E0 9F BF", [0xE0, 0x9F, 0xBF]),
        ("overlong F0 80 80 80", [0xF0, 0x80, 0x80, 0x80]),
        ("overlong F0 8F BF BF", [0xF0, 0x8F, 0xBF, 0xBF]),
        ("surrogate ED A0 80", [0xED, 0xA0, 0x80]),
        ("surrogate ED BF BF", [0xED, 0xBF, 0xBF]),
        ("past U+10FFFF F4 90 80 80", [0xF4, 0x90, 0x80, 0x80]),
        ("lone continuation 80", [0x80]),
        ("lone continuation BF after ASCII", [0x61, 0xBF]),
        ("F5", [0xF5, 0x80, 0x80, 0x80]),
        ("F8", [0xF8, 0x88, 0x80, 0x80, 0x80]),
        ("FE", [0xFE]),
        ("FF", [0xFF]),
        ("lead byte followed by ASCII", [0xC3, 0x41]),
        ("lead byte followed by lead byte", [0xE2, 0xE2, 0x82, 0xAC]),
        ("κόσμε with a bad byte", Array("κό".utf8) + [0xFF] + Array("σμε".utf8)),
    ]

    /// Validated in one call: (valid so far, ends on a code point boundary).
    private func validate(_ bytes: [UInt8]) -> (valid: Bool, complete: Bool) {
        var validator = UTF8Validator()
        let valid = bytes.withUnsafeBytes { validator.validate($0) }
        return (valid, validator.isComplete)
    }

    private func isValidUTF8(_ bytes: [UInt8]) -> Bool {
        let result = validate(bytes)
        return result.valid && result.complete
    }

    func testValidSamples() {
        for (name, bytes) in validSamples {
            let result = validate(bytes)
            XCTAssertTrue(result.valid, name)
            XCTAssertTrue(result.complete, name)
        }
    }

    func testInvalidSamples() {
        for (name, bytes) in invalidSamples {
            XCTAssertFalse(validate(bytes).valid, name)
        }
    }

    func testTruncatedSequencesAreValidSoFarButIncomplete() {
        let truncated: [[UInt8]] = [[0xC2], [0xE2], [0xE2, 0x82], [0xF0, 0x9D], [0xF0, 0x9D, 0x84], [0x61, 0x62, 0xF4, 0x8F, 0xBF]]
        for bytes in truncated {
            let result = validate(bytes)
            XCTAssertTrue(result.valid, "\(bytes)")
            XCTAssertFalse(result.complete, "\(bytes)")
        }
    }

    func testEveryValidSampleSplitAtEveryPositionIsStillValid() {
        for (name, bytes) in validSamples {
            for split in 0...bytes.count {
                var validator = UTF8Validator()
                let first = bytes.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[..<split])) }
                let second = bytes.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[split...])) }
                XCTAssertTrue(first && second, "\(name) split at \(split)")
                XCTAssertTrue(validator.isComplete, "\(name) split at \(split)")
            }
        }
    }

    func testEveryInvalidSampleSplitAtEveryPositionIsStillInvalid() {
        for (name, bytes) in invalidSamples {
            for split in 0...bytes.count {
                var validator = UTF8Validator()
                let first = bytes.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[..<split])) }
                let second = first && bytes.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[split...])) }
                XCTAssertFalse(second, "\(name) split at \(split)")
            }
        }
    }

    func testByteByByteEqualsAllAtOnce() {
        for (name, bytes) in validSamples + invalidSamples {
            var validator = UTF8Validator()
            var valid = true
            for byte in bytes where valid { valid = [byte].withUnsafeBytes { validator.validate($0) } }
            XCTAssertEqual(valid && validator.isComplete, isValidUTF8(bytes), name)
        }
    }

    /// The ASCII fast path reads eight bytes at a time; a non-ASCII byte at any offset, aligned
    /// or not, must still be seen.
    func testInvalidByteAtEveryPositionAroundTheEightByteBoundaries() {
        for length in [18, 24, 33] {
            for position in 0...16 {
                for bad: UInt8 in [0x80, 0xC0, 0xFF] {
                    var bytes = [UInt8](repeating: 0x61, count: length)
                    bytes[position] = bad
                    XCTAssertFalse(validate(bytes).valid, "0x\(String(bad, radix: 16)) at \(position) of \(length)")
                }
                // A valid two-byte character there is accepted, and the ASCII after it too.
                var bytes = [UInt8](repeating: 0x61, count: length)
                bytes[position] = 0xC3
                bytes[position + 1] = 0xA9
                XCTAssertTrue(isValidUTF8(bytes), "é at \(position) of \(length)")
                // A lead byte at the very end leaves the validator incomplete.
                bytes = [UInt8](repeating: 0x61, count: position + 1)
                bytes[position] = 0xE2
                XCTAssertEqual(validate(bytes).valid, true, "E2 at end, \(position)")
                XCTAssertEqual(validate(bytes).complete, false, "E2 at end, \(position)")
            }
        }
    }

    func testUnalignedStart() {
        var bytes = [UInt8](repeating: 0x61, count: 40)
        bytes[37] = 0xFF
        for start in 0..<8 {
            var validator = UTF8Validator()
            let valid = bytes.withUnsafeBytes { validator.validate(UnsafeRawBufferPointer(rebasing: $0[start...])) }
            XCTAssertFalse(valid, "start \(start)")
        }
    }

    func testResetMakesAFailedValidatorUsableAgain() {
        var validator = UTF8Validator()
        XCTAssertFalse([UInt8]([0xE2, 0x41]).withUnsafeBytes { validator.validate($0) })
        validator.reset()
        XCTAssertTrue(validator.isComplete)
        XCTAssertTrue(Array("é".utf8).withUnsafeBytes { validator.validate($0) })
        XCTAssertTrue(validator.isComplete)
    }

    // MARK: - Against the standard library

    private func standardLibraryAccepts(_ bytes: [UInt8]) -> Bool {
        String(validating: bytes, as: UTF8.self) != nil
    }

    func testAgreesWithTheStandardLibraryOnEveryTwoByteString() {
        for a in 0...255 {
            for b in 0...255 {
                let bytes = [UInt8(a), UInt8(b)]
                XCTAssertEqual(isValidUTF8(bytes), standardLibraryAccepts(bytes), "\(bytes)")
            }
        }
    }

    func testAgreesWithTheStandardLibraryOnThreeAndFourByteSequencesAroundTheBoundaries() {
        let continuations = Array(UInt8(0x7F)...0xC0)
        for lead in UInt8(0xE0)...0xFF {
            for b1 in continuations {
                for b2 in [0x7F, 0x80, 0xBF, 0xC0] as [UInt8] {
                    let bytes = [lead, b1, b2]
                    XCTAssertEqual(isValidUTF8(bytes), standardLibraryAccepts(bytes), "\(bytes)")
                    let four = [lead, b1, b2, 0x80]
                    XCTAssertEqual(isValidUTF8(four), standardLibraryAccepts(four), "\(four)")
                }
            }
        }
    }

    /// Random byte strings, most of them valid UTF-8 with a few bytes broken, so both answers
    /// come up often.
    func testAgreesWithTheStandardLibraryOnRandomNearValidStrings() {
        var rng = SplitMix64(seed: 3629)
        let interesting: [UInt8] = [0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF,
                                    0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF]
        var validCount = 0
        for trial in 0..<10_000 {
            var bytes = Array(repeating: UInt8(ascii: "x"), count: Int.random(in: 0...16, using: &rng))
            bytes += rng.utf8(byteCount: Int.random(in: 0...24, using: &rng))
            for _ in 0..<Int.random(in: 0...2, using: &rng) where !bytes.isEmpty {
                let at = Int.random(in: 0..<bytes.count, using: &rng)
                let byte = Bool.random(using: &rng) ? interesting.randomElement(using: &rng)! : UInt8.random(in: 0...255, using: &rng)
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[at] = byte
                case 1: bytes.insert(byte, at: at)
                case 2: bytes.remove(at: at)
                default: bytes.removeLast(Int.random(in: 1...min(3, bytes.count), using: &rng))
                }
            }
            let expected = standardLibraryAccepts(bytes)
            XCTAssertEqual(expected, Array(String(decoding: bytes, as: UTF8.self).utf8) == bytes, "the two oracles disagree")
            if expected { validCount += 1 }
            XCTAssertEqual(isValidUTF8(bytes), expected, "trial \(trial): \(bytes.map { String($0, radix: 16) })")

            // And split at a random point.
            let split = Int.random(in: 0...bytes.count, using: &rng)
            var validator = UTF8Validator()
            let valid = bytes.withUnsafeBytes {
                validator.validate(UnsafeRawBufferPointer(rebasing: $0[..<split]))
                    && validator.validate(UnsafeRawBufferPointer(rebasing: $0[split...]))
            }
            XCTAssertEqual(valid && validator.isComplete, expected, "trial \(trial) split at \(split)")
        }
        // The generator must exercise both outcomes for this test to mean anything.
        XCTAssertGreaterThan(validCount, 2000)
        XCTAssertLessThan(validCount, 8000)
    }
}
