import WebSocket
import XCTest

/// The request head parser (RFC 9112 §2–§5): strict about syntax, bounded in size.
final class HTTPRequestParserTests: XCTestCase {
    /// The opening handshake of RFC 6455 §1.2, with a query added.
    let upgradeRequest = """
        GET /chat?room=1 HTTP/1.1\r
        Host: server.example.com\r
        Upgrade: websocket\r
        Connection: Upgrade\r
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
        Origin: http://example.com\r
        Sec-WebSocket-Protocol: chat, superchat\r
        Sec-WebSocket-Version: 13\r
        \r

        """

    private enum Outcome: Equatable {
        case needMore
        case complete(consumed: Int)
        case failure(Int)
    }

    private func outcome(_ result: HTTPRequestParser.Result) -> Outcome {
        switch result {
        case .needMore: return .needMore
        case let .complete(_, consumed): return .complete(consumed: consumed)
        case let .failure(status, _): return .failure(status.code)
        }
    }

    private func parse(_ text: String, limits: HTTPRequestParser.Limits = .init()) -> HTTPRequestParser.Result {
        parse(Array(text.utf8), limits: limits)
    }

    private func parse(_ bytes: [UInt8], limits: HTTPRequestParser.Limits = .init()) -> HTTPRequestParser.Result {
        var parser = HTTPRequestParser(limits: limits)
        return bytes.withUnsafeBytes { parser.parse($0) }
    }

    private func head(_ result: HTTPRequestParser.Result, file: StaticString = #filePath, line: UInt = #line) -> HTTPRequestHead? {
        guard case let .complete(head, _) = result else {
            XCTFail("expected a complete head, got \(outcome(result))", file: file, line: line)
            return nil
        }
        return head
    }

    // MARK: - Valid requests

    func testParsesAnUpgradeRequest() throws {
        let result = parse(upgradeRequest)
        XCTAssertEqual(outcome(result), .complete(consumed: upgradeRequest.utf8.count))
        let head = try XCTUnwrap(head(result))
        XCTAssertEqual(head.method, "GET")
        XCTAssertEqual(head.target, "/chat?room=1")
        XCTAssertEqual(head.path, "/chat")
        XCTAssertEqual(head.query, "room=1")
        XCTAssertEqual(head.versionMajor, 1)
        XCTAssertEqual(head.versionMinor, 1)
        XCTAssertEqual(head.headers.map(\.name), ["Host", "Upgrade", "Connection", "Sec-WebSocket-Key", "Origin",
                                                  "Sec-WebSocket-Protocol", "Sec-WebSocket-Version"])
        XCTAssertEqual(head.value("host"), "server.example.com")
        XCTAssertEqual(head.value("SEC-WEBSOCKET-KEY"), "dGhlIHNhbXBsZSBub25jZQ==")
        XCTAssertEqual(head.tokens("sec-websocket-protocol"), ["chat", "superchat"])
        XCTAssertNil(head.value("Cookie"))
    }

    func testFedByteByByteNeedsMoreUntilTheEmptyLine() {
        let bytes = Array(upgradeRequest.utf8)
        var parser = HTTPRequestParser()
        for length in 1..<bytes.count {
            let result = bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<length])) }
            XCTAssertEqual(outcome(result), .needMore, "after \(length) bytes")
        }
        let result = bytes.withUnsafeBytes { parser.parse($0) }
        XCTAssertEqual(outcome(result), .complete(consumed: bytes.count))
        XCTAssertEqual(head(result)?.value("Sec-WebSocket-Version"), "13")
    }

    func testConsumedExcludesBytesAfterTheHead() {
        // A client may send its first frame right behind the request; it is not part of the head.
        let frame = FrameWriter.frame(.text, payload: Array("\r\n\r\nhi".utf8), maskKey: 0x0102_0304)
        let bytes = Array(upgradeRequest.utf8) + frame
        XCTAssertEqual(outcome(parse(bytes)), .complete(consumed: upgradeRequest.utf8.count))

        var parser = HTTPRequestParser()
        let partial = bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<(upgradeRequest.utf8.count - 1)])) }
        XCTAssertEqual(outcome(partial), .needMore)
        XCTAssertEqual(outcome(bytes.withUnsafeBytes { parser.parse($0) }), .complete(consumed: upgradeRequest.utf8.count))
    }

    func testHeaderValuesAreTrimmedAndMayBeEmpty() throws {
        let head = try XCTUnwrap(head(parse("GET / HTTP/1.1\r\nHost:example.com\r\nX-Empty:\r\nX-Spaced: \t a b \t\r\n\r\n")))
        XCTAssertEqual(head.value("Host"), "example.com")
        XCTAssertEqual(head.value("X-Empty"), "")
        XCTAssertEqual(head.value("X-Spaced"), "a b")
    }

    func testRepeatedHeadersKeepTheirOrder() throws {
        let head = try XCTUnwrap(head(parse("GET / HTTP/1.1\r\nA: 1\r\nB: x\r\na: 2, 3\r\n\r\n")))
        XCTAssertEqual(head.values("A"), ["1", "2, 3"])
        XCTAssertEqual(head.tokens("a"), ["1", "2", "3"])
    }

    // MARK: - Malformed requests: 400

    func testMalformedRequestsAreRefusedWith400() {
        let cases: [(String, String)] = [
            ("missing version", "GET /\r\nHost: a\r\n\r\n"),
            ("lowercase version", "GET / http/1.1\r\nHost: a\r\n\r\n"),
            ("truncated version", "GET / HTTP/1\r\nHost: a\r\n\r\n"),
            ("two-digit version", "GET / HTTP/1.10\r\nHost: a\r\n\r\n"),
            ("two spaces", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n"),
            ("leading space", " GET / HTTP/1.1\r\nHost: a\r\n\r\n"),
            ("trailing space", "GET / HTTP/1.1 \r\nHost: a\r\n\r\n"),
            ("tab separators", "GET\t/\tHTTP/1.1\r\nHost: a\r\n\r\n"),
            ("method not a token", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n"),
            ("non-ASCII target", "GET /caf\u{E9} HTTP/1.1\r\nHost: a\r\n\r\n"),
            ("empty request line", "\r\nHost: a\r\n\r\n"),
            ("bare LF line endings", "GET / HTTP/1.1\nHost: a\nUpgrade: websocket\n\n"),
            ("bare LF after the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n"),
            ("bare LF in a header line", "GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n"),
            ("bare LF before the empty line", "GET / HTTP/1.1\r\nHost: a\n\r\n"),
            ("bare CR", "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"),
            ("obs-fold continuation", "GET / HTTP/1.1\r\nX-Long: a\r\n  continued\r\nHost: a\r\n\r\n"),
            ("tab-folded continuation", "GET / HTTP/1.1\r\nX-Long: a\r\n\tcontinued\r\n\r\n"),
            ("whitespace before the first header", "GET / HTTP/1.1\r\n Host: a\r\n\r\n"),
            ("header without colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n"),
            ("space before colon", "GET / HTTP/1.1\r\nHost : a\r\n\r\n"),
            ("empty header name", "GET / HTTP/1.1\r\n: a\r\n\r\n"),
            ("control character in value", "GET / HTTP/1.1\r\nHost: a\u{1}b\r\n\r\n"),
            ("NUL in value", "GET / HTTP/1.1\r\nHost: a\u{0}b\r\n\r\n"),
            ("DEL in value", "GET / HTTP/1.1\r\nHost: a\u{7F}\r\n\r\n"),
        ]
        for (name, request) in cases {
            XCTAssertEqual(outcome(parse(request)), .failure(400), name)
        }
    }

    /// A client that ends its lines with LF alone never sends CR LF CR LF; it must be refused,
    /// not left waiting until the size limit or the handshake timeout.
    func testBareLineFeedIsRefusedBeforeTheHeadEnds() {
        XCTAssertEqual(outcome(parse("GET / HTTP/1.1\nHost")), .failure(400))
        var parser = HTTPRequestParser()
        let bytes = Array("GET / HTTP/1.1\r\nHost: a\nUpg".utf8)
        var outcomes: [Outcome] = []
        for length in 1...bytes.count {
            outcomes.append(outcome(bytes.withUnsafeBytes { parser.parse(UnsafeRawBufferPointer(rebasing: $0[..<length])) }))
            if outcomes.last != .needMore { break }
        }
        XCTAssertEqual(outcomes.last, .failure(400))
        XCTAssertEqual(outcomes.count, "GET / HTTP/1.1\r\nHost: a\n".utf8.count, "refused as soon as the bare LF arrived")
    }

    func testObsTextInAValueIsAccepted() throws {
        let head = try XCTUnwrap(head(parse(Array("GET / HTTP/1.1\r\nX-Name: caf".utf8) + [0xC3, 0xA9] + Array("\r\n\r\n".utf8))))
        XCTAssertEqual(head.value("X-Name"), "café")
    }

    // MARK: - Size limits: 431

    func testHeadWithoutEndOverTheByteLimitIsRefusedWith431() {
        let start = "GET / HTTP/1.1\r\nX-Filler: "
        let almost = start + String(repeating: "a", count: 8191 - start.utf8.count)
        XCTAssertEqual(outcome(parse(almost)), .needMore, "8191 bytes may still end in time")
        XCTAssertEqual(outcome(parse(almost + "a")), .failure(431))
        XCTAssertEqual(outcome(parse(almost + String(repeating: "a", count: 10_000))), .failure(431))
    }

    func testCompleteHeadAtTheByteLimit() {
        let start = "GET / HTTP/1.1\r\nX-Filler: "
        let exact = start + String(repeating: "a", count: 8192 - start.utf8.count - 4) + "\r\n\r\n"
        XCTAssertEqual(exact.utf8.count, 8192)
        XCTAssertEqual(outcome(parse(exact)), .complete(consumed: 8192))
        let over = start + String(repeating: "a", count: 8193 - start.utf8.count - 4) + "\r\n\r\n"
        XCTAssertEqual(outcome(parse(over)), .failure(431))
    }

    func testHeaderCountLimit() {
        func request(headers: Int) -> String {
            "GET / HTTP/1.1\r\n" + (0..<headers).map { "X-\($0): v\r\n" }.joined() + "\r\n"
        }
        XCTAssertEqual(head(parse(request(headers: 100)))?.headers.count, 100)
        XCTAssertEqual(outcome(parse(request(headers: 101))), .failure(431))
    }

    func testLimitsAreConfigurable() {
        let limits = HTTPRequestParser.Limits(maxHeadBytes: 64, maxHeaderCount: 2)
        XCTAssertEqual(outcome(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", limits: limits)), .complete(consumed: 30))
        XCTAssertEqual(outcome(parse("GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", limits: limits)), .failure(431))
        let long = "GET / HTTP/1.1\r\nA: " + String(repeating: "x", count: 50) + "\r\n\r\n"
        XCTAssertEqual(outcome(parse(long, limits: limits)), .failure(431))
        XCTAssertEqual(outcome(parse(String(repeating: "x", count: 64), limits: limits)), .failure(431))
        XCTAssertEqual(outcome(parse(String(repeating: "x", count: 63), limits: limits)), .needMore)
        XCTAssertEqual(outcome(parse(long)), .complete(consumed: long.utf8.count), "fits the default limits")
    }
}
