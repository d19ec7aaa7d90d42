import TestSupport
import WebSocket
import XCTest

/// Payload masking, RFC 6455 §5.3.
final class MaskingTests: XCTestCase {
    /// The straightforward definition: octet i is XORed with octet i mod 4 of the key.
    private func reference(_ bytes: [UInt8], key: [UInt8], phase: Int = 0) -> [UInt8] {
        bytes.enumerated().map { $0.element ^ key[($0.offset + phase) % 4] }
    }

    private func masked(_ bytes: [UInt8], key: UInt32, phase: Int = 0) -> (bytes: [UInt8], phase: Int) {
        var copy = bytes
        let next = copy.withUnsafeMutableBytes { Masking.apply(key: key, phase: phase, to: $0) }
        return (copy, next)
    }

    func testKeyIsTheLittleEndianLoadOfTheWireBytes() {
        XCTAssertEqual(Masking.key(0x01, 0x02, 0x03, 0x04), 0x0403_0201)
        XCTAssertEqual(Masking.key(0x37, 0xFA, 0x21, 0x3D), 0x3D21_FA37)
    }

    func testRFCMaskedHelloExample() {
        // §5.7: 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58 carries "Hello".
        let key = Masking.key(0x37, 0xFA, 0x21, 0x3D)
        let result = masked(Array("Hello".utf8), key: key)
        XCTAssertEqual(result.bytes, [0x7F, 0x9F, 0x4D, 0x51, 0x58])
        XCTAssertEqual(result.phase, 1)
        XCTAssertEqual(masked([0x7F, 0x9F, 0x4D, 0x51, 0x58], key: key).bytes, Array("Hello".utf8))
    }

    func testMatchesTheDefinitionForEveryLengthAndPhase() {
        var rng = SplitMix64(seed: 1)
        for length in 0...40 {
            for phase in 0...3 {
                let keyBytes = rng.bytes(4)
                let key = Masking.key(keyBytes[0], keyBytes[1], keyBytes[2], keyBytes[3])
                let payload = rng.bytes(length)
                let result = masked(payload, key: key, phase: phase)
                XCTAssertEqual(result.bytes, reference(payload, key: keyBytes, phase: phase), "length \(length), phase \(phase)")
                XCTAssertEqual(result.phase, (phase + length) % 4, "length \(length), phase \(phase)")
            }
        }
    }

    func testEmptyBufferLeavesThePhaseUnchanged() {
        for phase in 0...3 {
            XCTAssertEqual(Masking.apply(key: 0xDEAD_BEEF, phase: phase, to: UnsafeMutableRawBufferPointer(start: nil, count: 0)), phase)
        }
    }

    func testMaskingInPiecesWithTheReturnedPhaseEqualsMaskingAtOnce() {
        var rng = SplitMix64(seed: 0x6455)
        for trial in 0..<2000 {
            let length = Int.random(in: 0...100, using: &rng)
            let payload = rng.bytes(length)
            let key = UInt32.random(in: .min ... .max, using: &rng)
            let whole = masked(payload, key: key).bytes

            // Cut at random points; pieces start at every alignment, so the eight-byte path
            // runs on unaligned addresses too.
            var cuts = (0..<Int.random(in: 0...6, using: &rng)).map { _ in Int.random(in: 0...length, using: &rng) }
            cuts = ([0] + cuts + [length]).sorted()
            var pieces = payload
            var phase = 0
            pieces.withUnsafeMutableBytes { buffer in
                for (start, end) in zip(cuts, cuts.dropFirst()) {
                    phase = Masking.apply(key: key, phase: phase, to: UnsafeMutableRawBufferPointer(rebasing: buffer[start..<end]))
                }
            }
            XCTAssertEqual(pieces, whole, "trial \(trial): length \(length), cuts \(cuts)")
            XCTAssertEqual(phase, length % 4, "trial \(trial)")
        }
    }

    func testMaskingTwiceRestoresThePayload() {
        var rng = SplitMix64(seed: 2)
        for _ in 0..<500 {
            let payload = rng.bytes(Int.random(in: 0...100, using: &rng))
            let key = UInt32.random(in: .min ... .max, using: &rng)
            let phase = Int.random(in: 0...3, using: &rng)
            let once = masked(payload, key: key, phase: phase).bytes
            if payload.count >= 4, key != 0 { XCTAssertNotEqual(once, payload) }
            XCTAssertEqual(masked(once, key: key, phase: phase).bytes, payload)
        }
    }
}
