import Buffers
import WebSocket
import XCTest

/// The frame layer of permessage-deflate (RFC 7692 §6): RSV1 marks a compressed message on its
/// first frame only, and a compressed message is delivered as it came, for the caller to inflate
/// and validate.
final class FrameReaderCompressionTests: XCTestCase {
    let deflate = FrameReader.Configuration(allowedReservedBits: 0x40)
    /// "Hello" compressed (§7.2.3.1).
    let compressedHello = hex("f2 48 cd c9 c9 07 00")

    private func frame(_ opcode: Opcode, _ payload: [UInt8], fin: Bool = true, rsv1: Bool = false) -> [UInt8] {
        FrameWriter.frame(opcode, payload: payload, fin: fin, rsv1: rsv1, maskKey: rfcMaskKey)
    }

    func testRSV1OnASingleFrameMarksTheMessageCompressed() throws {
        let received = events(frame(.text, compressedHello, rsv1: true), deflate)
        XCTAssertEqual(received, [.compressed(.text, compressedHello)])
        // What the caller does next.
        let inflater = try XCTUnwrap(MessageInflater(windowBits: 15))
        let output = ByteBuffer()
        XCTAssertEqual(compressedHello.withUnsafeBytes { inflater.inflate($0, into: output, limit: 100) }, .complete)
        XCTAssertEqual(Array(output.readableView), Array("Hello".utf8))
    }

    func testRSV1FailsWhenNotNegotiated() {
        XCTAssertEqual(events(frame(.text, compressedHello, rsv1: true)), [.failure(.protocolError)])
        XCTAssertEqual(events(frame(.binary, compressedHello, rsv1: true)), [.failure(.protocolError)])
    }

    func testMessagesWithoutRSV1AreNotCompressed() {
        XCTAssertEqual(events(frame(.text, Array("plain".utf8)), deflate), [.text("plain")])
        XCTAssertEqual(events(frame(.text, [0xFF]), deflate), [.failure(.invalidPayload)], "still validated")
    }

    func testFragmentedCompressedMessage() {
        let input = frame(.binary, Array(compressedHello[..<3]), fin: false, rsv1: true)
            + frame(.ping, [1]) + frame(.continuation, Array(compressedHello[3...]))
        XCTAssertEqual(events(input, deflate), [.ping([1]), .compressed(.binary, compressedHello)])
    }

    func testRSV1OnAContinuationFrameFails() {
        let afterCompressed = frame(.text, [0xF2], fin: false, rsv1: true) + frame(.continuation, [0x48], rsv1: true)
        XCTAssertEqual(events(afterCompressed, deflate), [.failure(.protocolError)])
        let afterPlain = frame(.text, Array("a".utf8), fin: false) + frame(.continuation, [0x48], rsv1: true)
        XCTAssertEqual(events(afterPlain, deflate), [.failure(.protocolError)])
    }

    func testCompressedTextIsNotValidatedByTheReader() {
        // Not UTF-8, and ending inside a sequence: for the caller to judge once inflated.
        let bytes: [UInt8] = [0xFF, 0xC0, 0x80, 0xE2]
        XCTAssertEqual(events(frame(.text, bytes, rsv1: true), deflate), [.compressed(.text, bytes)])
        let fragmented = frame(.text, Array(bytes[..<2]), fin: false, rsv1: true) + frame(.continuation, Array(bytes[2...]))
        XCTAssertEqual(events(fragmented, deflate), [.compressed(.text, bytes)])
        // Streamed a byte at a time through the reader's partial-frame path.
        var connection = Connection(deflate)
        var received: [Event] = []
        for byte in fragmented { received += connection.receive([byte]) }
        XCTAssertEqual(received, [.compressed(.text, bytes)])
    }

    func testTheNextMessageIsValidatedAgain() {
        let input = frame(.text, [0xFF], fin: false, rsv1: true) + frame(.continuation, [0xFE])
            + frame(.text, [0x61], fin: false) + frame(.continuation, [0xFF])
        XCTAssertEqual(events(input, deflate), [.compressed(.text, [0xFF, 0xFE]), .failure(.invalidPayload)])
    }

    func testTheMessageSizeLimitAppliesToTheCompressedBytes() {
        var configuration = deflate
        configuration.maxMessageSize = 7
        XCTAssertEqual(events(frame(.text, compressedHello, rsv1: true), configuration), [.compressed(.text, compressedHello)])
        XCTAssertEqual(events(frame(.text, compressedHello + [0], rsv1: true), configuration), [.failure(.messageTooBig)])
    }
}
