import WebSocket
import XCTest

/// Frame decoding and message assembly (RFC 6455 §5, §6.2): the §5.7 examples, the masking
/// rule, and the framing errors that fail the connection with 1002.
final class FrameReaderTests: XCTestCase {
    let hello = Array("Hello".utf8)

    // MARK: - §5.7 examples

    func testSingleFrameUnmaskedTextFromAServer() {
        XCTAssertEqual(events(hex("81 05 48 65 6c 6c 6f"), .client), [.text("Hello")])
    }

    func testSingleFrameMaskedTextFromAClient() {
        XCTAssertEqual(events(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), .server), [.text("Hello")])
    }

    func testFragmentedUnmaskedText() {
        XCTAssertEqual(events(hex("01 03 48 65 6c 80 02 6c 6f"), .client), [.text("Hello")])
    }

    func testFragmentedTextArrivingFrameByFrame() {
        var connection = Connection(.client)
        XCTAssertEqual(connection.receive(hex("01 03 48 65 6c")), [])
        XCTAssertEqual(connection.receive(hex("80 02 6c 6f")), [.text("Hello")])
    }

    func testUnmaskedPing() {
        XCTAssertEqual(events(hex("89 05 48 65 6c 6c 6f"), .client), [.ping(hello)])
    }

    func testMaskedPong() {
        XCTAssertEqual(events(hex("8a 85 37 fa 21 3d 7f 9f 4d 51 58"), .server), [.pong(hello)])
    }

    func test256ByteBinaryWithSixteenBitLength() {
        let payload = (0..<256).map { UInt8(truncatingIfNeeded: $0) }
        XCTAssertEqual(events(hex("82 7e 01 00") + payload, .client), [.binary(payload)])
    }

    func test64KiBBinaryWithSixtyFourBitLength() {
        let payload = (0..<65536).map { UInt8(truncatingIfNeeded: $0 * 31) }
        XCTAssertEqual(events(hex("82 7f 00 00 00 00 00 01 00 00") + payload, .client), [.binary(payload)])
    }

    func testSeveralFramesInOneRead() {
        let input = clientFrame(.text, "one") + clientFrame(.ping, "p") + clientFrame(.binary, [1, 2, 3])
            + clientFrame(.pong, []) + clientFrame(.text, "")
        XCTAssertEqual(events(input), [.text("one"), .ping(Array("p".utf8)), .binary([1, 2, 3]), .pong([]), .text("")])
    }

    func testFrameArrivingOneByteAtATime() {
        var connection = Connection(.server)
        var received: [Event] = []
        let frame = clientFrame(.binary, (0..<300).map { UInt8($0 % 251) })
        for byte in frame { received += connection.receive([byte]) }
        XCTAssertEqual(received, [.binary((0..<300).map { UInt8($0 % 251) })])
        XCTAssertEqual(connection.unconsumed, [])
    }

    func testIncompleteHeaderNeedsMoreAndConsumesNothing() {
        let frame = clientFrame(.binary, Array(repeating: 7, count: 70000))
        for length in [0, 1, 2, 9, 13] {
            var reader = FrameReader()
            var input = Array(frame.prefix(length))
            var position = 0
            let isNeedMore = input.withUnsafeMutableBytes { buffer in
                if case .needMore = reader.read(buffer, position: &position) { return true }
                return false
            }
            XCTAssertTrue(isNeedMore, "\(length) bytes of a 14-byte header")
            XCTAssertEqual(position, 0, "\(length) bytes of a 14-byte header")
        }
    }

    // MARK: - Masking (§5.1)

    func testServerRejectsUnmaskedFrames() {
        XCTAssertEqual(events(hex("81 05 48 65 6c 6c 6f"), .server), [.failure(.protocolError)])
        XCTAssertEqual(events(hex("89 00"), .server), [.failure(.protocolError)])
    }

    func testClientRejectsMaskedFrames() {
        XCTAssertEqual(events(hex("81 85 37 fa 21 3d 7f 9f 4d 51 58"), .client), [.failure(.protocolError)])
        XCTAssertEqual(events(hex("8a 80 37 fa 21 3d"), .client), [.failure(.protocolError)])
    }

    // MARK: - Header errors

    func testReservedBitsFailTheConnection() {
        for bit: UInt8 in [0x40, 0x20, 0x10] {
            XCTAssertEqual(events(rawFrame(firstByte: 0x81 | bit, payload: hello)), [.failure(.protocolError)], "RSV bit \(bit)")
            XCTAssertEqual(events(rawFrame(firstByte: 0x89 | bit, payload: hello)), [.failure(.protocolError)], "RSV bit \(bit) on a ping")
        }
    }

    func testNegotiatedReservedBitIsAllowedOnDataFramesOnly() {
        let configuration = FrameReader.Configuration(allowedReservedBits: 0x40)
        XCTAssertEqual(events(rawFrame(firstByte: 0xC2, payload: [1, 2]), configuration), [.compressed(.binary, [1, 2])])
        XCTAssertEqual(events(rawFrame(firstByte: 0xA2, payload: [1, 2]), configuration), [.failure(.protocolError)])
        XCTAssertEqual(events(rawFrame(firstByte: 0xC9, payload: []), configuration), [.failure(.protocolError)])
    }

    func testUnknownOpcodesFailTheConnection() {
        for opcode: UInt8 in [0x3, 0x4, 0x5, 0x6, 0x7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            XCTAssertEqual(events(rawFrame(firstByte: 0x80 | opcode, payload: [])), [.failure(.protocolError)], "opcode \(opcode)")
        }
    }

    func testControlFrameLongerThan125BytesFails() {
        XCTAssertEqual(events(clientFrame(.ping, Array(repeating: 1, count: 125))), [.ping(Array(repeating: 1, count: 125))])
        for opcode in [Opcode.ping, .pong, .close] {
            XCTAssertEqual(events(clientFrame(opcode, Array(repeating: 0x41, count: 126))), [.failure(.protocolError)], "\(opcode)")
        }
        // Detected from the first two bytes, before the extended length or payload arrive.
        XCTAssertEqual(events(hex("89 fe")), [.failure(.protocolError)])
    }

    func testFragmentedControlFrameFails() {
        XCTAssertEqual(events(clientFrame(.ping, hello, fin: false)), [.failure(.protocolError)])
        XCTAssertEqual(events(clientFrame(.close, [], fin: false)), [.failure(.protocolError)])
    }

    func testContinuationWithoutAMessageFails() {
        XCTAssertEqual(events(clientFrame(.continuation, hello)), [.failure(.protocolError)])
        XCTAssertEqual(events(clientFrame(.continuation, hello, fin: false)), [.failure(.protocolError)])
        // Also after a message has been completed.
        XCTAssertEqual(events(clientFrame(.text, "a") + clientFrame(.continuation, "b")), [.text("a"), .failure(.protocolError)])
    }

    func testNewDataFrameInsideAFragmentedMessageFails() {
        XCTAssertEqual(events(clientFrame(.text, "Hel", fin: false) + clientFrame(.text, "lo")), [.failure(.protocolError)])
        XCTAssertEqual(events(clientFrame(.binary, [1], fin: false) + clientFrame(.text, "x", fin: false)), [.failure(.protocolError)])
    }

    func testLengthWithTheMostSignificantBitSetFails() {
        let header = hex("82 ff 80 00 00 00 00 00 00 05 37 fa 21 3d")
        XCTAssertEqual(events(header + [1, 2, 3, 4, 5]), [.failure(.protocolError)])
        XCTAssertEqual(events(header), [.failure(.protocolError)], "detected from the header alone")
    }

    // MARK: - Fragmented messages

    func testPingInterleavedInAFragmentedMessageIsDeliveredAndTheMessageStillAssembles() {
        let input = clientFrame(.text, "Hel", fin: false) + clientFrame(.ping, "are you there")
            + clientFrame(.continuation, "l", fin: false) + clientFrame(.pong, [])
            + clientFrame(.continuation, "o")
        XCTAssertEqual(events(input), [.ping(Array("are you there".utf8)), .pong([]), .text("Hello")])
    }

    func testEmptyFragmentsAreAllowed() {
        let input = clientFrame(.binary, [], fin: false) + clientFrame(.continuation, [1], fin: false)
            + clientFrame(.continuation, [], fin: false) + clientFrame(.continuation, [])
        XCTAssertEqual(events(input), [.binary([1])])
        XCTAssertEqual(events(clientFrame(.text, [], fin: false) + clientFrame(.continuation, [])), [.text("")])
    }

    func testMessagesAfterAFragmentedMessageAreIndependent() {
        let input = clientFrame(.binary, [1, 2], fin: false) + clientFrame(.continuation, [3])
            + clientFrame(.text, "x", fin: false) + clientFrame(.continuation, "y")
            + clientFrame(.binary, [9])
        XCTAssertEqual(events(input), [.binary([1, 2, 3]), .text("xy"), .binary([9])])
    }

    func testMessageBufferHoldsOnlyTheMessageInProgress() {
        var connection = Connection(.server)
        XCTAssertEqual(connection.receive(clientFrame(.binary, Array(repeating: 1, count: 300), fin: false)), [])
        XCTAssertEqual(connection.reader.bufferedMessageBytes, 300)
        let second = clientFrame(.continuation, Array(repeating: 2, count: 200))
        XCTAssertEqual(connection.receive(second.prefix(8 + 50)), [])
        XCTAssertEqual(connection.reader.bufferedMessageBytes, 350, "payload is buffered as it arrives")
        XCTAssertEqual(connection.receive(second.dropFirst(8 + 50)), [.binary(Array(repeating: 1, count: 300) + Array(repeating: 2, count: 200))])
        // Released by the next read, even when no new message starts.
        XCTAssertEqual(connection.receive([]), [])
        XCTAssertEqual(connection.reader.bufferedMessageBytes, 0)
    }

    // MARK: - After a failure

    func testAfterAFailureTheReaderNeedsMoreForever() {
        var connection = Connection(.server)
        XCTAssertEqual(connection.receive(hex("81 05 48 65 6c 6c 6f")), [.failure(.protocolError)])
        XCTAssertEqual(connection.receive(clientFrame(.text, "still here?")), [])
        XCTAssertEqual(connection.receive(clientFrame(.ping, []) + clientFrame(.close, [0x03, 0xE8])), [])

        var reader = connection.reader
        var input = clientFrame(.text, "Hello")
        var position = 0
        for _ in 0..<3 {
            let isNeedMore = input.withUnsafeMutableBytes { buffer in
                if case .needMore = reader.read(buffer, position: &position) { return true }
                return false
            }
            XCTAssertTrue(isNeedMore)
            XCTAssertEqual(position, 0, "a failed reader consumes nothing")
        }
    }
}
