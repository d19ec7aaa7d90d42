import Buffers

/// The client side of the opening handshake (RFC 6455 §4.1), sans I/O: the upgrade request with a
/// fresh key, and the checks a client must make of the server's response before it sends a frame.
public struct ClientHandshake: Sendable {
    /// The Sec-WebSocket-Key sent: base64 of 16 random bytes.
    public let key: String
    public let subprotocols: [String]
    /// The whole request, ready to write.
    public let request: [UInt8]
    /// A response head longer than this is refused: the server is not speaking WebSocket.
    public let maxResponseBytes: Int
    /// How far earlier calls searched for the end of the head (a response may arrive in pieces).
    private var scanned = 0

    public enum Outcome: Sendable, Equatable {
        case needMore
        /// The server accepted; `consumed` bytes were its response head, any after them are frames.
        case accepted(subprotocol: String?, consumed: Int)
        case rejected(ClientHandshakeError)
    }

    /// `host` is the Host header's value (with the port when it is not the scheme's default);
    /// `headers` are sent as given (e.g. Authorization) and must not contain CR or LF.
    public init(host: String, path: String, subprotocols: [String] = [], headers: [(String, String)] = [],
                keyBytes: [UInt8], maxResponseBytes: Int = 8192) {
        precondition(keyBytes.count == 16, "a Sec-WebSocket-Key is 16 bytes")
        precondition(([host, path] + subprotocols + headers.flatMap { [$0.0, $0.1] }).allSatisfy { !$0.utf8.contains(where: { $0 == 0x0D || $0 == 0x0A }) },
                     "CR or LF in a request field")
        key = Base64.encode(keyBytes)
        self.subprotocols = subprotocols
        self.maxResponseBytes = maxResponseBytes
        var text = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: 13\r\n"
        if !subprotocols.isEmpty { text += "Sec-WebSocket-Protocol: \(subprotocols.joined(separator: ", "))\r\n" }
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        request = Array((text + "\r\n").utf8)
    }

    /// A request with a key from `generator` (§4.1 wants it random per connection).
    public init<G: RandomNumberGenerator>(host: String, path: String, subprotocols: [String] = [],
                                          headers: [(String, String)] = [], using generator: inout G) {
        let keyBytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        self.init(host: host, path: path, subprotocols: subprotocols, headers: headers, keyBytes: keyBytes)
    }

    /// Looks at every byte received so far (the caller keeps them until the outcome is known).
    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Outcome {
        guard let end = findEndOfHead(bytes) else {
            return bytes.count >= maxResponseBytes ? .rejected(.responseTooLarge(maxResponseBytes)) : .needMore
        }
        guard end <= maxResponseBytes else { return .rejected(.responseTooLarge(maxResponseBytes)) }
        switch validate(UnsafeRawBufferPointer(rebasing: bytes[0..<end])) {
        case .success(let subprotocol): return .accepted(subprotocol: subprotocol, consumed: end)
        case .failure(let error): return .rejected(error)
        }
    }

    /// The offset just past the empty line that ends the head, or nil.
    private mutating func findEndOfHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        var index = max(scanned, 3)
        while index < bytes.count {
            if bytes[index] == 0x0A, bytes[index - 1] == 0x0D, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D {
                return index + 1
            }
            index += 1
        }
        scanned = bytes.count
        return nil
    }

    private func validate(_ head: UnsafeRawBufferPointer) -> Result<String?, ClientHandshakeError> {
        // The head ends with CR LF CR LF: splitting on CR LF leaves the status line, the fields and
        // two empty pieces.
        var lines = head.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        lines.removeLast(2)
        guard let (status, reason) = Self.parseStatusLine(lines[0]) else {
            return .failure(.malformed("status line \"\(String(decoding: lines[0], as: UTF8.self))\""))
        }
        // §4.1: anything but 101 is handled as HTTP (here, as a refusal).
        guard status == 101 else { return .failure(.status(status, reason)) }
        var fields: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let field = HTTPRequestParser.parseField(line) else {
                return .failure(.malformed("header field \"\(String(decoding: line, as: UTF8.self))\""))
            }
            fields.append(field)
        }
        let response = HTTPRequestHead(method: "", target: "", versionMajor: 1, versionMinor: 1, headers: fields)
        guard response.tokens("Upgrade").contains(where: { $0.caseInsensitiveEquals("websocket") }) else {
            return .failure(.notUpgraded("no Upgrade: websocket"))
        }
        guard response.tokens("Connection").contains(where: { $0.caseInsensitiveEquals("upgrade") }) else {
            return .failure(.notUpgraded("no Connection: Upgrade"))
        }
        let accepts = response.values("Sec-WebSocket-Accept")
        guard accepts.count == 1, accepts[0] == Handshake.acceptValue(forKey: key) else { return .failure(.wrongAccept) }
        // No extension was offered, so the server may not use one.
        if let extensions = response.value("Sec-WebSocket-Extensions") { return .failure(.unexpectedExtensions(extensions)) }
        let chosen = response.tokens("Sec-WebSocket-Protocol")
        guard let subprotocol = chosen.first else { return .success(nil) }
        guard chosen.count == 1, subprotocols.contains(String(subprotocol)) else {
            return .failure(.unexpectedSubprotocol(chosen.joined(separator: ", ")))
        }
        return .success(String(subprotocol))
    }

    /// `HTTP/1.1 101 Switching Protocols`: the code and the reason phrase.
    private static func parseStatusLine(_ line: Slice<UnsafeRawBufferPointer>) -> (Int, String)? {
        let parts = line.split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
        guard parts.count >= 2, parts[0].elementsEqual("HTTP/1.1".utf8) else { return nil }
        let code = parts[1]
        guard code.count == 3, code.allSatisfy(HTTPRequestParser.isDigit) else { return nil }
        let value = code.reduce(0) { $0 * 10 + Int($1 - 0x30) }
        return (value, parts.count == 3 ? String(decoding: parts[2], as: UTF8.self) : "")
    }
}

/// Why a server's answer to an upgrade request does not open a WebSocket connection.
public enum ClientHandshakeError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with another status (e.g. 401 for a refused token, 503 when full).
    case status(Int, String)
    case malformed(String)
    case responseTooLarge(Int)
    case notUpgraded(String)
    /// Sec-WebSocket-Accept is missing, repeated or not derived from our key.
    case wrongAccept
    case unexpectedSubprotocol(String)
    case unexpectedExtensions(String)

    public var description: String {
        switch self {
        case .status(let code, let reason): return "HTTP \(code) \(reason)"
        case .malformed(let what): return "malformed response: \(what)"
        case .responseTooLarge(let limit): return "response head over \(limit) bytes"
        case .notUpgraded(let why): return "not upgraded: \(why)"
        case .wrongAccept: return "wrong Sec-WebSocket-Accept"
        case .unexpectedSubprotocol(let value): return "server chose a subprotocol that was not offered: \(value)"
        case .unexpectedExtensions(let value): return "server chose extensions that were not offered: \(value)"
        }
    }
}
