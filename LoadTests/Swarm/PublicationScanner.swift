import Glibc

/// Reads the send time and sequence out of a publication push without parsing its JSON. The
/// gateway writes `{"push":"publication","channel":C,"pub":{"offset":N,"data":D}}` with `data`
/// last (Gateway's Pushes), forwarding it byte for byte as the publisher wrote it,
/// `{"t":T,"seq":S}`; so a push ends with `"data":{"t":T,"seq":S}}}`, read here from the end.
enum PublicationScanner {
    private static let pushPrefix: StaticString = #"{"push":"publication""#
    private static let dataKey: StaticString = #""data":{"t":"#
    private static let sequenceKey: StaticString = #","seq":"#
    private static let closing: StaticString = "}}}"

    static func scan(_ payload: UnsafeRawBufferPointer) -> (sentAt: UInt64, sequence: UInt64)? {
        var position = payload.count - closing.utf8CodeUnitCount
        guard payload.count > pushPrefix.utf8CodeUnitCount + dataKey.utf8CodeUnitCount, matches(pushPrefix, payload, at: 0),
              matches(closing, payload, at: position),
              let sequence = number(endingAt: &position, in: payload), literal(sequenceKey, endingAt: &position, in: payload),
              let sentAt = number(endingAt: &position, in: payload), literal(dataKey, endingAt: &position, in: payload) else { return nil }
        return (sentAt, sequence)
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
        while position > 0, position > last - 20, payload[position - 1] >= 0x30, payload[position - 1] <= 0x39 { position -= 1 }
        guard position < last else { return nil }
        var value: UInt64 = 0
        for index in position..<last { value = value &* 10 &+ UInt64(payload[index] - 0x30) }
        return value
    }
}
