/// Base64 (RFC 4648): the standard alphabet with padding (§4, WebSocket handshake keys) and the
/// URL-safe alphabet without padding (§5, JSON Web Tokens). No Foundation needed.
public enum Base64 {
    public enum Alphabet: Sendable {
        /// `+` and `/`, padded with `=` to a multiple of four characters.
        case standard
        /// `-` and `_`, unpadded (padding is refused).
        case url

        fileprivate var characters: [UInt8] {
            switch self {
            case .standard: return Base64.standardCharacters
            case .url: return Base64.urlCharacters
            }
        }

        fileprivate var decodeTable: [UInt8] {
            switch self {
            case .standard: return Base64.standardTable
            case .url: return Base64.urlTable
            }
        }
    }

    private static let standardCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    private static let urlCharacters = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
    private static let standardTable = table(standardCharacters)
    private static let urlTable = table(urlCharacters)

    private static func table(_ characters: [UInt8]) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, char) in characters.enumerated() { table[Int(char)] = UInt8(index) }
        return table
    }

    public static func encode<C: Collection>(_ bytes: C, alphabet: Alphabet = .standard) -> String where C.Element == UInt8 {
        let characters = alphabet.characters
        let padded = alphabet == .standard
        var out = [UInt8]()
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var iterator = bytes.makeIterator()
        while let b0 = iterator.next() {
            let b1 = iterator.next()
            let b2 = b1 == nil ? nil : iterator.next()
            let n = UInt32(b0) << 16 | UInt32(b1 ?? 0) << 8 | UInt32(b2 ?? 0)
            out.append(characters[Int((n >> 18) & 63)])
            out.append(characters[Int((n >> 12) & 63)])
            if b1 != nil { out.append(characters[Int((n >> 6) & 63)]) } else if padded { out.append(UInt8(ascii: "=")) }
            if b2 != nil { out.append(characters[Int(n & 63)]) } else if padded { out.append(UInt8(ascii: "=")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Strict decoding. Standard: the length is a multiple of four and padding appears only at the
    /// end. URL: no padding, and a length that leaves one character over is refused. In both, a
    /// character outside the alphabet, or unused low bits that are not zero, gives nil.
    public static func decode<S: StringProtocol>(_ text: S, alphabet: Alphabet = .standard) -> [UInt8]? {
        var chars = Array(text.utf8)
        if alphabet == .standard {
            guard chars.count % 4 == 0 else { return nil }
            var padding = 0
            while padding < 2, chars.last == UInt8(ascii: "=") { chars.removeLast(); padding += 1 }
            if padding > 0, chars.count % 4 != 4 - padding { return nil }
        }
        guard chars.count % 4 != 1 else { return nil }
        let table = alphabet.decodeTable
        var out = [UInt8]()
        out.reserveCapacity(chars.count * 3 / 4)
        var accumulator: UInt32 = 0
        var bits = 0
        for char in chars {
            let value = table[Int(char)]
            guard value != 0xFF else { return nil }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((accumulator >> UInt32(bits)) & 0xFF))
            }
        }
        // Canonical encodings leave the unused low bits zero.
        guard accumulator & ((1 << UInt32(bits)) - 1) == 0 else { return nil }
        return out
    }
}
