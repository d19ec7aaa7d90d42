/// A strict, bounded parser for the request line and header section of an HTTP/1.1 request
/// (RFC 9112 §2–§5), enough for a WebSocket upgrade or a health check. It never buffers: the
/// caller keeps the bytes received so far and calls `parse` again when more arrive.
public struct HTTPRequestParser: Sendable {
    public struct Limits: Sendable {
        /// Bytes from the start of the request line to the end of the empty line.
        public var maxHeadBytes: Int
        public var maxHeaderCount: Int
        public init(maxHeadBytes: Int = 8192, maxHeaderCount: Int = 100) {
            self.maxHeadBytes = maxHeadBytes
            self.maxHeaderCount = maxHeaderCount
        }
    }

    public enum Result: Sendable {
        case needMore
        /// `consumed` bytes made the request head; any after them belong to the next protocol.
        case complete(HTTPRequestHead, consumed: Int)
        case failure(HTTPStatus, reason: String)
    }

    public let limits: Limits
    /// How far a previous call searched for the end of the head, so a byte-by-byte sender costs
    /// linear time, not quadratic.
    private var scanned = 0

    public init(limits: Limits = Limits()) { self.limits = limits }

    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Result {
        guard let end = findEndOfHead(bytes) else {
            if bytes.count >= limits.maxHeadBytes {
                return .failure(.headersTooLarge, reason: "request head exceeds \(limits.maxHeadBytes) bytes")
            }
            return .needMore
        }
        // A head with LF-only line endings never contains CR LF CR LF: refuse it at its first LF.
        guard end > 0 else { return .failure(.badRequest, reason: "bare LF in request head") }
        guard end <= limits.maxHeadBytes else {
            return .failure(.headersTooLarge, reason: "request head exceeds \(limits.maxHeadBytes) bytes")
        }
        return parseHead(UnsafeRawBufferPointer(rebasing: bytes[0..<end]))
    }

    /// The offset just past the head's empty line, nil if it has not arrived, or 0 at an LF
    /// without its CR.
    private mutating func findEndOfHead(_ bytes: UnsafeRawBufferPointer) -> Int? {
        let limit = bytes.count
        var index = scanned
        while index < limit {
            if bytes[index] == 0x0A {
                guard index > 0, bytes[index - 1] == 0x0D else { return 0 }
                if index >= 3, bytes[index - 2] == 0x0A, bytes[index - 3] == 0x0D { return index + 1 }
            }
            index += 1
        }
        scanned = limit
        return nil
    }

    private func parseHead(_ bytes: UnsafeRawBufferPointer) -> Result {
        var lines = LineReader(bytes: bytes)
        guard let requestLine = lines.next() else { return .failure(.badRequest, reason: "missing request line") }
        guard case let (method, target, major, minor)? = Self.parseRequestLine(requestLine) else {
            return .failure(.badRequest, reason: "malformed request line")
        }
        var headers: [(name: String, value: String)] = []
        while let line = lines.next() {
            if line.isEmpty { break }
            if line[line.startIndex] == 0x20 || line[line.startIndex] == 0x09 {
                return .failure(.badRequest, reason: "obsolete header line folding")
            }
            guard headers.count < limits.maxHeaderCount else {
                return .failure(.headersTooLarge, reason: "more than \(limits.maxHeaderCount) header fields")
            }
            guard let field = Self.parseField(line) else {
                return .failure(.badRequest, reason: "malformed header field")
            }
            headers.append(field)
        }
        if lines.sawBareLineFeed { return .failure(.badRequest, reason: "bare LF in request head") }
        let head = HTTPRequestHead(method: method, target: target, versionMajor: major, versionMinor: minor, headers: headers)
        return .complete(head, consumed: bytes.count)
    }

    static func parseRequestLine(_ line: Slice<UnsafeRawBufferPointer>) -> (String, String, Int, Int)? {
        let parts = line.split(separator: 0x20, omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let method = parts[0], target = parts[1], version = parts[2]
        guard !method.isEmpty, method.allSatisfy(isTokenByte) else { return nil }
        guard !target.isEmpty, target.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        guard version.count == 8, version.starts(with: Array("HTTP/".utf8)) else { return nil }
        let major = version[version.startIndex + 5], dot = version[version.startIndex + 6], minor = version[version.startIndex + 7]
        guard isDigit(major), dot == UInt8(ascii: "."), isDigit(minor) else { return nil }
        return (String(decoding: method, as: UTF8.self), String(decoding: target, as: UTF8.self),
                Int(major - 0x30), Int(minor - 0x30))
    }

    static func parseField(_ line: Slice<UnsafeRawBufferPointer>) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = line[line.startIndex..<colon]
        guard !name.isEmpty, name.allSatisfy(isTokenByte) else { return nil }
        var valueStart = colon + 1, valueEnd = line.endIndex
        while valueStart < valueEnd, line[valueStart] == 0x20 || line[valueStart] == 0x09 { valueStart += 1 }
        while valueEnd > valueStart, line[valueEnd - 1] == 0x20 || line[valueEnd - 1] == 0x09 { valueEnd -= 1 }
        let value = line[valueStart..<valueEnd]
        // Field values: visible ASCII, space, tab and obs-text; no other control characters.
        guard value.allSatisfy({ $0 == 0x09 || ($0 >= 0x20 && $0 != 0x7F) }) else { return nil }
        return (String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    /// tchar of RFC 9110 §5.6.2.
    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), 0x30...0x39: return true
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"),
             UInt8(ascii: "'"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."),
             UInt8(ascii: "^"), UInt8(ascii: "_"), UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"): return true
        default: return false
        }
    }
}

/// Splits a head into CRLF-terminated lines, noting any LF without its CR.
private struct LineReader {
    let bytes: UnsafeRawBufferPointer
    var position = 0
    var sawBareLineFeed = false

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    mutating func next() -> Slice<UnsafeRawBufferPointer>? {
        guard position < bytes.count else { return nil }
        var index = position
        while index < bytes.count, bytes[index] != 0x0A { index += 1 }
        guard index < bytes.count else { return nil }
        var end = index
        if end > position, bytes[end - 1] == 0x0D { end -= 1 } else { sawBareLineFeed = true }
        if bytes[position..<end].contains(0x0D) { sawBareLineFeed = true }
        let line = bytes[position..<end]
        position = index + 1
        return line
    }
}
