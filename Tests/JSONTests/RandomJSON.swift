import JSON
import TestSupport
import XCTest

/// A JSON document as the tests mean it, independent of JSONValue: the model random documents
/// are generated as, then written, parsed and compared with.
indirect enum JSONModel {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONModel])
    case object([(key: String, value: JSONModel)])
}

/// Random documents: nesting up to `maxDepth`, strings mixing ASCII, escapes-to-be, control
/// characters, two- to four-byte UTF-8 (the astral plane included), integers over all of Int64
/// and Doubles over all finite bit patterns.
struct RandomJSON {
    var rng: SplitMix64
    var maxDepth = 6

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func document() -> JSONModel {
        // Mostly containers, like real messages; sometimes a bare scalar.
        Int.random(in: 0..<10, using: &rng) == 0 ? scalar() : container(depth: 1)
    }

    mutating func value(depth: Int) -> JSONModel {
        if depth < maxDepth && Int.random(in: 0..<3, using: &rng) == 0 { return container(depth: depth + 1) }
        return scalar()
    }

    mutating func container(depth: Int) -> JSONModel {
        let count = Int.random(in: 0...(Int.random(in: 0..<8, using: &rng) == 0 ? 20 : 5), using: &rng)
        if Bool.random(using: &rng) {
            return .array((0..<count).map { _ in value(depth: depth) })
        }
        var seen = Set<String>()
        var members: [(key: String, value: JSONModel)] = []
        for _ in 0..<count {
            let key = string()
            guard seen.insert(key).inserted else { continue }  // keys are unique (as Swift compares them)
            members.append((key, value(depth: depth)))
        }
        return .object(members)
    }

    mutating func scalar() -> JSONModel {
        switch Int.random(in: 0..<10, using: &rng) {
        case 0: return .null
        case 1: return .bool(Bool.random(using: &rng))
        case 2, 3: return .int(integer())
        case 4, 5: return .double(double())
        default: return .string(string())
        }
    }

    mutating func integer() -> Int64 {
        switch Int.random(in: 0..<6, using: &rng) {
        case 0: return [Int64.min, .max, 0, -1, 1 << 53, (1 << 53) + 1].randomElement(using: &rng)!
        case 1, 2: return Int64.random(in: -1000...1000, using: &rng)
        default: return Int64(bitPattern: rng.next()) >> UInt64.random(in: 0..<63, using: &rng)
        }
    }

    mutating func double() -> Double {
        switch Int.random(in: 0..<5, using: &rng) {
        case 0:
            return [0.0, -0.0, 0.1, 1e22, 1e23, .leastNonzeroMagnitude, .leastNormalMagnitude,
                    .greatestFiniteMagnitude, -.greatestFiniteMagnitude, 0.1 + 0.2, .pi].randomElement(using: &rng)!
        case 1, 2:
            let mantissa = Double(Int.random(in: -1_000_000...1_000_000, using: &rng))
            return mantissa / Double(sign: .plus, exponent: 0, significand: 1) / pow10(Int.random(in: 0...8, using: &rng))
        default:
            while true {
                let value = Double(bitPattern: rng.next())
                if value.isFinite { return value }
            }
        }
    }

    private func pow10(_ exponent: Int) -> Double {
        (0..<exponent).reduce(1.0) { value, _ in value * 10 }
    }

    mutating func string() -> String {
        var scalars = String.UnicodeScalarView()
        for _ in 0..<Int.random(in: 0...(Bool.random(using: &rng) ? 4 : 24), using: &rng) {
            scalars.append(scalar())
        }
        return String(scalars)
    }

    private mutating func scalar() -> Unicode.Scalar {
        let value: UInt32
        switch Int.random(in: 0..<20, using: &rng) {
        case 0: value = UInt32.random(in: 0..<0x20, using: &rng)  // control characters
        case 1: value = [0x22, 0x5C, 0x2F, 0x7F, 0x2028, 0x2029, 0xFEFF, 0xFFFF, 0x301].randomElement(using: &rng)!
        case 2, 3: value = UInt32.random(in: 0x80..<0x800, using: &rng)
        case 4, 5:
            let candidate = UInt32.random(in: 0x800...0xFFFF, using: &rng)
            value = (0xD800...0xDFFF).contains(candidate) ? 0xE000 : candidate
        case 6, 7: value = UInt32.random(in: 0x1_0000...0x10_FFFF, using: &rng)  // astral: surrogate pairs when escaped
        default: value = UInt32.random(in: 0x20..<0x7F, using: &rng)
        }
        return Unicode.Scalar(value)!
    }
}

extension JSONModel {
    /// Written with JSONWriter.
    func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case .bool(let value): writer.bool(value)
        case .int(let value): writer.int(value)
        case .double(let value): writer.double(value)
        case .string(let value): writer.string(value)
        case .array(let elements):
            writer.beginArray()
            for element in elements { element.write(to: &writer) }
            writer.endArray()
        case .object(let members):
            writer.beginObject()
            for (key, value) in members {
                writer.key(key)
                value.write(to: &writer)
            }
            writer.endObject()
        }
    }

    var writtenBytes: [UInt8] {
        var writer = JSONWriter()
        write(to: &writer)
        return writer.bytes
    }

    /// Written by the test itself, not by JSONWriter, in every spelling RFC 8259 allows:
    /// whitespace between tokens, `\u` escapes (surrogate pairs past the BMP) in either case,
    /// `\/`, integers as `1e2`, `100.0` or `1000e-1`, upper-case exponents.
    func spelled(using rng: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        spell(into: &out, rng: &rng)
        return out
    }

    private func spell(into out: inout [UInt8], rng: inout SplitMix64) {
        func space() {
            if Int.random(in: 0..<3, using: &rng) == 0 {
                out += Array([" ", "\n", "\t", "\r\n", "  ", " \t\r\n "].randomElement(using: &rng)!.utf8)
            }
        }
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value):
            switch Int.random(in: 0..<5, using: &rng) {
            case 0 where value % 100 == 0 && value != 0: out += Array("\(value / 100)e\(Bool.random(using: &rng) ? "+" : "")2".utf8)
            case 1: out += Array("\(value).0".utf8)
            case 2 where value != 0 && value.magnitude < 1 << 60: out += Array("\(value)0E-1".utf8)
            default: out += Array("\(value)".utf8)
            }
        case .double(let value):
            var text = value.description
            if Bool.random(using: &rng) { text = text.uppercased() }
            out += Array(text.utf8)
        case .string(let value):
            spellString(value, into: &out, rng: &rng)
        case .array(let elements):
            out.append(UInt8(ascii: "["))
            space()
            for (index, element) in elements.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")); space() }
                element.spell(into: &out, rng: &rng)
                space()
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            space()
            for (index, member) in members.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")); space() }
                spellString(member.key, into: &out, rng: &rng)
                space()
                out.append(UInt8(ascii: ":"))
                space()
                member.value.spell(into: &out, rng: &rng)
                space()
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private func spellString(_ string: String, into out: inout [UInt8], rng: inout SplitMix64) {
        func hex(_ unit: UInt16) {
            let text = String(unit, radix: 16)
            let padded = String(repeating: "0", count: 4 - text.count) + text
            out += Array(("\\u" + (Bool.random(using: &rng) ? padded : padded.uppercased())).utf8)
        }
        out.append(UInt8(ascii: "\""))
        for scalar in string.unicodeScalars {
            let mustEscape = scalar.value < 0x20 || scalar == "\"" || scalar == "\\"
            let style = Int.random(in: 0..<4, using: &rng)
            if style == 0 || mustEscape && style == 1 {
                for unit in String(scalar).utf16 { hex(unit) }
                continue
            }
            switch scalar {
            case "\"": out += Array(#"\""#.utf8)
            case "\\": out += Array(#"\\"#.utf8)
            case "/" where style == 2: out += Array(#"\/"#.utf8)
            case "\u{8}": out += Array(#"\b"#.utf8)
            case "\u{C}": out += Array(#"\f"#.utf8)
            case "\n": out += Array(#"\n"#.utf8)
            case "\r": out += Array(#"\r"#.utf8)
            case "\t": out += Array(#"\t"#.utf8)
            case _ where scalar.value < 0x20: for unit in String(scalar).utf16 { hex(unit) }
            default: out += Array(String(scalar).utf8)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}

/// Asserts that a parsed value is the model: same kinds and structure, strings equal scalar
/// for scalar, integers exact, Doubles bit for bit.
func assertMatches(_ value: JSONValue, _ model: JSONModel, path: String = "$", file: StaticString = #filePath, line: UInt = #line) {
    switch model {
    case .null:
        XCTAssertTrue(value.isNull, "\(path): expected null, got \(value)", file: file, line: line)
    case .bool(let expected):
        XCTAssertEqual(value.bool, expected, path, file: file, line: line)
    case .int(let expected):
        XCTAssertEqual(value.int64, expected, path, file: file, line: line)
        XCTAssertEqual(value.double, Double(expected), path, file: file, line: line)
    case .double(let expected):
        XCTAssertEqual(value.double?.bitPattern, expected.bitPattern, "\(path): \(value) vs \(expected)", file: file, line: line)
    case .string(let expected):
        XCTAssertEqual(value.string.map { Array($0.unicodeScalars) }, Array(expected.unicodeScalars), path, file: file, line: line)
    case .array(let expected):
        guard let elements = value.array, elements.count == expected.count else {
            XCTFail("\(path): expected an array of \(expected.count), got \(value)", file: file, line: line)
            return
        }
        for (index, (element, model)) in zip(elements, expected).enumerated() {
            assertMatches(element, model, path: "\(path)[\(index)]", file: file, line: line)
        }
    case .object(let expected):
        guard let members = value.object, members.count == expected.count else {
            XCTFail("\(path): expected an object of \(expected.count), got \(value)", file: file, line: line)
            return
        }
        for (member, model) in zip(members, expected) {
            XCTAssertEqual(Array(member.key.unicodeScalars), Array(model.key.unicodeScalars), path, file: file, line: line)
            assertMatches(member.value, model.value, path: "\(path).\(model.key.debugDescription)", file: file, line: line)
        }
    }
}
