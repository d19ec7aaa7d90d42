import WebSocket
import XCTest

/// Text messages must be UTF-8 (§5.6, §8.1); invalid ones fail with 1007, as early as the
/// first invalid byte arrives.
final class FrameReaderUTF8Tests: XCTestCase {
    func testValidTextIsDelivered() {
        XCTAssertEqual(events(clientFrame(.text, "κόσμε €𝄞")), [.text("κόσμε €𝄞")])
    }

    func testInvalidUTF8InOneFrameFails() {
        for payload: [UInt8] in [[0xFF], [0x61, 0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0x80]] {
            XCTAssertEqual(events(clientFrame(.text, payload)), [.failure(.invalidPayload)], "\(payload)")
        }
    }

    func testBinaryIsNotValidated() {
        XCTAssertEqual(events(clientFrame(.binary, [0xFF, 0xC0, 0x80])), [.binary([0xFF, 0xC0, 0x80])])
    }

    /// The first part of a text frame already holds an invalid byte: the reader fails at once,
    /// without waiting for the rest of the frame.
    func testInvalidByteFailsBeforeTheRestOfTheFrameArrives() {
        let payload = Array("valid start ".utf8) + [0xFF] + Array(repeating: 0x61, count: 1000)
        let frame = clientFrame(.text, payload)
        var connection = Connection(.server)
        // Header (8 bytes: 2 + 16-bit length + key) and the first 20 payload bytes.
        XCTAssertEqual(connection.receive(frame.prefix(8 + 20)), [.failure(.invalidPayload)])
        XCTAssertEqual(connection.receive(frame.dropFirst(8 + 20)), [])
    }

    func testInvalidFirstFragmentFailsBeforeTheNextFragment() {
        var connection = Connection(.server)
        XCTAssertEqual(connection.receive(clientFrame(.text, [0x61, 0xC1, 0x81], fin: false)), [.failure(.invalidPayload)])
    }

    func testValidPrefixOfAPartialFrameDoesNotFail() {
        // "𝄞" (F0 9D 84 9E) cut after its second byte by the end of a read.
        let frame = clientFrame(.text, Array("ab𝄞".utf8) + Array(repeating: 0x20, count: 200))
        var connection = Connection(.server)
        XCTAssertEqual(connection.receive(frame.prefix(8 + 4)), [])
        XCTAssertEqual(connection.receive(frame.dropFirst(8 + 4)), [.text("ab𝄞" + String(repeating: " ", count: 200))])
    }

    func testCodePointSplitAcrossFragmentsIsAccepted() {
        // "€" is E2 82 AC.
        let input = clientFrame(.text, [0x61, 0xE2], fin: false) + clientFrame(.continuation, [0x82], fin: false)
            + clientFrame(.continuation, [0xAC, 0x62])
        XCTAssertEqual(events(input), [.text("a€b")])
    }

    func testCodePointSplitAcrossFragmentsAndReadsIsAccepted() {
        let input = clientFrame(.text, [0xF0, 0x9D], fin: false) + clientFrame(.continuation, [0x84, 0x9E])
        var connection = Connection(.server)
        var received: [Event] = []
        for byte in input { received += connection.receive([byte]) }
        XCTAssertEqual(received, [.text("𝄞")])
    }

    func testMessageEndingInsideACodePointFails() {
        XCTAssertEqual(events(clientFrame(.text, [0x61, 0xE2, 0x82])), [.failure(.invalidPayload)])
        XCTAssertEqual(events(clientFrame(.text, [0x61, 0xE2], fin: false) + clientFrame(.continuation, [0x82])),
                       [.failure(.invalidPayload)])
        XCTAssertEqual(events(clientFrame(.text, [0xF0], fin: false) + clientFrame(.continuation, [])),
                       [.failure(.invalidPayload)])
    }

    func testInvalidContinuationOfASplitCodePointFails() {
        // E2 followed by an ASCII byte in the next fragment.
        XCTAssertEqual(events(clientFrame(.text, [0xE2], fin: false) + clientFrame(.continuation, [0x41, 0x42])),
                       [.failure(.invalidPayload)])
    }

    func testValidationRestartsWithEachMessage() {
        // A message that ended cleanly leaves no state for the next one, and a binary message
        // in between does not disturb it.
        let input = clientFrame(.text, "é", fin: false) + clientFrame(.continuation, "!")
            + clientFrame(.binary, [0xE2], fin: false) + clientFrame(.continuation, [0x82])
            + clientFrame(.text, [0xAC], fin: false) + clientFrame(.continuation, [])
        XCTAssertEqual(events(input), [.text("é!"), .binary([0xE2, 0x82]), .failure(.invalidPayload)])
    }
}
