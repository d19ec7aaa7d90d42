import Glibc

/// Reads the send time, sequence and offset out of a publication push without parsing its JSON.
/// The gateway writes `{"push":"publication","channel":C,"pub":{"offset":N,"data":D}}` (Gateway's
/// Pushes), `data` last and forwarded byte for byte as the publisher wrote it, `{"t":T,"seq":S}`:
/// so a push ends with `"data":{"t":T,"seq":S}}}`, read here from the end. The offset is read
/// from the front: the first `{` after the push's own opens `pub`, as a channel name has none.
enum PublicationScanner {
    private static let pushPrefix: StaticString = #"{"push":"publication""#
    private static let dataKey: StaticString = #""data":{"t":"#
    private static let sequenceKey: StaticString = #","seq":"#
    private static let closing: StaticString = "}}}"
    private static let offsetKey: StaticString = #"{"offset":"#

    static func scan(_ payload: UnsafeRawBufferPointer) -> ReceivedPublication? {
        var position = payload.count - closing.utf8CodeUnitCount
        guard payload.count > pushPrefix.utf8CodeUnitCount + dataKey.utf8CodeUnitCount, matches(pushPrefix, payload, at: 0),
              matches(closing, payload, at: position),
              let sequence = number(endingAt: &position, in: payload), literal(sequenceKey, endingAt: &position, in: payload),
              let sentAt = number(endingAt: &position, in: payload), literal(dataKey, endingAt: &position, in: payload) else { return nil }
        return ReceivedPublication(sentAt: sentAt, sequence: sequence, offset: offset(in: payload))
    }

    /// `pub`'s offset; 0 when it has none (a publication outside the channel's stream).
    private static func offset(in payload: UnsafeRawBufferPointer) -> UInt64 {
        guard let brace = memchr(payload.baseAddress! + 1, 0x7B, payload.count - 1) else { return 0 }
        let start = payload.baseAddress!.distance(to: UnsafeRawPointer(brace))
        guard matches(offsetKey, payload, at: start) else { return 0 }
        var position = start + offsetKey.utf8CodeUnitCount
        return number(startingAt: &position, in: payload) ?? 0
    }

    private static func matches(_ literal: StaticString, _ payload: UnsafeRawBufferPointer, at position: Int) -> Bool {
        position >= 0 && position + literal.utf8CodeUnitCount <= payload.count
            && memcmp(payload.baseAddress! + position, literal.utf8Start, literal.utf8CodeUnitCount) == 0
    }

    /// The literal that ends at `position`; moves `position` to its start.
    private static func literal(_ literal: StaticString, endingAt position: inout Int, in payload: UnsafeRawBufferPointer) -> Bool {
        position -= literal.utf8CodeUnitCount
        return matches(literal, payload, at: position)
    }

    /// The decimal number that ends at `position`; moves `position` to its first digit.
    private static func number(endingAt position: inout Int, in payload: UnsafeRawBufferPointer) -> UInt64? {
        let last = position
        while position > 0, position > last - 20, isDigit(payload[position - 1]) { position -= 1 }
        return value(of: position..<last, in: payload)
    }

    /// The decimal number that starts at `position`; moves `position` past its last digit.
    private static func number(startingAt position: inout Int, in payload: UnsafeRawBufferPointer) -> UInt64? {
        let first = position
        while position < payload.count, position < first + 20, isDigit(payload[position]) { position += 1 }
        return value(of: first..<position, in: payload)
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func value(of digits: Range<Int>, in payload: UnsafeRawBufferPointer) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for index in digits { value = value &* 10 &+ UInt64(payload[index] - 0x30) }
        return value
    }
}
