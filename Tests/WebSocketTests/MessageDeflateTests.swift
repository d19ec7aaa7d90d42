import Buffers
import TestSupport
import WebSocket
import XCTest

/// Message compression and decompression (RFC 7692 §7.2): the §7.2.3 examples, round trips with
/// and without context takeover, the size limit against zip bombs, and corrupt input.
final class MessageDeflateTests: XCTestCase {
    private func deflater(_ windowBits: Int = 15, strategy: MessageDeflater.Strategy = .standard,
                          file: StaticString = #filePath, line: UInt = #line) throws -> MessageDeflater {
        try XCTUnwrap(MessageDeflater(windowBits: windowBits, strategy: strategy), file: file, line: line)
    }

    private func inflater(_ windowBits: Int = 15, file: StaticString = #filePath, line: UInt = #line) throws -> MessageInflater {
        try XCTUnwrap(MessageInflater(windowBits: windowBits), file: file, line: line)
    }

    private func compress(_ deflater: MessageDeflater, _ message: [UInt8], resetAfter: Bool = false) -> [UInt8] {
        let output = ByteBuffer(capacity: 16)
        message.withUnsafeBytes { deflater.compress($0, into: output, resetAfter: resetAfter) }
        return Array(output.readableView)
    }

    private func inflate(_ inflater: MessageInflater, _ payload: [UInt8], limit: Int = 1 << 24,
                         resetAfter: Bool = false) -> (InflateOutcome, [UInt8]) {
        let output = ByteBuffer()
        let outcome = payload.withUnsafeBytes { inflater.inflate($0, into: output, limit: limit, resetAfter: resetAfter) }
        return (outcome, Array(output.readableView))
    }

    private let hello = Array("Hello".utf8)

    /// Text that compresses like real messages do: repeated words and keys.
    private func chatter(_ count: Int, using rng: inout SplitMix64) -> [UInt8] {
        let words = ["{\"channel\":", "\"news\"", ",\"data\":", "{\"id\":", "12345", "relay", " ", "\"text\":", "}", "hello world"]
        var out: [UInt8] = []
        while out.count < count { out += Array(words[Int.random(in: 0..<words.count, using: &rng)].utf8) }
        return Array(out.prefix(count))
    }

    // MARK: - §7.2.3 examples

    func testHelloWithAFreshContext() throws {
        XCTAssertEqual(compress(try deflater(), hello), hex("f2 48 cd c9 c9 07 00"))
        let (outcome, message) = inflate(try inflater(), hex("f2 48 cd c9 c9 07 00"))
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(message, hello)
    }

    func testSecondHelloWithContextTakeover() throws {
        let deflater = try deflater()
        XCTAssertEqual(compress(deflater, hello), hex("f2 48 cd c9 c9 07 00"))
        XCTAssertEqual(compress(deflater, hello), hex("f2 00 11 00 00"))
        let inflater = try inflater()
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00")).1, hello)
        XCTAssertEqual(inflate(inflater, hex("f2 00 11 00 00")).1, hello)
    }

    func testResetAfterMakesTheNextMessageStandAlone() throws {
        let deflater = try deflater()
        XCTAssertEqual(compress(deflater, hello, resetAfter: true), hex("f2 48 cd c9 c9 07 00"))
        XCTAssertEqual(compress(deflater, hello, resetAfter: true), hex("f2 48 cd c9 c9 07 00"))
    }

    func testInflaterResetForgetsThePreviousMessage() throws {
        let inflater = try inflater()
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00"), resetAfter: true).0, .complete)
        // The second Hello refers back to the first, which a reset inflater no longer has.
        guard case .corrupt = inflate(inflater, hex("f2 00 11 00 00")).0 else { return XCTFail("a back-reference after reset decoded") }
        inflater.reset()
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00")).1, hello)
    }

    func testUncompressedBlock() throws {
        let (outcome, message) = inflate(try inflater(), hex("00 05 00 fa ff 48 65 6c 6c 6f 00"))
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(message, hello)
    }

    func testFinalBlockEndsTheMessageAndTheNextOneDecodes() throws {
        let inflater = try inflater()
        XCTAssertEqual(inflate(inflater, hex("f3 48 cd c9 c9 07 00 00")).1, hello)
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00")).1, hello)
        // Without the 00 after the final block, too: what follows it is not read.
        XCTAssertEqual(inflate(inflater, hex("f3 48 cd c9 c9 07 00")).1, hello)
        // The window survives the final block, for a sender that keeps its context.
        XCTAssertEqual(inflate(inflater, hex("f2 00 11 00 00")).1, hello)
    }

    func testTwoBlocksInOneMessage() throws {
        let (outcome, message) = inflate(try inflater(), hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00"))
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(message, hello)
    }

    func testEmptyMessage() throws {
        let deflater = try deflater(), inflater = try inflater()
        XCTAssertEqual(compress(deflater, []), [0x00])
        XCTAssertEqual(inflate(inflater, [0x00]).0, .complete)
        XCTAssertEqual(inflate(inflater, [0x00]).1, [])
        // Between messages with context takeover, where zlib alone would produce nothing.
        let first = compress(deflater, hello), empty = compress(deflater, []), last = compress(deflater, hello)
        XCTAssertEqual(empty, [0x00])
        XCTAssertEqual(inflate(inflater, first).1, hello)
        XCTAssertEqual(inflate(inflater, empty), (.complete, []))
        XCTAssertEqual(inflate(inflater, last).1, hello)
        // An empty payload (what some senders produce) is an empty message and leaves the stream as it was.
        XCTAssertEqual(inflate(inflater, []), (.complete, []))
        XCTAssertEqual(inflate(inflater, compress(deflater, hello)).1, hello)
    }

    // MARK: - Round trips

    func testRoundTripsAcrossWindowsWithAndWithoutContextTakeover() throws {
        var rng = SplitMix64(seed: 0x7692)
        for windowBits in 9...15 {
            for takeover in [true, false] {
                let deflater = try deflater(windowBits), inflater = try inflater(windowBits)
                let compressed = ByteBuffer(capacity: 16), inflated = ByteBuffer(capacity: 16)
                for number in 0..<24 {
                    let size = [0, 1, 5, 300, 4096, 70_000][Int.random(in: 0..<6, using: &rng)]
                    let message = Bool.random(using: &rng) ? rng.bytes(size) : chatter(size, using: &rng)
                    // The scratch buffers are reused, as a loop's are, and start with unrelated bytes.
                    compressed.clear()
                    compressed.write([0xAA, 0xBB])
                    message.withUnsafeBytes { deflater.compress($0, into: compressed, resetAfter: !takeover) }
                    XCTAssertEqual(Array(compressed.readableView.prefix(2)), [0xAA, 0xBB])
                    compressed.consume(2)
                    inflated.clear()
                    let outcome = inflater.inflate(compressed.readableView, into: inflated, limit: 1 << 20, resetAfter: !takeover)
                    let context = "window \(windowBits), takeover \(takeover), message \(number) of \(size) bytes"
                    XCTAssertEqual(outcome, .complete, context)
                    XCTAssertEqual(Array(inflated.readableView), message, context)
                }
            }
        }
    }

    func testAMegabyteInflatesAcrossManyChunks() throws {
        var rng = SplitMix64(seed: 1)
        let message = chatter(1 << 20, using: &rng)
        let payload = compress(try deflater(), message)
        XCTAssertLessThan(payload.count, message.count / 4)
        let (outcome, inflated) = inflate(try inflater(), payload, limit: 1 << 20)
        XCTAssertEqual(outcome, .complete)
        XCTAssertEqual(inflated, message)
    }

    func testContextTakeoverShrinksARepeatedMessage() throws {
        var rng = SplitMix64(seed: 2)
        let message = chatter(400, using: &rng)
        let keeping = try deflater(), resetting = try deflater()
        let first = compress(keeping, message), second = compress(keeping, message)
        XCTAssertLessThan(second.count * 4, first.count, "the second refers to the first")
        let alone = (0..<2).map { _ in compress(resetting, message, resetAfter: true) }
        XCTAssertEqual(alone[0], alone[1])
        XCTAssertEqual(alone[0], first)
        let inflater = try inflater()
        XCTAssertEqual(inflate(inflater, first).1, message)
        XCTAssertEqual(inflate(inflater, second).1, message)
    }

    // MARK: - The size limit

    func testZipBombStopsAtTheLimit() throws {
        let zeros = [UInt8](repeating: 0, count: 10_000_000)
        let bomb = compress(try deflater(), zeros)
        XCTAssertLessThan(bomb.count, 20_000)
        let limit = 1 << 20
        let output = ByteBuffer()
        let outcome = bomb.withUnsafeBytes { try! inflater().inflate($0, into: output, limit: limit) }
        XCTAssertEqual(outcome, .tooBig)
        XCTAssertLessThanOrEqual(output.readableBytes, limit)
        XCTAssertLessThanOrEqual(output.capacity, limit + 64 * 1024, "the output grew past the limit")
    }

    func testTheLimitIsInclusive() throws {
        var rng = SplitMix64(seed: 3)
        let message = chatter(100_000, using: &rng)
        let payload = compress(try deflater(), message)
        XCTAssertEqual(inflate(try inflater(), payload, limit: message.count).0, .complete)
        XCTAssertEqual(inflate(try inflater(), payload, limit: message.count - 1).0, .tooBig)
        XCTAssertEqual(inflate(try inflater(), payload, limit: 0).0, .tooBig)
        XCTAssertEqual(inflate(try inflater(), [0x00], limit: 0).0, .complete, "an empty message fits any limit")
    }

    func testAfterTooBigTheInflaterStartsOver() throws {
        let inflater = try inflater()
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00"), limit: 4).0, .tooBig)
        XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00")), (.complete, hello))
    }

    // MARK: - Corrupt input

    func testCorruptInput() throws {
        let inflater = try inflater()
        // BTYPE 11 is reserved; ff ff ff is a dynamic block with impossible code lengths; a stored
        // block whose NLEN is not the complement of LEN.
        for payload in [hex("06"), hex("ff ff ff"), hex("00 05 00 05 00 48 65 6c 6c 6f 00")] {
            guard case .corrupt = inflate(inflater, payload).0 else { return XCTFail("\(payload) inflated") }
            // Each failure leaves the inflater able to decode a fresh message.
            XCTAssertEqual(inflate(inflater, hex("f2 48 cd c9 c9 07 00")), (.complete, hello))
        }
    }

    func testAMessageCutShortIsCorrupt() throws {
        var rng = SplitMix64(seed: 4)
        let payload = compress(try deflater(), chatter(5000, using: &rng))
        for length in [1, 10, payload.count / 2, payload.count - 1] {
            guard case .corrupt = inflate(try inflater(), Array(payload.prefix(length))).0 else {
                return XCTFail("\(length) of \(payload.count) bytes inflated as a whole message")
            }
        }
    }

    func testDistanceBeyondTheWindowIsCorrupt() throws {
        // zlib checks distances against the window kept between calls, so refer across messages.
        var rng = SplitMix64(seed: 5)
        let block = rng.bytes(1000)
        let deflater = try deflater(15), inflater = try inflater(9)
        XCTAssertEqual(inflate(inflater, compress(deflater, block)).1, block)
        guard case .corrupt = inflate(inflater, compress(deflater, block)).0 else {
            return XCTFail("a 1000-byte distance fit a 512-byte window")
        }
    }

    // MARK: - server_max_window_bits=8

    func testRunLengthOutputInflatesWithAWindowOf256Bytes() throws {
        var rng = SplitMix64(seed: 6)
        // Repeats 300 bytes back, beyond a 256-byte window, and runs; sent twice with context
        // takeover, so that the second message could refer into the first.
        let block = rng.bytes(200)
        var message: [UInt8] = []
        for _ in 0..<30 { message += block + [UInt8](repeating: 0x61, count: 100) }
        let deflater = try deflater(9, strategy: .runLengthOnly), inflater = try inflater(8)
        for round in 0..<2 {
            let rle = compress(deflater, message)
            let (outcome, inflated) = inflate(inflater, rle)
            XCTAssertEqual(outcome, .complete, "message \(round)")
            XCTAssertEqual(inflated, message, "message \(round)")
            // The runs shrink to a few bytes each, the repeated blocks hardly.
            XCTAssertGreaterThan(rle.count, 30 * 100)
            XCTAssertLessThan(rle.count, 30 * 200 + 30 * 20)
        }
    }

    func testRunLengthOnlyIgnoresRepeatsAStandardDeflaterFinds() throws {
        var rng = SplitMix64(seed: 7)
        let block = rng.bytes(200)
        let message = (0..<30).flatMap { _ in block }
        XCTAssertLessThan(compress(try deflater(9), message).count, 1000)
        XCTAssertGreaterThan(compress(try deflater(9, strategy: .runLengthOnly), message).count, 30 * 100)
    }

    /// Incompressible data comes out larger, most with the smallest memLevel: the wire limits
    /// Relay applies to compressed messages must allow it (worstCaseSize).
    func testIncompressibleDataStaysWithinTheWorstCaseBound() throws {
        var rng = SplitMix64(seed: 7)
        let message = rng.bytes(1 << 20)
        for memLevel in [1, 5, 8, 9] {
            let deflater = try XCTUnwrap(MessageDeflater(windowBits: 15, memLevel: memLevel, level: 6))
            let compressed = compress(deflater, message, resetAfter: true)
            XCTAssertGreaterThan(compressed.count, message.count)
            XCTAssertLessThanOrEqual(compressed.count, MessageDeflater.worstCaseSize(message.count), "memLevel \(memLevel)")
        }
    }
}

private func XCTAssertEqual(_ actual: (InflateOutcome, [UInt8]), _ expected: (InflateOutcome, [UInt8]),
                            file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.0, expected.0, file: file, line: line)
    XCTAssertEqual(actual.1, expected.1, file: file, line: line)
}
