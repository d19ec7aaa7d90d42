/// Strict RFC 8259 parsing of one JSON text held in memory.
///
/// Strict means: one value with optional whitespace (space, tab, LF, CR) around it; no trailing
/// commas, comments, byte order mark, leading zeros, `NaN` or `Infinity`; no raw control
/// characters in strings; only the escapes the RFC lists, with `\u` surrogate pairs combined
/// and lone surrogates refused; no duplicate keys in an object. Invalid UTF-8 inside a string
/// is refused rather than repaired, so a decoded string and the forwarded bytes never disagree
/// (outside strings only ASCII is valid JSON anyway). Numbers whose magnitude is beyond Double's
/// range (`1e309`) are refused; those too small for one round to zero.
///
/// The parser never recurses: containers being built sit on an explicit stack bounded by
/// `JSONLimits.maxDepth`, so no input or limit can exhaust the thread's stack.
public enum JSONParser {
    public static func parse(_ bytes: UnsafeRawBufferPointer, limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { throw JSONError(.unexpectedEnd, at: 0) }
        var parser = Parser(base: base.assumingMemoryBound(to: UInt8.self), count: bytes.count, limits: limits)
        return try parser.parseDocument()
    }

    public static func parse(_ bytes: [UInt8], limits: JSONLimits = JSONLimits()) throws(JSONError) -> JSONValue {
        let result = bytes.withUnsafeBytes { buffer -> Result<JSONValue, JSONError> in
            do throws(JSONError) { return .success(try parse(buffer, limits: limits)) } catch { return .failure(error) }
        }
        return try result.get()
    }
}

/// The state of one parse. The values of containers still open wait on two shared stacks,
/// `elements` for arrays and `members` for objects; closing a container moves its slice into an
/// array of exactly the right size, so building a tree costs one allocation per container, no
/// regrowth, and no reference counting for the moves.
struct Parser: ~Copyable {
    let base: UnsafePointer<UInt8>
    let count: Int
    let limits: JSONLimits
    let maxDepth: Int
    var index = 0
    /// A string with escapes is decoded here first, reused from string to string.
    var scratch: [UInt8] = []
    var frames = MoveStack<Frame>()
    var elements = MoveStack<JSONValue>()
    /// A member is pushed when its key is parsed, with a null placeholder for the value, which
    /// is set when the value is complete (nested containers come and go above it meanwhile).
    var members = MoveStack<JSONValue.Member>()
    /// Keys seen so far by the open objects large enough to need hashing; see `Frame.keySet`.
    var keySets: [Set<String>] = []

    /// A container being parsed. Plain integers, so reading one costs no reference counting.
    struct Frame {
        let isObject: Bool
        /// Offset of its opening bracket, the start of its range.
        let start: Int
        /// Where its pending values begin in `elements` (arrays) or `members` (objects).
        let first: Int
        /// Its entry in `keySets`, once an object has so many members that comparing a new key
        /// with each of them would cost more than hashing it; -1 before.
        var keySet = -1
    }

    /// Members of an object checked for duplicates one by one before a set is built.
    static let linearKeyCheckLimit = 12

    init(base: UnsafePointer<UInt8>, count: Int, limits: JSONLimits) {
        self.base = base
        self.count = count
        self.limits = limits
        maxDepth = min(limits.maxDepth, JSONLimits.maxSupportedDepth)
    }

    mutating func parseDocument() throws(JSONError) -> JSONValue {
        skipWhitespace()
        let value = try parseValueTree()
        skipWhitespace()
        guard index == count else { throw JSONError(.trailingData, at: index) }
        return value
    }

    /// Parses the value at `index` and everything nested in it, leaving `index` just past it.
    private mutating func parseValueTree() throws(JSONError) -> JSONValue {
        var value: JSONValue
        nextValue: while true {
            // A value must start at `index` (whitespace before it is already skipped).
            guard index < count else { throw JSONError(.unexpectedEnd, at: index) }
            let start = index
            switch base[index] {
            case UInt8(ascii: "["):
                try open(isObject: false)
                if index < count && base[index] == UInt8(ascii: "]") {
                    index += 1
                    _ = frames.pop()
                    value = JSONValue(range: start..<index, storage: .array([]))
                } else {
                    try checkMemberCount()
                    continue nextValue
                }
            case UInt8(ascii: "{"):
                try open(isObject: true)
                if index < count && base[index] == UInt8(ascii: "}") {
                    index += 1
                    _ = frames.pop()
                    value = JSONValue(range: start..<index, storage: .object([]))
                } else {
                    try parseKeyAndColon()
                    continue nextValue
                }
            case UInt8(ascii: "\""):
                let string = try parseString()
                value = JSONValue(range: start..<index, storage: .string(string))
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = try parseNumber()
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = JSONValue(range: start..<index, storage: .bool(true))
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = JSONValue(range: start..<index, storage: .bool(false))
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = JSONValue(range: start..<index, storage: .null)
            default:
                throw JSONError(.expectedValue, at: start)
            }

            // `value` is complete: add it to the innermost open container, then close containers
            // for as long as their closing brackets follow.
            while frames.count > 0 {
                skipWhitespace()
                let isObject = frames[frames.count - 1].isObject
                if isObject {
                    members[members.count - 1].value = consume value
                } else {
                    elements.push(consume value)
                }
                guard index < count else { throw JSONError(.unexpectedEnd, at: index) }
                let byte = base[index]
                let closing = isObject ? UInt8(ascii: "}") : UInt8(ascii: "]")
                if byte == UInt8(ascii: ",") {
                    let comma = index
                    index += 1
                    skipWhitespace()
                    if index < count && base[index] == closing { throw JSONError(.trailingComma, at: comma) }
                    if isObject { try parseKeyAndColon() } else { try checkMemberCount() }
                    continue nextValue
                }
                guard byte == closing else { throw JSONError(.expectedCommaOrClose, at: index) }
                index += 1
                value = close(frames.pop())
            }
            return value
        }
    }

    /// Enters the container whose bracket is at `index`, leaving `index` at the first
    /// non-whitespace byte inside it.
    private mutating func open(isObject: Bool) throws(JSONError) {
        guard frames.count < maxDepth else { throw JSONError(.tooDeep, at: index) }
        frames.push(Frame(isObject: isObject, start: index, first: isObject ? members.count : elements.count))
        index += 1
        skipWhitespace()
    }

    /// Moves a finished container's values off the shared stacks into its own array.
    private mutating func close(_ frame: Frame) -> JSONValue {
        let range = frame.start..<index
        guard frame.isObject else { return JSONValue(range: range, storage: .array(elements.popArray(from: frame.first))) }
        if frame.keySet >= 0 { keySets.removeLast() }
        return JSONValue(range: range, storage: .object(members.popArray(from: frame.first)))
    }

    /// Refuses one more value in the innermost container once it holds `maxMembers`.
    private func checkMemberCount() throws(JSONError) {
        let frame = frames[frames.count - 1]
        let held = (frame.isObject ? members.count : elements.count) - frame.first
        guard held < limits.maxMembers else { throw JSONError(.tooManyMembers, at: index) }
    }

    /// Parses `"key" :` at `index` for the innermost object, refusing a key it already has, and
    /// leaves `index` at the member's value.
    private mutating func parseKeyAndColon() throws(JSONError) {
        guard index < count else { throw JSONError(.unexpectedEnd, at: index) }
        guard base[index] == UInt8(ascii: "\"") else { throw JSONError(.expectedKey, at: index) }
        try checkMemberCount()
        let keyStart = index
        let key = try parseString()
        let top = frames.count - 1
        let first = frames[top].first
        if frames[top].keySet < 0 && members.count - first < Parser.linearKeyCheckLimit {
            for position in first..<members.count where members[position].key == key {
                throw JSONError(.duplicateKey, at: keyStart)
            }
        } else {
            if frames[top].keySet < 0 {
                var seen = Set<String>(minimumCapacity: 2 * Parser.linearKeyCheckLimit)
                for position in first..<members.count { seen.insert(members[position].key) }
                frames[top].keySet = keySets.count
                keySets.append(seen)
            }
            guard keySets[frames[top].keySet].insert(key).inserted else { throw JSONError(.duplicateKey, at: keyStart) }
        }
        members.push(JSONValue.Member(key: key, value: JSONValue(range: keyStart..<keyStart, storage: .null)))
        skipWhitespace()
        guard index < count else { throw JSONError(.unexpectedEnd, at: index) }
        guard base[index] == UInt8(ascii: ":") else { throw JSONError(.expectedColon, at: index) }
        index += 1
        skipWhitespace()
    }

    /// Consumes `true`, `false` or `null`, whose first byte is already known to match.
    private mutating func expectLiteral(_ literal: StaticString) throws(JSONError) {
        let length = literal.utf8CodeUnitCount
        let expected = literal.utf8Start
        guard count - index >= length else { throw JSONError(.invalidLiteral, at: index) }
        for offset in 1..<length where base[index + offset] != expected[offset] {
            throw JSONError(.invalidLiteral, at: index)
        }
        index += length
    }

    /// RFC 8259 §2: space, horizontal tab, line feed, carriage return; nothing else.
    @inline(__always)
    mutating func skipWhitespace() {
        while index < count {
            switch base[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }
}
