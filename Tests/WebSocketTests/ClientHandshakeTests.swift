import Buffers
import TestSupport
import WebSocket
import XCTest

/// The client side of the opening handshake (RFC 6455 §4.1).
final class ClientHandshakeTests: XCTestCase {
    /// The nonce of the example in RFC 6455 §1.3, whose accept value the RFC gives.
    static let sampleKey = Base64.decode("dGhlIHNhbXBsZSBub25jZQ==")!

    private func handshake(subprotocols: [String] = []) -> ClientHandshake {
        ClientHandshake(host: "server.example.com", path: "/chat", subprotocols: subprotocols, keyBytes: Self.sampleKey)
    }

    private func response(_ lines: [String]) -> [UInt8] {
        Array((lines.map { $0 + "\r\n" }.joined() + "\r\n").utf8)
    }

    private func acceptingLines(_ extra: [String] = []) -> [String] {
        ["HTTP/1.1 101 Switching Protocols", "Upgrade: websocket", "Connection: Upgrade",
         "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="] + extra
    }

    private func outcome(_ bytes: [UInt8], subprotocols: [String] = []) -> ClientHandshake.Outcome {
        var client = handshake(subprotocols: subprotocols)
        return bytes.withUnsafeBytes { client.parse($0) }
    }

    private func rejection(_ lines: [String], subprotocols: [String] = [],
                           file: StaticString = #filePath, line: UInt = #line) -> ClientHandshakeError? {
        guard case .rejected(let error) = outcome(response(lines), subprotocols: subprotocols) else {
            XCTFail("not rejected", file: file, line: line)
            return nil
        }
        return error
    }

    func testRequestCarriesWhatTheServerRequires() throws {
        let client = ClientHandshake(host: "127.0.0.1:9001", path: "/ws?x=1", subprotocols: ["relay.v1", "other"],
                                     headers: [("Authorization", "Bearer abc")], keyBytes: Self.sampleKey)
        let text = String(decoding: client.request, as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("GET /ws?x=1 HTTP/1.1\r\n"))
        XCTAssertTrue(text.hasSuffix("\r\n\r\n"))
        XCTAssertEqual(client.key, "dGhlIHNhbXBsZSBub25jZQ==")

        var parser = HTTPRequestParser()
        guard case .complete(let head, let consumed) = client.request.withUnsafeBytes({ parser.parse($0) }) else {
            return XCTFail("the server's parser does not accept the request")
        }
        XCTAssertEqual(consumed, client.request.count)
        XCTAssertEqual(head.value("Host"), "127.0.0.1:9001")
        XCTAssertEqual(head.value("Authorization"), "Bearer abc")
        guard case .success(let request) = Handshake.validate(head) else { return XCTFail("the server refuses the request") }
        XCTAssertEqual(request.subprotocols, ["relay.v1", "other"])
        XCTAssertEqual(request.key, client.key)
    }

    func testNoSubprotocolHeaderWhenNoneOffered() {
        XCTAssertFalse(String(decoding: handshake().request, as: UTF8.self).contains("Sec-WebSocket-Protocol"))
    }

    func testKeysAreRandomSixteenBytes() {
        var system = SystemRandomNumberGenerator()
        let a = ClientHandshake(host: "h", path: "/", using: &system)
        let b = ClientHandshake(host: "h", path: "/", using: &system)
        XCTAssertNotEqual(a.key, b.key)
        XCTAssertEqual(Base64.decode(a.key)?.count, 16)

        var first = SplitMix64(seed: 7), second = SplitMix64(seed: 7)
        XCTAssertEqual(ClientHandshake(host: "h", path: "/", using: &first).key,
                       ClientHandshake(host: "h", path: "/", using: &second).key)
    }

    func testAcceptsTheRFCExample() {
        let bytes = response(acceptingLines())
        XCTAssertEqual(outcome(bytes), .accepted(subprotocol: nil, consumed: bytes.count))
    }

    func testAcceptsTheServersOwnResponse() throws {
        var generator = SplitMix64(seed: 42)
        var client = ClientHandshake(host: "h", path: "/ws", subprotocols: ["relay.v1"], using: &generator)
        var parser = HTTPRequestParser()
        guard case .complete(let head, _) = client.request.withUnsafeBytes({ parser.parse($0) }),
              case .success(let request) = Handshake.validate(head) else { return XCTFail("request refused") }
        let reply = Handshake.acceptResponse(for: request, subprotocol: "relay.v1")
        XCTAssertEqual(reply.withUnsafeBytes { client.parse($0) }, .accepted(subprotocol: "relay.v1", consumed: reply.count))
    }

    func testResponseInPiecesAndFramesAfterIt() {
        let head = response(acceptingLines())
        let frame: [UInt8] = [0x81, 0x02, 0x68, 0x69]
        let bytes = head + frame
        var client = handshake()
        for end in 1..<head.count {
            XCTAssertEqual(bytes[0..<end].withUnsafeBytes { client.parse($0) }, .needMore, "at \(end) bytes")
        }
        XCTAssertEqual(bytes.withUnsafeBytes { client.parse($0) }, .accepted(subprotocol: nil, consumed: head.count))
    }

    func testTokenListsAndCaseInUpgradeAndConnection() {
        let lines = ["HTTP/1.1 101 Switching Protocols", "upgrade: WebSocket", "connection: keep-alive, UPGRADE",
                     "sec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="]
        let bytes = response(lines)
        XCTAssertEqual(outcome(bytes), .accepted(subprotocol: nil, consumed: bytes.count))
    }

    func testOtherStatusIsARefusal() {
        XCTAssertEqual(rejection(["HTTP/1.1 401 Unauthorized", "Content-Length: 0"]), .status(401, "Unauthorized"))
        XCTAssertEqual(rejection(["HTTP/1.1 503 Service Unavailable", "Retry-After: 5"]), .status(503, "Service Unavailable"))
        XCTAssertEqual(rejection(["HTTP/1.1 200 OK"]), .status(200, "OK"))
    }

    func testMissingUpgradeOrConnection() {
        XCTAssertEqual(rejection(acceptingLines().filter { !$0.hasPrefix("Upgrade") }), .notUpgraded("no Upgrade: websocket"))
        XCTAssertEqual(rejection(acceptingLines().filter { !$0.hasPrefix("Connection") }), .notUpgraded("no Connection: Upgrade"))
        let wrongUpgrade = acceptingLines().map { $0.hasPrefix("Upgrade") ? "Upgrade: h2c" : $0 }
        XCTAssertEqual(rejection(wrongUpgrade), .notUpgraded("no Upgrade: websocket"))
    }

    func testAcceptMustMatchTheKey() {
        let base = acceptingLines().filter { !$0.hasPrefix("Sec-WebSocket-Accept") }
        XCTAssertEqual(rejection(base), .wrongAccept)
        XCTAssertEqual(rejection(base + ["Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA="]), .wrongAccept)
        XCTAssertEqual(rejection(acceptingLines(["Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])), .wrongAccept)
    }

    func testSubprotocolMustBeOneOffered() {
        let chosen = response(acceptingLines(["Sec-WebSocket-Protocol: relay.v1"]))
        XCTAssertEqual(outcome(chosen, subprotocols: ["relay.v1"]), .accepted(subprotocol: "relay.v1", consumed: chosen.count))
        XCTAssertEqual(rejection(acceptingLines(["Sec-WebSocket-Protocol: relay.v1"])), .unexpectedSubprotocol("relay.v1"))
        XCTAssertEqual(rejection(acceptingLines(["Sec-WebSocket-Protocol: chat"]), subprotocols: ["relay.v1"]),
                       .unexpectedSubprotocol("chat"))
        XCTAssertEqual(rejection(acceptingLines(["Sec-WebSocket-Protocol: relay.v1, chat"]), subprotocols: ["relay.v1", "chat"]),
                       .unexpectedSubprotocol("relay.v1, chat"))
        // The server may decline every offer: the client then decides whether to go on.
        let declined = response(acceptingLines())
        XCTAssertEqual(outcome(declined, subprotocols: ["relay.v1"]), .accepted(subprotocol: nil, consumed: declined.count))
    }

    func testExtensionsThatWereNotOffered() {
        XCTAssertEqual(rejection(acceptingLines(["Sec-WebSocket-Extensions: permessage-deflate"])),
                       .unexpectedExtensions("permessage-deflate"))
    }

    func testMalformedResponses() {
        XCTAssertEqual(rejection(["HTTP/1.0 101 Switching Protocols"]), .malformed("status line \"HTTP/1.0 101 Switching Protocols\""))
        XCTAssertEqual(rejection(["ICY 200 OK"]), .malformed("status line \"ICY 200 OK\""))
        XCTAssertEqual(rejection(["HTTP/1.1 1O1 Switching Protocols"]), .malformed("status line \"HTTP/1.1 1O1 Switching Protocols\""))
        XCTAssertEqual(rejection(acceptingLines(["no colon here"])), .malformed("header field \"no colon here\""))
    }

    func testResponseHeadIsBounded() {
        var client = ClientHandshake(host: "h", path: "/", keyBytes: Self.sampleKey, maxResponseBytes: 64)
        let endless = Array("HTTP/1.1 101 Switching Protocols\r\nX-Padding: \(String(repeating: "a", count: 100))".utf8)
        XCTAssertEqual(endless.withUnsafeBytes { client.parse($0) }, .rejected(.responseTooLarge(64)))
        var other = ClientHandshake(host: "h", path: "/", keyBytes: Self.sampleKey, maxResponseBytes: 64)
        let long = response(acceptingLines(["X-Padding: \(String(repeating: "a", count: 100))"]))
        XCTAssertEqual(long.withUnsafeBytes { other.parse($0) }, .rejected(.responseTooLarge(64)))
    }
}
