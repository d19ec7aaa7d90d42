/// Equality of JSON values, not of their provenance: `range` is ignored, so a value equals the
/// same value parsed from differently spaced input, or written back and parsed again.
///
/// Objects are equal when they have the same keys with equal values, in any order (RFC 8259 §4
/// leaves member order without meaning). Numbers compare as exact integers when both are Int64s;
/// otherwise through their Doubles, the precision a JSONValue keeps for them: `1e-400` (which
/// rounds to 0.0) equals `0`, while `9007199254740993` does not equal `9007199254740992.5` (whose
/// Double is 2^53). So a value written back with JSONWriter and parsed again equals itself.
extension JSONValue: Equatable {
    public static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs.storage, rhs.storage) {
        case (.null, .null):
            return true
        case let (.bool(a), .bool(b)):
            return a == b
        case let (.number(a), .number(b)):
            switch (a.int64, b.int64) {
            case let (x?, y?): return x == y
            case let (x?, nil): return Int64(exactly: b.double) == x
            case let (nil, y?): return Int64(exactly: a.double) == y
            case (nil, nil): return a.double == b.double
            }
        case let (.string(a), .string(b)):
            return a == b
        case let (.array(a), .array(b)):
            return a == b
        case let (.object(a), .object(b)):
            return membersEqual(a, b)
        default:
            return false
        }
    }

    private static func membersEqual(_ a: [Member], _ b: [Member]) -> Bool {
        guard a.count == b.count else { return false }
        // Keys are unique within an object, so same count plus every key of `a` found with an
        // equal value in `b` means the same set. Small objects compare pairwise; large ones
        // through a dictionary, to stay linear.
        if a.count <= 16 {
            for member in a {
                guard let other = b.first(where: { $0.key == member.key }), other.value == member.value else { return false }
            }
            return true
        }
        var index: [String: JSONValue] = [:]
        index.reserveCapacity(b.count)
        for member in b { index[member.key] = member.value }
        for member in a {
            guard let other = index[member.key], other == member.value else { return false }
        }
        return true
    }
}
