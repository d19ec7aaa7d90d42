import WebSocket
import XCTest

/// Close frames (RFC 6455 §5.5.1, §7.4): the body is empty, or a valid status code followed by
/// a UTF-8 reason.
final class FrameReaderCloseTests: XCTestCase {
    private func closeFrame(_ payload: [UInt8]) -> [UInt8] { clientFrame(.close, payload) }

    private func closeFrame(code: UInt16, reason: [UInt8] = []) -> [UInt8] {
        closeFrame([UInt8(code >> 8), UInt8(code & 0xFF)] + reason)
    }

    func testEmptyCloseHasNoCode() {
        XCTAssertEqual(events(closeFrame([])), [.close(nil, reason: [])])
    }

    func testOneByteCloseFails() {
        XCTAssertEqual(events(closeFrame([0x03])), [.failure(.protocolError)])
    }

    func testCodeAndReason() {
        XCTAssertEqual(events(closeFrame(code: 1000, reason: Array("bye".utf8))), [.close(.normal, reason: Array("bye".utf8))])
        XCTAssertEqual(events(closeFrame(code: 1001)), [.close(.goingAway, reason: [])])
        let reason = Array("κόσμε".utf8)
        XCTAssertEqual(events(closeFrame(code: 4000, reason: reason)), [.close(CloseCode(rawValue: 4000), reason: reason)])
    }

    func testInvalidCodesFail() {
        for code: UInt16 in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 0xFFFF] {
            XCTAssertEqual(events(closeFrame(code: code)), [.failure(.protocolError)], "code \(code)")
            XCTAssertFalse(CloseCode(rawValue: code).isValidOnWire, "code \(code)")
        }
    }

    func testValidCodesAreAccepted() {
        let codes: [UInt16] = Array(1000...1003) + Array(1007...1014) + [3000, 3999, 4000, 4999]
        for code in codes {
            XCTAssertEqual(events(closeFrame(code: code, reason: [0x21])), [.close(CloseCode(rawValue: code), reason: [0x21])], "code \(code)")
            XCTAssertTrue(CloseCode(rawValue: code).isValidOnWire, "code \(code)")
        }
    }

    func testReasonThatIsNotUTF8Fails() {
        XCTAssertEqual(events(closeFrame(code: 1000, reason: [0x6F, 0x6B, 0xFF])), [.failure(.invalidPayload)])
        XCTAssertEqual(events(closeFrame(code: 1000, reason: [0xED, 0xA0, 0x80])), [.failure(.invalidPayload)], "surrogate")
        XCTAssertEqual(events(closeFrame(code: 1000, reason: [0x61, 0xE2, 0x82])), [.failure(.invalidPayload)], "cut mid-character")
    }

    func testMaximalCloseFrame() {
        let reason = Array(String(repeating: "z", count: 123).utf8)
        XCTAssertEqual(events(closeFrame(code: 1011, reason: reason)), [.close(.internalError, reason: reason)])
    }

    func testCloseInsideAFragmentedMessageIsDelivered() {
        let input = clientFrame(.text, "partial", fin: false) + closeFrame(code: 1000)
        XCTAssertEqual(events(input), [.close(.normal, reason: [])])
    }

    func testCloseBuiltWithClosePayloadRoundTrips() {
        let reason = String(repeating: "€", count: 60)
        let payload = FrameWriter.closePayload(.goingAway, reason: reason)
        guard case let .close(code, reasonBytes)? = events(closeFrame(payload)).first else {
            return XCTFail("expected a close event")
        }
        XCTAssertEqual(code, .goingAway)
        XCTAssertEqual(reasonBytes, Array(payload.dropFirst(2)))
    }
}
