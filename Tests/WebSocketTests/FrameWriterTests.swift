import WebSocket
import XCTest

/// Frame encoding, RFC 6455 §5.2, checked against the examples of §5.7.
final class FrameWriterTests: XCTestCase {
    let hello = Array("Hello".utf8)

    // MARK: - §5.7 examples

    func testSingleFrameUnmaskedText() {
        XCTAssertEqual(FrameWriter.frame(.text, payload: hello), hex("81 05 48 65 6c 6c 6f"))
    }

    func testSingleFrameMaskedText() {
        XCTAssertEqual(FrameWriter.frame(.text, payload: hello, maskKey: rfcMaskKey),
                       hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    func testFragmentedUnmaskedText() {
        XCTAssertEqual(FrameWriter.frame(.text, payload: Array("Hel".utf8), fin: false), hex("01 03 48 65 6c"))
        XCTAssertEqual(FrameWriter.frame(.continuation, payload: Array("lo".utf8)), hex("80 02 6c 6f"))
    }

    func testUnmaskedPing() {
        XCTAssertEqual(FrameWriter.frame(.ping, payload: hello), hex("89 05 48 65 6c 6c 6f"))
    }

    func testMaskedPong() {
        XCTAssertEqual(FrameWriter.frame(.pong, payload: hello, maskKey: rfcMaskKey),
                       hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"))
    }

    func test256ByteBinaryUsesTheSixteenBitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0 * 7) }
        let frame = FrameWriter.frame(.binary, payload: payload)
        XCTAssertEqual(Array(frame.prefix(4)), hex("82 7e 01 00"))
        XCTAssertEqual(Array(frame.dropFirst(4)), payload)
    }

    func test64KiBBinaryUsesTheSixtyFourBitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 * 13) }
        let frame = FrameWriter.frame(.binary, payload: payload)
        XCTAssertEqual(Array(frame.prefix(10)), hex("82 7f 00 00 00 00 00 01 00 00"))
        XCTAssertEqual(Array(frame.dropFirst(10)), payload)
    }

    // MARK: - Header forms

    func testHeaderSizeAtTheLengthFormBoundaries() {
        let cases: [(length: Int, size: Int)] = [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10), (1 << 40, 10)]
        for (length, size) in cases {
            XCTAssertEqual(FrameWriter.headerSize(payloadLength: length, masked: false), size, "length \(length)")
            XCTAssertEqual(FrameWriter.headerSize(payloadLength: length, masked: true), size + 4, "masked, length \(length)")
        }
        XCTAssertEqual(FrameWriter.maxHeaderSize, 14)
    }

    /// The header bytes themselves, and that nothing past the returned size is written.
    func testWriteHeaderEncodesTheLengthAtTheBoundaries() {
        let cases: [(length: Int, header: String)] = [
            (0, "82 00"),
            (125, "82 7d"),
            (126, "82 7e 00 7e"),
            (65535, "82 7e ff ff"),
            (65536, "82 7f 00 00 00 00 00 01 00 00"),
            (0x0102_0304_0506, "82 7f 00 00 01 02 03 04 05 06"),
        ]
        for (length, header) in cases {
            for masked in [false, true] {
                var buffer = [UInt8](repeating: 0xEE, count: 32)
                let size = buffer.withUnsafeMutableBytes {
                    FrameWriter.writeHeader(into: $0.baseAddress!, opcode: .binary, payloadLength: length,
                                            maskKey: masked ? Masking.key(1, 2, 3, 4) : nil)
                }
                var expected = hex(header)
                if masked { expected[1] |= 0x80; expected += [1, 2, 3, 4] }
                XCTAssertEqual(size, FrameWriter.headerSize(payloadLength: length, masked: masked), "length \(length)")
                XCTAssertEqual(Array(buffer.prefix(size)), expected, "length \(length), masked \(masked)")
                XCTAssertEqual(buffer[size...].filter { $0 != 0xEE }, [], "wrote past the header, length \(length)")
            }
        }
    }

    func testFinAndRsv1Bits() {
        XCTAssertEqual(FrameWriter.frame(.binary, payload: [], fin: false)[0], 0x02)
        XCTAssertEqual(FrameWriter.frame(.binary, payload: [], fin: true)[0], 0x82)
        XCTAssertEqual(FrameWriter.frame(.text, payload: [], rsv1: true)[0], 0xC1)
        XCTAssertEqual(FrameWriter.frame(.close, payload: [])[0], 0x88)
    }

    func testMaskedFrameCarriesTheKeyInWireOrderAndAMaskedPayload() {
        let payload = Array("a somewhat longer payload, past eight bytes".utf8)
        let frame = FrameWriter.frame(.text, payload: payload, maskKey: Masking.key(0xA1, 0xB2, 0xC3, 0xD4))
        XCTAssertEqual(Array(frame[2..<6]), [0xA1, 0xB2, 0xC3, 0xD4])
        let keyBytes: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4]
        XCTAssertEqual(Array(frame[6...]), payload.enumerated().map { $0.element ^ keyBytes[$0.offset % 4] })
    }

    // MARK: - Close payloads

    func testClosePayloadIsTheCodeInNetworkOrderThenTheReason() {
        XCTAssertEqual(FrameWriter.closePayload(.normal), [0x03, 0xE8])
        XCTAssertEqual(FrameWriter.closePayload(.messageTooBig, reason: "too big"), [0x03, 0xF1] + Array("too big".utf8))
        XCTAssertEqual(FrameWriter.closePayload(CloseCode(rawValue: 4999), reason: ""), [0x13, 0x87])
    }

    func testClosePayloadKeepsAReasonThatFits() {
        let reason = String(repeating: "r", count: 123)
        let payload = FrameWriter.closePayload(.goingAway, reason: reason)
        XCTAssertEqual(payload.count, 125)
        XCTAssertEqual(Array(payload.dropFirst(2)), Array(reason.utf8))
    }

    /// A long reason is cut to fit a control frame (125 bytes), never inside a character, and
    /// no shorter than it must be.
    func testClosePayloadTruncatesOnACharacterBoundary() {
        for character in ["a", "é", "€", "😀"] {
            for lead in 0..<4 {
                let reason = String(repeating: "x", count: lead) + String(repeating: character, count: 200)
                let payload = FrameWriter.closePayload(.policyViolation, reason: reason)
                let context = "\(lead) ASCII bytes then \(character)"
                XCTAssertLessThanOrEqual(payload.count, 125, context)
                XCTAssertEqual(Array(payload.prefix(2)), [0x03, 0xF0], context)
                let kept = Array(payload.dropFirst(2))
                let text = String(validating: kept, as: UTF8.self)
                XCTAssertNotNil(text, "truncated inside a character: \(context)")
                XCTAssertEqual(Array(reason.utf8.prefix(kept.count)), kept, context)
                // Maximal: one more character would not have fitted.
                XCTAssertGreaterThan(kept.count + character.utf8.count, 123, context)
            }
        }
    }
}
