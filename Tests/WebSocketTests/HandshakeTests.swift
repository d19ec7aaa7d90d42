import WebSocket
import XCTest

/// The server side of the opening handshake (RFC 6455 §4.2.1, §4.2.2).
final class HandshakeTests: XCTestCase {
    static let validHeaders: [(String, String)] = [
        ("Host", "server.example.com"),
        ("Upgrade", "websocket"),
        ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
        ("Sec-WebSocket-Version", "13"),
    ]

    /// A request head as the parser produces it.
    private func request(_ method: String = "GET", target: String = "/chat", version: String = "HTTP/1.1",
                         headers: [(String, String)] = validHeaders,
                         file: StaticString = #filePath, line: UInt = #line) -> HTTPRequestHead? {
        let text = "\(method) \(target) \(version)\r\n" + headers.map { "\($0): \($1)\r\n" }.joined() + "\r\n"
        var parser = HTTPRequestParser()
        guard case let .complete(head, _) = Array(text.utf8).withUnsafeBytes({ parser.parse($0) }) else {
            XCTFail("the test request does not parse", file: file, line: line)
            return nil
        }
        return head
    }

    /// The valid headers with `name` removed, or its value replaced.
    private func headers(_ name: String, _ value: String? = nil) -> [(String, String)] {
        Self.validHeaders.compactMap { header in
            guard header.0 == name else { return header }
            return value.map { (name, $0) }
        }
    }

    private func accepted(_ head: HTTPRequestHead?, file: StaticString = #filePath, line: UInt = #line) -> UpgradeRequest? {
        guard let head else { return nil }
        switch Handshake.validate(head) {
        case let .success(request): return request
        case let .failure(rejection):
            XCTFail("refused with \(rejection.status.code): \(rejection.reason)", file: file, line: line)
            return nil
        }
    }

    /// The status code and response headers of a refusal.
    private func refusal(_ head: HTTPRequestHead?, file: StaticString = #filePath, line: UInt = #line) -> (status: Int, headers: [String])? {
        guard let head else { return nil }
        switch Handshake.validate(head) {
        case .success:
            XCTFail("accepted", file: file, line: line)
            return nil
        case let .failure(rejection):
            return (rejection.status.code, rejection.headers.map { "\($0): \($1)" })
        }
    }

    private func lines(_ text: String) -> [String] {
        text.split(separator: "\r\n", omittingEmptySubsequences: false).map(String.init)
    }

    // MARK: - The accept key

    func testAcceptValueForTheRFCSampleKey() {
        XCTAssertEqual(Handshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
    }

    // MARK: - Valid requests

    func testValidRequestIsAccepted() throws {
        let upgrade = try XCTUnwrap(accepted(request()))
        XCTAssertEqual(upgrade.key, "dGhlIHNhbXBsZSBub25jZQ==")
        XCTAssertEqual(upgrade.path, "/chat")
        XCTAssertEqual(upgrade.subprotocols, [])
        XCTAssertEqual(upgrade.extensionOffers, [])
        XCTAssertNil(upgrade.origin)
    }

    func testTokensAreCaseInsensitiveAndMayBeInLists() {
        XCTAssertNotNil(accepted(request(headers: headers("Connection", "keep-alive, Upgrade"))))
        XCTAssertNotNil(accepted(request(headers: headers("Connection", "upgrade"))))
        XCTAssertNotNil(accepted(request(headers: headers("Connection", "keep-alive,UPGRADE , close"))))
        XCTAssertNotNil(accepted(request(headers: headers("Upgrade", "WebSocket"))))
        XCTAssertNotNil(accepted(request(headers: headers("Upgrade", "h2c, websocket"))))
        XCTAssertNotNil(accepted(request(headers: headers("Connection") + [("Connection", "keep-alive"), ("connection", "Upgrade")])))
        XCTAssertNotNil(accepted(request(headers: headers("Host") + [("host", "h")])), "header names are case-insensitive")
    }

    func testSubprotocolsFromSeveralHeadersAndListsInOrder() throws {
        let upgrade = try XCTUnwrap(accepted(request(headers: Self.validHeaders + [
            ("Sec-WebSocket-Protocol", "chat, superchat"),
            ("Sec-WebSocket-Protocol", "v2.json,  ,mqtt"),
            ("sec-websocket-protocol", "wamp"),
        ])))
        XCTAssertEqual(upgrade.subprotocols, ["chat", "superchat", "v2.json", "mqtt", "wamp"])
    }

    func testExtensionOffersAreExposed() throws {
        let upgrade = try XCTUnwrap(accepted(request(headers: Self.validHeaders + [
            ("Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits, x-custom"),
        ])))
        XCTAssertEqual(upgrade.extensionOffers, ["permessage-deflate; client_max_window_bits", "x-custom"])
    }

    func testOriginIsExposed() throws {
        let upgrade = try XCTUnwrap(accepted(request(headers: Self.validHeaders + [("Origin", "http://example.com")])))
        XCTAssertEqual(upgrade.origin, "http://example.com")
        XCTAssertEqual(upgrade.head.value("origin"), "http://example.com")
    }

    // MARK: - Refusals

    func testMethodOtherThanGETIs405WithAllow() {
        for method in ["POST", "HEAD", "get"] {
            let result = refusal(request(method))
            XCTAssertEqual(result?.status, 405, method)
            XCTAssertEqual(result?.headers, ["Allow: GET"], method)
        }
    }

    func testHTTPVersionOtherThan1Point1Is505() {
        for version in ["HTTP/1.0", "HTTP/0.9", "HTTP/2.0"] {
            XCTAssertEqual(refusal(request(version: version))?.status, 505, version)
        }
    }

    func testMissingEmptyOrRepeatedHostIs400() {
        XCTAssertEqual(refusal(request(headers: headers("Host")))?.status, 400)
        XCTAssertEqual(refusal(request(headers: headers("Host", "")))?.status, 400)
        XCTAssertEqual(refusal(request(headers: Self.validHeaders + [("Host", "other.example.com")]))?.status, 400)
    }

    func testMissingWebSocketUpgradeIs426WithTheVersion() {
        for upgradeHeaders in [headers("Upgrade"), headers("Upgrade", "h2c"), headers("Upgrade", "websockets")] {
            let result = refusal(request(headers: upgradeHeaders))
            XCTAssertEqual(result?.status, 426)
            XCTAssertTrue(result?.headers.contains("Sec-WebSocket-Version: 13") ?? false, "\(result?.headers ?? [])")
            XCTAssertTrue(result?.headers.contains("Upgrade: websocket") ?? false, "\(result?.headers ?? [])")
        }
    }

    func testConnectionWithoutUpgradeIs400() {
        XCTAssertEqual(refusal(request(headers: headers("Connection")))?.status, 400)
        XCTAssertEqual(refusal(request(headers: headers("Connection", "keep-alive")))?.status, 400)
        XCTAssertEqual(refusal(request(headers: headers("Connection", "Upgraded")))?.status, 400)
    }

    func testUnsupportedOrMissingVersionIs426WithVersion13() {
        for versionHeaders in [headers("Sec-WebSocket-Version", "8"), headers("Sec-WebSocket-Version"),
                               headers("Sec-WebSocket-Version", "13, 8"), Self.validHeaders + [("Sec-WebSocket-Version", "8")]] {
            let result = refusal(request(headers: versionHeaders))
            XCTAssertEqual(result?.status, 426)
            XCTAssertTrue(result?.headers.contains("Sec-WebSocket-Version: 13") ?? false, "\(result?.headers ?? [])")
        }
    }

    func testKeyThatIsNotSixteenBase64BytesIs400() {
        let keys = [
            "dGhlIHNhbXBsZQ==", // 10 bytes
            "dGhlIHNhbXBsZSBub25jZTE=", // 17 bytes
            "dGhlIHNhbXBsZSBub25jZQ", // padding missing
            "dGhlIHNhbXBsZSBub25jZQ=!",
            "",
        ]
        for key in keys {
            XCTAssertEqual(refusal(request(headers: headers("Sec-WebSocket-Key", key)))?.status, 400, key)
        }
        XCTAssertEqual(refusal(request(headers: headers("Sec-WebSocket-Key")))?.status, 400, "missing")
    }

    func testTwoKeysAre400() {
        let twoKeys = Self.validHeaders + [("Sec-WebSocket-Key", "AAAAAAAAAAAAAAAAAAAAAA==")]
        XCTAssertEqual(refusal(request(headers: twoKeys))?.status, 400)
    }

    // MARK: - Responses

    func testAcceptResponse() throws {
        let upgrade = try XCTUnwrap(accepted(request()))
        let response = String(decoding: Handshake.acceptResponse(for: upgrade), as: UTF8.self)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"), response)
        XCTAssertTrue(response.hasSuffix("\r\n\r\n"), response)
        let lines = lines(response)
        XCTAssertTrue(lines.contains("Upgrade: websocket"), response)
        XCTAssertTrue(lines.contains("Connection: Upgrade"), response)
        XCTAssertTrue(lines.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), response)
        XCTAssertFalse(response.contains("Sec-WebSocket-Protocol"), response)
        XCTAssertFalse(response.contains("Sec-WebSocket-Extensions"), response)
        XCTAssertEqual(response.split(separator: "\r\n\r\n", omittingEmptySubsequences: false).count, 2, "exactly one empty line, at the end")
    }

    func testAcceptResponseWithASubprotocol() throws {
        let upgrade = try XCTUnwrap(accepted(request(headers: Self.validHeaders + [("Sec-WebSocket-Protocol", "chat, superchat")])))
        let response = String(decoding: Handshake.acceptResponse(for: upgrade, subprotocol: "superchat"), as: UTF8.self)
        let lines = lines(response)
        XCTAssertEqual(lines.filter { $0.hasPrefix("Sec-WebSocket-Protocol") }, ["Sec-WebSocket-Protocol: superchat"])
        XCTAssertTrue(lines.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), response)
    }

    func testRefusalResponse() throws {
        let rejection = HandshakeRejection(.upgradeRequired, headers: [("Sec-WebSocket-Version", "13")], reason: "test")
        let response = String(decoding: HTTPResponse.rejection(rejection), as: UTF8.self)
        XCTAssertTrue(response.hasPrefix("HTTP/1.1 426 Upgrade Required\r\n"), response)
        let parts = response.split(separator: "\r\n\r\n", omittingEmptySubsequences: false)
        XCTAssertEqual(parts.count, 2)
        let lines = lines(String(parts[0]))
        XCTAssertTrue(lines.contains("Sec-WebSocket-Version: 13"), response)
        XCTAssertTrue(lines.contains("Connection: close"), response)
        XCTAssertTrue(lines.contains("Content-Length: \(parts[1].utf8.count)"), response)
    }
}
