/// Incremental UTF-8 validation (RFC 3629) for text messages that arrive in pieces: a code point
/// may be split across reads and frames, and the first byte that can no longer start or continue
/// a valid sequence is reported at once (the fail-fast behaviour RFC 6455 §8.1 asks for).
public struct UTF8Validator: Sendable {
    /// Continuation bytes still expected by the current code point.
    @usableFromInline var pending: UInt8 = 0
    /// Allowed range for the next continuation byte (narrower after E0, ED, F0 and F4, which
    /// is how overlong forms, surrogates and code points past U+10FFFF are refused).
    @usableFromInline var low: UInt8 = 0x80
    @usableFromInline var high: UInt8 = 0xBF

    public init() {}

    /// True when the bytes seen so far end on a code point boundary.
    @inlinable public var isComplete: Bool { pending == 0 }

    public mutating func reset() { self = UTF8Validator() }

    /// Validates the next bytes. Returns false at the first invalid byte; the validator is then
    /// in an unspecified state and must be reset before reuse.
    @inlinable
    public mutating func validate(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        let count = bytes.count
        var index = 0
        while index < count {
            if pending == 0 {
                // ASCII fast path, eight bytes at a time.
                while index + 8 <= count {
                    let word = base.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                    if word & 0x8080_8080_8080_8080 != 0 { break }
                    index += 8
                }
                guard index < count else { return true }
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                if byte < 0x80 { continue }
                if !start(byte) { return false }
            } else {
                let byte = base.load(fromByteOffset: index, as: UInt8.self)
                index += 1
                guard byte >= low && byte <= high else { return false }
                pending -= 1
                low = 0x80
                high = 0xBF
            }
        }
        return true
    }

    @inlinable
    mutating func start(_ byte: UInt8) -> Bool {
        guard let sequence = Self.sequence(startingWith: byte) else { return false }
        pending = UInt8(sequence.length - 1)
        low = sequence.low
        high = sequence.high
        return true
    }

    /// The shape of a multi-byte sequence from its lead byte (RFC 3629 §4): its length and the
    /// range allowed for its second byte, narrower after E0, ED, F0 and F4 so that overlong forms,
    /// surrogates and code points past U+10FFFF are refused. Nil for a byte that cannot lead one.
    /// Every other continuation byte is 80–BF.
    @inlinable
    public static func sequence(startingWith lead: UInt8) -> (length: Int, low: UInt8, high: UInt8)? {
        switch lead {
        case 0xC2...0xDF: return (2, 0x80, 0xBF)
        case 0xE0: return (3, 0xA0, 0xBF)
        case 0xE1...0xEC, 0xEE...0xEF: return (3, 0x80, 0xBF)
        case 0xED: return (3, 0x80, 0x9F)
        case 0xF0: return (4, 0x90, 0xBF)
        case 0xF1...0xF3: return (4, 0x80, 0xBF)
        case 0xF4: return (4, 0x80, 0x8F)
        default: return nil
        }
    }
}
