/// Compact JSON written straight into bytes, for replies and pushes: no intermediate Strings,
/// no whitespace, commas inserted where they belong.
///
/// The caller pairs `begin…`/`end…` and gives each member of an object a `key` before its value;
/// the writer does not check this (it costs a stack per writer and the calls are fixed in code).
///
///     var writer = JSONWriter()
///     writer.beginObject()
///     writer.key("type"); writer.string("message")
///     writer.key("data"); writer.raw(publication)   // forwarded as received
///     writer.endObject()
///     send(writer.bytes)
public struct JSONWriter: Sendable {
    /// The JSON written so far.
    public private(set) var bytes: [UInt8]
    /// A value was just completed at this level, so the next one needs a comma first.
    private var needsComma = false

    public init(capacity: Int = 256) {
        bytes = []
        bytes.reserveCapacity(capacity)
    }

    public mutating func beginObject() {
        separate()
        bytes.append(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        bytes.append(UInt8(ascii: "}"))
        needsComma = true
    }

    public mutating func beginArray() {
        separate()
        bytes.append(UInt8(ascii: "["))
        needsComma = false
    }

    public mutating func endArray() {
        bytes.append(UInt8(ascii: "]"))
        needsComma = true
    }

    /// An object member's key and its colon; the member's value comes next.
    public mutating func key(_ key: String) {
        separate()
        appendQuoted(key)
        bytes.append(UInt8(ascii: ":"))
        needsComma = false
    }

    /// A string, escaping only what RFC 8259 requires: `"`, `\` and U+0000–U+001F (the short
    /// forms `\b \f \n \r \t` where there is one, `\u00XX` otherwise). Everything else is
    /// written as raw UTF-8, which is shorter and what a WebSocket text frame carries anyway.
    public mutating func string(_ value: String) {
        separate()
        appendQuoted(value)
        needsComma = true
    }

    public mutating func int(_ value: Int) {
        int(Int64(value))
    }

    public mutating func int(_ value: Int64) {
        separate()
        // Digits are produced last first into a small stack buffer, then appended in one go.
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 20) { buffer in
            var magnitude = value.magnitude
            var start = buffer.count
            repeat {
                start -= 1
                buffer[start] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude != 0
            if value < 0 { bytes.append(UInt8(ascii: "-")) }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buffer[start...]))
        }
        needsComma = true
    }

    /// The shortest text that parses back to exactly `value` (the standard library's
    /// Swift-Dtoa algorithm). JSON has no NaN or infinity, so `value` must be finite.
    public mutating func double(_ value: Double) {
        precondition(value.isFinite, "JSON cannot represent \(value)")
        // Integral values below 2^53 are written as integers: shorter than `100.0`, and exact.
        if value.rounded(.towardZero) == value && value.magnitude < 9_007_199_254_740_992 {
            if value == 0 && value.sign == .minus {
                separate()
                bytes.append(UInt8(ascii: "-"))
                bytes.append(UInt8(ascii: "0"))
                needsComma = true
            } else {
                int(Int64(value))
            }
            return
        }
        separate()
        var sink = ByteSink(bytes: bytes)
        bytes = []  // the sink now holds the only reference, so it appends in place
        value.write(to: &sink)
        bytes = sink.bytes
        needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        separate()
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])  // true
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])  // false
        }
        needsComma = true
    }

    public mutating func null() {
        separate()
        bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        needsComma = true
    }

    /// Embeds one JSON value exactly as given, such as a publication's `data` sliced out of the
    /// client's message by its `range`. The bytes are trusted to be valid JSON: they are not
    /// checked, so pass only what JSONParser accepted.
    public mutating func raw(_ json: UnsafeRawBufferPointer) {
        separate()
        bytes.append(contentsOf: json)
        needsComma = true
    }

    /// A parsed value, written back compactly. Integers that fit Int64 are written exactly;
    /// other numbers as their Double, so a 20-digit literal comes back rounded (to forward a
    /// value byte for byte, use `raw` with its range).
    public mutating func value(_ value: JSONValue) {
        switch value.storage {
        case .null:
            null()
        case .bool(let flag):
            bool(flag)
        case .number(let number):
            if let integer = number.int64 ?? Int64(exactly: number.double), integer != 0 || number.double.sign == .plus {
                // Exact digits, also for a Double that is an Int64 (`0.0` from `1e-400`, 2^62
                // from `4611686018427387904.5`): the shortest form of 2^62,
                // `4.611686018427388e+18`, would parse back as another integer.
                int(integer)
            } else {
                double(number.double)  // -0 is an integer but not an Int64 value: `double` keeps its sign
            }
        case .string(let string):
            self.string(string)
        case .array(let elements):
            beginArray()
            for element in elements { self.value(element) }
            endArray()
        case .object(let members):
            beginObject()
            for member in members {
                key(member.key)
                self.value(member.value)
            }
            endObject()
        }
    }

    @inline(__always)
    private mutating func separate() {
        if needsComma { bytes.append(UInt8(ascii: ",")) }
    }

    private mutating func appendQuoted(_ string: String) {
        var string = string
        string.withUTF8 { utf8 in
            bytes.append(UInt8(ascii: "\""))
            var runStart = 0
            for position in utf8.indices {
                let byte = utf8[position]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<position]))
                appendEscape(byte)
                runStart = position + 1
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart...]))
            bytes.append(UInt8(ascii: "\""))
        }
    }

    private mutating func appendEscape(_ byte: UInt8) {
        let short: UInt8
        switch byte {
        case 0x22: short = UInt8(ascii: "\"")
        case 0x5C: short = UInt8(ascii: "\\")
        case 0x08: short = UInt8(ascii: "b")
        case 0x0C: short = UInt8(ascii: "f")
        case 0x0A: short = UInt8(ascii: "n")
        case 0x0D: short = UInt8(ascii: "r")
        case 0x09: short = UInt8(ascii: "t")
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                                      hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
            return
        }
        bytes.append(UInt8(ascii: "\\"))
        bytes.append(short)
    }
}

/// Receives the standard library's float formatting. `_writeASCII` is the hook through which
/// `Double.write(to:)` hands over its digits as bytes; were a future standard library to stop
/// calling it, `write(_:)` still gives the same text, through a String.
private struct ByteSink: TextOutputStream {
    var bytes: [UInt8]

    mutating func write(_ string: String) {
        bytes.append(contentsOf: string.utf8)
    }

    mutating func _writeASCII(_ buffer: UnsafeBufferPointer<UInt8>) {
        bytes.append(contentsOf: buffer)
    }
}
