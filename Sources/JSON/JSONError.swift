/// Why an input was refused, and where: enough for an error reply to a client ("expected ':' at
/// byte 17"), never the input itself, so an error can be logged or echoed without leaking or
/// amplifying what the client sent.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The rule the input broke. An enum rather than free text, so callers and tests can match on
    /// it and the reply text stays short and fixed.
    public enum Reason: Sendable, Equatable, CustomStringConvertible {
        /// The input ended where a value, a key, a closing bracket or the rest of a string was due.
        case unexpectedEnd
        /// A byte that cannot start a value here (including `NaN`, `Infinity`, `+1`, `.5`, `'a'`,
        /// comments and a byte order mark).
        case expectedValue
        /// Inside an object, where a `"`-quoted key must come.
        case expectedKey
        case expectedColon
        /// After an element of an array or object, where `,` or the closing bracket must come.
        case expectedCommaOrClose
        /// `[1,]` or `{"a":1,}`: the offset points at the comma.
        case trailingComma
        /// Anything but whitespace after the one top-level value.
        case trailingData
        /// A word that starts like `true`, `false` or `null` but is not one of them.
        case invalidLiteral
        /// A number that breaks the grammar: `-`, `1.`, `1e`, `1.e5`.
        case invalidNumber
        /// `01`, `-00`: the offset points at the leading zero.
        case leadingZero
        /// A number whose magnitude does not fit a Double (`1e309`). Numbers too small for one
        /// (`1e-400`) are accepted and round to zero, as any decimal that is not a binary
        /// fraction rounds.
        case numberOutOfRange
        /// A raw U+0000–U+001F inside a string; such characters must be escaped.
        case controlCharacter
        /// A backslash followed by anything but `" \ / b f n r t` or `u` and four hex digits.
        case invalidEscape
        /// A `\uD800`–`\uDFFF` escape that is not part of a high-then-low surrogate pair.
        case loneSurrogate
        /// A string byte sequence that is not UTF-8 (WebSocket text frames are validated before
        /// they get here, so this only guards other callers).
        case invalidUTF8
        /// The same key twice in one object: a command with two `channel` fields is ambiguous.
        case duplicateKey
        /// More nested arrays and objects than `JSONLimits.maxDepth`.
        case tooDeep
        /// A string longer than `JSONLimits.maxStringBytes` (counted in input bytes).
        case stringTooLong
        /// More elements in one array, or members in one object, than `JSONLimits.maxMembers`.
        case tooManyMembers

        public var description: String {
            switch self {
            case .unexpectedEnd: "unexpected end of input"
            case .expectedValue: "expected a value"
            case .expectedKey: "expected a string key"
            case .expectedColon: "expected ':'"
            case .expectedCommaOrClose: "expected ',' or a closing bracket"
            case .trailingComma: "trailing comma"
            case .trailingData: "unexpected data after the value"
            case .invalidLiteral: "invalid literal"
            case .invalidNumber: "invalid number"
            case .leadingZero: "leading zero in number"
            case .numberOutOfRange: "number out of range"
            case .controlCharacter: "unescaped control character in string"
            case .invalidEscape: "invalid escape sequence"
            case .loneSurrogate: "lone surrogate in \\u escape"
            case .invalidUTF8: "invalid UTF-8"
            case .duplicateKey: "duplicate key"
            case .tooDeep: "nesting too deep"
            case .stringTooLong: "string too long"
            case .tooManyMembers: "too many elements"
            }
        }
    }

    public let reason: Reason
    /// Byte offset in the input of the problem: the first byte of the offending token (the
    /// backslash of a bad escape, the leading zero, the duplicate key's opening quote, the
    /// bracket that nests too deep), or the input's length when it ended too soon.
    public let offset: Int

    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    public var description: String { "\(reason) at byte \(offset)" }
}
