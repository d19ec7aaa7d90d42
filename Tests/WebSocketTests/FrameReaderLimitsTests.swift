import WebSocket
import XCTest

/// Size limits: a frame or message over the configured maximum fails with 1009 (§7.4.1), as
/// soon as the header announcing it arrives.
final class FrameReaderLimitsTests: XCTestCase {
    func testFrameAtTheLimitIsAccepted() {
        let configuration = FrameReader.Configuration(maxFrameSize: 100)
        XCTAssertEqual(events(clientFrame(.binary, Array(repeating: 1, count: 100)), configuration),
                       [.binary(Array(repeating: 1, count: 100))])
    }

    func testFrameOverTheLimitFails() {
        // Seven-bit, sixteen-bit and sixty-four-bit length forms.
        let cases: [(limit: Int, size: Int)] = [(100, 101), (1000, 1001), (70000, 70001)]
        for (limit, size) in cases {
            let configuration = FrameReader.Configuration(maxFrameSize: limit, maxMessageSize: 1 << 30)
            XCTAssertEqual(events(clientFrame(.binary, Array(repeating: 1, count: size)), configuration),
                           [.failure(.messageTooBig)], "\(size) bytes, limit \(limit)")
        }
    }

    func testFrameOverTheLimitFailsFromTheHeaderAlone() {
        var connection = Connection(FrameReader.Configuration(maxFrameSize: 1 << 20))
        // A 2^40-byte frame announced: refused without waiting for its payload.
        XCTAssertEqual(connection.receive(hex("82 ff 00 00 01 00 00 00 00 00 37 fa 21 3d")), [.failure(.messageTooBig)])
        // A continuation frame is limited too.
        let limited = FrameReader.Configuration(maxFrameSize: 10, maxMessageSize: 1000)
        XCTAssertEqual(events(clientFrame(.binary, [1], fin: false) + clientFrame(.continuation, Array(repeating: 2, count: 11)), limited),
                       [.failure(.messageTooBig)])
    }

    func testMessageAtTheLimitAcrossFragmentsIsAccepted() {
        let configuration = FrameReader.Configuration(maxFrameSize: 100, maxMessageSize: 100)
        let input = clientFrame(.binary, Array(repeating: 1, count: 50), fin: false)
            + clientFrame(.continuation, Array(repeating: 2, count: 50))
        XCTAssertEqual(events(input, configuration), [.binary(Array(repeating: 1, count: 50) + Array(repeating: 2, count: 50))])
    }

    func testMessageOverTheLimitAcrossFragmentsFails() {
        let configuration = FrameReader.Configuration(maxFrameSize: 100, maxMessageSize: 100)
        var connection = Connection(configuration)
        XCTAssertEqual(connection.receive(clientFrame(.text, String(repeating: "a", count: 40), fin: false)), [])
        XCTAssertEqual(connection.receive(clientFrame(.continuation, String(repeating: "b", count: 40), fin: false)), [])
        // 80 + 21 > 100: refused at the header, before the payload is read.
        let third = clientFrame(.continuation, String(repeating: "c", count: 21))
        XCTAssertEqual(connection.receive(third.prefix(6)), [.failure(.messageTooBig)])
    }

    func testSingleFrameMessageOverTheMessageLimitFails() {
        let configuration = FrameReader.Configuration(maxFrameSize: 1000, maxMessageSize: 100)
        XCTAssertEqual(events(clientFrame(.binary, Array(repeating: 1, count: 101)), configuration), [.failure(.messageTooBig)])
    }

    func testLimitsApplyPerMessage() {
        let configuration = FrameReader.Configuration(maxFrameSize: 100, maxMessageSize: 100)
        var input: [UInt8] = []
        var expected: [Event] = []
        for index in 0..<5 {
            input += clientFrame(.binary, Array(repeating: UInt8(index), count: 60), fin: false)
            input += clientFrame(.continuation, Array(repeating: UInt8(index), count: 40))
            expected.append(.binary(Array(repeating: UInt8(index), count: 100)))
        }
        XCTAssertEqual(events(input, configuration), expected)
    }
}
