/// The grammar of one extension element (RFC 6455 §9.1): `token *( ";" token [ "=" ( token /
/// quoted-string ) ] )`, with optional whitespace around the separators.
struct ParameterScanner {
    private static let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)
    private let bytes: [UInt8]
    private var index = 0

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        skipWhitespace()
    }

    var atEnd: Bool { index == bytes.count }

    /// Consumes `byte` and the whitespace after it, if `byte` is next.
    mutating func skip(_ byte: UInt8) -> Bool {
        guard index < bytes.count, bytes[index] == byte else { return false }
        index += 1
        skipWhitespace()
        return true
    }

    /// A token (RFC 9110 §5.6.2), lowercased (names compare without case), and the whitespace after it.
    mutating func token() -> String? {
        let start = index
        while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
        guard index > start else { return nil }
        let text = String(decoding: bytes[start..<index], as: UTF8.self).lowercased()
        skipWhitespace()
        return text
    }

    /// A token or a quoted string, unescaped; §9.1 wants the unescaped value to be a token too.
    mutating func value() -> String? {
        guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else {
            let start = index
            while index < bytes.count, Self.isTokenByte(bytes[index]) { index += 1 }
            guard index > start else { return nil }
            defer { skipWhitespace() }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }
        index += 1
        var unescaped: [UInt8] = []
        while index < bytes.count {
            let byte = bytes[index]
            index += 1
            if byte == UInt8(ascii: "\"") {
                guard !unescaped.isEmpty, unescaped.allSatisfy(Self.isTokenByte) else { return nil }
                skipWhitespace()
                return String(decoding: unescaped, as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") {
                guard index < bytes.count else { return nil }
                unescaped.append(bytes[index])
                index += 1
            } else {
                unescaped.append(byte)
            }
        }
        return nil  // No closing quote.
    }

    private mutating func skipWhitespace() {
        while index < bytes.count, bytes[index] == UInt8(ascii: " ") || bytes[index] == UInt8(ascii: "\t") { index += 1 }
    }

    static func isTokenByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"):
            return true
        default:
            return tokenSymbols.contains(byte)
        }
    }
}
