import Buffers

/// The server side of the opening handshake (RFC 6455 §4.2): validation of the client's request
/// and the responses that accept or refuse it.
public enum Handshake {
    static let acceptGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// Checks everything §4.2.1 requires of a client's upgrade request.
    public static func validate(_ head: HTTPRequestHead) -> Result<UpgradeRequest, HandshakeRejection> {
        guard head.method == "GET" else {
            return .failure(.init(.methodNotAllowed, headers: [("Allow", "GET")], reason: "method \(head.method) is not GET"))
        }
        guard head.versionMajor == 1, head.versionMinor >= 1 else {
            return .failure(.init(.versionNotSupported, reason: "HTTP/\(head.versionMajor).\(head.versionMinor) is not HTTP/1.1"))
        }
        let hosts = head.values("Host")
        guard hosts.count == 1, !hosts[0].isEmpty else {
            return .failure(.init(.badRequest, reason: hosts.isEmpty ? "missing Host" : "invalid Host"))
        }
        let upgradeRequired: [(String, String)] = [("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Version", "13")]
        guard head.tokens("Upgrade").contains(where: { $0.caseInsensitiveEquals("websocket") }) else {
            return .failure(.init(.upgradeRequired, headers: upgradeRequired, reason: "no Upgrade: websocket"))
        }
        guard head.tokens("Connection").contains(where: { $0.caseInsensitiveEquals("upgrade") }) else {
            return .failure(.init(.badRequest, reason: "Connection header lacks the upgrade token"))
        }
        let versions = head.values("Sec-WebSocket-Version")
        guard versions.count == 1, versions[0] == "13" else {
            return .failure(.init(.upgradeRequired, headers: upgradeRequired,
                                  reason: versions.isEmpty ? "missing Sec-WebSocket-Version" : "unsupported Sec-WebSocket-Version"))
        }
        let keys = head.values("Sec-WebSocket-Key")
        guard keys.count == 1, let decoded = Base64.decode(keys[0]), decoded.count == 16 else {
            return .failure(.init(.badRequest, reason: "Sec-WebSocket-Key is missing, repeated or not 16 base64-encoded bytes"))
        }
        let subprotocols = head.tokens("Sec-WebSocket-Protocol").map(String.init)
        let extensions = head.tokens("Sec-WebSocket-Extensions").map(String.init)
        return .success(UpgradeRequest(head: head, key: keys[0], subprotocols: subprotocols, extensionOffers: extensions))
    }

    /// Sec-WebSocket-Accept: base64(SHA-1(key + GUID)).
    public static func acceptValue(forKey key: String) -> String {
        Base64.encode(SHA1.digest(Array((key + acceptGUID).utf8)))
    }

    /// The 101 response that completes the handshake.
    public static func acceptResponse(for request: UpgradeRequest, subprotocol: String? = nil,
                                      extensions: String? = nil, serverName: String = "Relay") -> [UInt8] {
        var text = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Accept: \(acceptValue(forKey: request.key))\r\n"
        if let subprotocol { text += "Sec-WebSocket-Protocol: \(subprotocol)\r\n" }
        if let extensions { text += "Sec-WebSocket-Extensions: \(extensions)\r\n" }
        text += "Server: \(serverName)\r\n\r\n"
        return Array(text.utf8)
    }
}

/// Plain HTTP responses: refusals of an upgrade and the small answers of health endpoints. Every
/// one closes the connection.
public enum HTTPResponse {
    public static func make(_ status: HTTPStatus, headers: [(String, String)] = [], body: String? = nil,
                            contentType: String = "text/plain; charset=utf-8") -> [UInt8] {
        let body = body ?? "\(status.code) \(status.reason)\n"
        var text = "HTTP/1.1 \(status.code) \(status.reason)\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "Content-Type: \(contentType)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n"
        text += body
        return Array(text.utf8)
    }

    public static func rejection(_ rejection: HandshakeRejection) -> [UInt8] {
        make(rejection.status, headers: rejection.headers)
    }
}
