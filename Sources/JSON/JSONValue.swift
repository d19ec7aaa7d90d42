/// One parsed JSON value, and where it came from: `range` is the value's bytes in the parser's
/// input, so a gateway can forward a publication's `data` to its subscribers as those bytes,
/// without re-serializing it.
///
/// A plain tree of values, built once per message and read a few times: arrays own their
/// elements, objects keep their members in input order (keys are unique, the parser refuses
/// duplicates), strings are decoded. The accessors return nil for a value of another kind, so a
/// command can be read as `value["channel"]?.string`.
public struct JSONValue: Sendable {
    public enum Kind: Sendable, Equatable {
        case null, bool, number, string, array, object
    }

    /// An object's member. A struct rather than a `(key, value)` tuple: arrays of tuples go
    /// through the runtime's generic tuple metadata on every allocation and destruction, which
    /// cost more than the rest of parsing a small command.
    public struct Member: Sendable {
        public let key: String
        /// Set once when the parser has parsed it; see `Parser.members`.
        public internal(set) var value: JSONValue

        init(key: String, value: JSONValue) {
            self.key = key
            self.value = value
        }
    }

    /// The value's bytes in the input, from its first byte (`{`, `[`, `"`, `-`, a digit or a
    /// letter) to just past its last; whitespace around it is not included.
    public let range: Range<Int>

    let storage: Storage

    enum Storage: Sendable {
        case null
        case bool(Bool)
        case number(JSONNumber)
        case string(String)
        case array([JSONValue])
        case object([Member])
    }

    init(range: Range<Int>, storage: Storage) {
        self.range = range
        self.storage = storage
    }

    public var kind: Kind {
        switch storage {
        case .null: .null
        case .bool: .bool
        case .number: .number
        case .string: .string
        case .array: .array
        case .object: .object
        }
    }

    public var isNull: Bool {
        if case .null = storage { return true }
        return false
    }

    public var bool: Bool? {
        if case .bool(let value) = storage { return value }
        return nil
    }

    /// A number as the nearest Double (so `9007199254740993` reads as `9007199254740992.0`; use
    /// `int64` where exactness matters).
    public var double: Double? {
        if case .number(let number) = storage { return number.double }
        return nil
    }

    /// A number that is mathematically an integer and fits Int64, exactly: `100`, `1e2` and
    /// `100.0` give 100, `9007199254740993` gives itself (not the nearest Double), while `1.5`,
    /// `1e-2` and `9223372036854775808` (2^63) give nil.
    public var int64: Int64? {
        if case .number(let number) = storage { return number.int64 }
        return nil
    }

    /// True for a number that is mathematically an integer, whatever its size (`1e30`, `2.0`),
    /// false for any other number or value.
    public var isInteger: Bool {
        if case .number(let number) = storage { return number.isInteger }
        return false
    }

    public var string: String? {
        if case .string(let value) = storage { return value }
        return nil
    }

    public var array: [JSONValue]? {
        if case .array(let elements) = storage { return elements }
        return nil
    }

    /// An object's members in input order.
    public var object: [Member]? {
        if case .object(let members) = storage { return members }
        return nil
    }

    /// The value of an object's member, nil when there is no such key or this is not an object.
    /// A linear search: commands have a handful of keys, and a hash table would cost more to
    /// build than these look-ups. Keys compare as Swift Strings do, by canonical equivalence,
    /// the same rule the parser's duplicate check uses, so a look-up is never ambiguous.
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = storage else { return nil }
        for member in members where member.key == key { return member.value }
        return nil
    }

    /// An array's element, nil when out of bounds or this is not an array.
    public subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = storage, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON, as JSONWriter writes it (for logs and test failures).
    public var description: String {
        var writer = JSONWriter()
        writer.value(self)
        return String(decoding: writer.bytes, as: UTF8.self)
    }
}
