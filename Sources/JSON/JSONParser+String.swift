import Buffers

/// Strings: RFC 8259 §7, plus UTF-8 validation (RFC 3629) of the bytes between the quotes.
extension Parser {
    /// Parses the string whose opening quote is at `index`, leaving `index` past its closing
    /// quote. A string without escapes, the usual case, becomes a String straight from the input.
    mutating func parseString() throws(JSONError) -> String {
        let open = index
        var position = open + 1
        while true {
            position = skipPlainASCII(from: position)
            guard position < count else { throw JSONError(.unexpectedEnd, at: count) }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") {
                try checkLength(open: open, close: position)
                index = position + 1
                return makeString(UnsafeBufferPointer(start: base + open + 1, count: position - open - 1))
            }
            if byte == UInt8(ascii: "\\") {
                return try parseEscapedString(open: open, firstEscape: position)
            }
            if byte < 0x20 { throw JSONError(.controlCharacter, at: position) }
            position = byte < 0x80 ? position + 1 : try validateUTF8Sequence(at: position)
        }
    }

    /// The rest of a string once a backslash has been seen: decoded into `scratch`, plain runs
    /// copied whole.
    private mutating func parseEscapedString(open: Int, firstEscape: Int) throws(JSONError) -> String {
        scratch.removeAll(keepingCapacity: true)
        var runStart = open + 1
        var position = firstEscape
        while true {
            position = skipPlainASCII(from: position)
            guard position < count else { throw JSONError(.unexpectedEnd, at: count) }
            let byte = base[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") {
                scratch.append(contentsOf: UnsafeBufferPointer(start: base + runStart, count: position - runStart))
                if byte == UInt8(ascii: "\"") {
                    try checkLength(open: open, close: position)
                    index = position + 1
                    return scratch.withUnsafeBufferPointer { makeString($0) }
                }
                position = try decodeEscape(at: position)
                runStart = position
                continue
            }
            if byte < 0x20 { throw JSONError(.controlCharacter, at: position) }
            position = byte < 0x80 ? position + 1 : try validateUTF8Sequence(at: position)
        }
    }

    /// A String of bytes already checked to be UTF-8. (The standard library validates them
    /// again, the only way to make a String; this initializer is the fastest way to do that.)
    private func makeString(_ utf8: UnsafeBufferPointer<UInt8>) -> String {
        String(unsafeUninitializedCapacity: utf8.count) { buffer in
            _ = buffer.initialize(fromContentsOf: utf8)
            return utf8.count
        }
    }

    private func checkLength(open: Int, close: Int) throws(JSONError) {
        guard close - open - 1 <= limits.maxStringBytes else { throw JSONError(.stringTooLong, at: open) }
    }

    /// The first offset at or after `position` holding a byte that needs a closer look: a
    /// quote, a backslash, a control character or a non-ASCII byte. Eight bytes at a time.
    @inline(__always)
    private func skipPlainASCII(from position: Int) -> Int {
        var position = position
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        while position + 8 <= count {
            let word = UnsafeRawPointer(base + position).loadUnaligned(as: UInt64.self)
            // A byte's high bit is set in the sum when it is a quote or a backslash (x ^ c is
            // zero, and zero minus one borrows), below 0x20, or non-ASCII. A borrow only carries
            // out of a byte that already matched, so the test has no false positives for the
            // word as a whole.
            let quote = (word ^ (ones &* 0x22)) &- ones
            let backslash = (word ^ (ones &* 0x5C)) &- ones
            let control = word &- ones &* 0x20
            if (quote | backslash | control | word) & highs != 0 { break }
            position += 8
        }
        while position < count {
            let byte = base[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            position += 1
        }
        return position
    }

    /// Checks the multi-byte UTF-8 sequence starting at `position` (its first byte is non-ASCII)
    /// and returns the offset after it. Overlong forms, surrogates (ED A0–BF) and code points
    /// past U+10FFFF are refused, as RFC 3629 requires.
    private func validateUTF8Sequence(at position: Int) throws(JSONError) -> Int {
        guard let (length, low, high) = UTF8Validator.sequence(startingWith: base[position]),
              count - position >= length else { throw JSONError(.invalidUTF8, at: position) }
        let second = base[position + 1]
        guard second >= low && second <= high else { throw JSONError(.invalidUTF8, at: position) }
        for offset in 2..<length where base[position + offset] & 0xC0 != 0x80 {
            throw JSONError(.invalidUTF8, at: position)
        }
        return position + length
    }

    /// Decodes the escape whose backslash is at `position` into `scratch`, returning the offset
    /// after it.
    private mutating func decodeEscape(at position: Int) throws(JSONError) -> Int {
        guard position + 1 < count else { throw JSONError(.unexpectedEnd, at: count) }
        let decoded: UInt8
        switch base[position + 1] {
        case UInt8(ascii: "\""): decoded = 0x22
        case UInt8(ascii: "\\"): decoded = 0x5C
        case UInt8(ascii: "/"): decoded = 0x2F
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"): return try decodeUnicodeEscape(at: position)
        default: throw JSONError(.invalidEscape, at: position)
        }
        scratch.append(decoded)
        return position + 2
    }

    /// `\uXXXX`, or a `\uD8xx\uDCxx` pair for a code point beyond the Basic Multilingual Plane
    /// (RFC 8259 §7). Half a pair names no character and is refused.
    private mutating func decodeUnicodeEscape(at position: Int) throws(JSONError) -> Int {
        let unit = try hexQuad(at: position + 2, escape: position)
        var scalar = UInt32(unit)
        var end = position + 6
        switch unit {
        case 0xD800...0xDBFF:
            guard end < count else { throw JSONError(.unexpectedEnd, at: count) }
            guard base[end] == UInt8(ascii: "\\") else { throw JSONError(.loneSurrogate, at: position) }
            guard end + 1 < count else { throw JSONError(.unexpectedEnd, at: count) }
            guard base[end + 1] == UInt8(ascii: "u") else { throw JSONError(.loneSurrogate, at: position) }
            let low = try hexQuad(at: end + 2, escape: end)
            guard (0xDC00...0xDFFF).contains(low) else { throw JSONError(.loneSurrogate, at: position) }
            scalar = 0x1_0000 + ((scalar - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            end += 6
        case 0xDC00...0xDFFF:
            throw JSONError(.loneSurrogate, at: position)
        default:
            break
        }
        appendUTF8(scalar)
        return end
    }

    /// The four hex digits at `position`, of the escape whose backslash is at `escape`.
    private func hexQuad(at position: Int, escape: Int) throws(JSONError) -> UInt16 {
        var value: UInt16 = 0
        for offset in 0..<4 {
            guard position + offset < count else { throw JSONError(.unexpectedEnd, at: count) }
            let byte = base[position + offset]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw JSONError(.invalidEscape, at: escape)
            }
            value = value << 4 | UInt16(digit)
        }
        return value
    }

    private mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x1_0000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }
}
