import TestSupport
import WebSocket
import XCTest

/// Property: whatever the fragmentation, masks and TCP segmentation, every message comes out of
/// the reader identical and in order.
final class FrameReaderStreamTests: XCTestCase {
    /// Sizes at and around the length-form boundaries, each used several times.
    let boundarySizes = [0, 1, 125, 126, 127, 65535, 65536, 65537, 70000]

    private func randomSize(_ index: Int, using rng: inout SplitMix64) -> Int {
        if index < boundarySizes.count * 2 { return boundarySizes[index % boundarySizes.count] }
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return boundarySizes.randomElement(using: &rng)!
        case 1: return Int.random(in: 0...200, using: &rng)
        case 2: return Int.random(in: 0...5000, using: &rng)
        default: return Int.random(in: 0...70000, using: &rng)
        }
    }

    /// The wire bytes of `count` random messages, and the events they must produce.
    private func randomStream(messages count: Int, using rng: inout SplitMix64) -> (wire: [UInt8], expected: [Event]) {
        var wire: [UInt8] = []
        var expected: [Event] = []
        for index in 0..<count {
            let size = randomSize(index, using: &rng)
            let opcode: Opcode = Bool.random(using: &rng) ? .text : .binary
            let payload = opcode == .text ? rng.utf8(byteCount: size) : rng.bytes(size)

            // Cut into 1...5 fragments at random byte positions: code points get split, and
            // fragments may be empty.
            let cuts = (0..<Int.random(in: 0...4, using: &rng)).map { _ in Int.random(in: 0...size, using: &rng) }
            let bounds = ([0] + cuts + [size]).sorted()
            let fragments = zip(bounds, bounds.dropFirst()).map { Array(payload[$0..<$1]) }
            for (number, fragment) in fragments.enumerated() {
                let isLast = number == fragments.count - 1
                wire += FrameWriter.frame(number == 0 ? opcode : .continuation, payload: fragment, fin: isLast,
                                          maskKey: UInt32.random(in: .min ... .max, using: &rng))
                if !isLast, Int.random(in: 0..<4, using: &rng) == 0 {
                    // A control frame between fragments, delivered before the message.
                    let ping = rng.bytes(Int.random(in: 0...125, using: &rng))
                    wire += FrameWriter.frame(.ping, payload: ping, maskKey: UInt32.random(in: .min ... .max, using: &rng))
                    expected.append(.ping(ping))
                }
            }
            expected.append(.message(opcode, payload))
        }
        return (wire, expected)
    }

    /// How many bytes the next read from the socket returns.
    private func randomChunkSize(using rng: inout SplitMix64) -> Int {
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: return Int.random(in: 1...16, using: &rng)
        case 1: return Int.random(in: 1...300, using: &rng)
        case 2: return Int.random(in: 1...4096, using: &rng)
        default: return Int.random(in: 1...70000, using: &rng)
        }
    }

    private func check(seed: UInt64, messages: Int) {
        var rng = SplitMix64(seed: seed)
        let (wire, expected) = randomStream(messages: messages, using: &rng)

        var connection = Connection(.server)
        var received: [Event] = []
        var offset = 0
        while offset < wire.count {
            let end = min(offset + randomChunkSize(using: &rng), wire.count)
            received += connection.receive(wire[offset..<end])
            // Data payloads stream through: all that is ever left over is a partial header or a
            // partial control frame.
            XCTAssertLessThanOrEqual(connection.unconsumed.count, 139, "seed \(seed), after byte \(end)")
            offset = end
        }

        XCTAssertEqual(connection.unconsumed, [], "seed \(seed)")
        XCTAssertEqual(received.count, expected.count, "seed \(seed)")
        for (index, (got, want)) in zip(received, expected).enumerated() where got != want {
            XCTFail("seed \(seed), event \(index): got \(got), expected \(want)")
            return
        }
    }

    func testTwoHundredRandomMessagesInRandomChunks() {
        check(seed: 0x0000_6455_5EED_0001, messages: 200)
    }

    func testSmallMessagesInManySeeds() {
        // Many short streams, so that chunk boundaries fall at every kind of place.
        for seed in UInt64(1)...40 {
            var rng = SplitMix64(seed: seed)
            var wire: [UInt8] = []
            var expected: [Event] = []
            for _ in 0..<30 {
                let opcode: Opcode = Bool.random(using: &rng) ? .text : .binary
                let size = Int.random(in: 0...300, using: &rng)
                let payload = opcode == .text ? rng.utf8(byteCount: size) : rng.bytes(size)
                let cut = Int.random(in: 0...size, using: &rng)
                if Bool.random(using: &rng) {
                    wire += FrameWriter.frame(opcode, payload: payload, maskKey: UInt32.random(in: .min ... .max, using: &rng))
                } else {
                    wire += FrameWriter.frame(opcode, payload: Array(payload[..<cut]), fin: false, maskKey: UInt32.random(in: .min ... .max, using: &rng))
                    wire += FrameWriter.frame(.continuation, payload: Array(payload[cut...]), maskKey: UInt32.random(in: .min ... .max, using: &rng))
                }
                expected.append(.message(opcode, payload))
            }
            var connection = Connection(.server)
            var received: [Event] = []
            var offset = 0
            while offset < wire.count {
                let end = min(offset + Int.random(in: 1...40, using: &rng), wire.count)
                received += connection.receive(wire[offset..<end])
                offset = end
            }
            XCTAssertEqual(received, expected, "seed \(seed)")
        }
    }
}
