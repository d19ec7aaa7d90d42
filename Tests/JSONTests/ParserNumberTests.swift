import JSON
import TestSupport
import XCTest

/// Numbers: the Double is the correctly rounded one, `int64` is exact or nil, and magnitudes
/// beyond Double are refused (see JSONError.Reason.numberOutOfRange).
final class ParserNumberTests: XCTestCase {
    private func number(_ text: String, file: StaticString = #filePath, line: UInt = #line) throws -> JSONValue {
        let value = try parse(text)
        XCTAssertEqual(value.kind, .number, file: file, line: line)
        return value
    }

    func testSmallIntegers() throws {
        for (text, expected) in [("0", 0), ("1", 1), ("-1", -1), ("42", 42), ("-907", -907), ("123456789", 123_456_789)] as [(String, Int64)] {
            let value = try number(text)
            XCTAssertEqual(value.int64, expected, text)
            XCTAssertEqual(value.double, Double(expected), text)
            XCTAssertTrue(value.isInteger, text)
        }
    }

    func testNegativeZero() throws {
        let value = try number("-0")
        XCTAssertEqual(value.int64, 0)
        XCTAssertEqual(value.double?.sign, .minus)
        XCTAssertEqual(value.double, 0)
        XCTAssertEqual(try number("-0.0").double?.sign, .minus)
        XCTAssertEqual(try number("-0e5").double?.sign, .minus)
        XCTAssertEqual(try number("0").double?.sign, .plus)
    }

    func testInt64Bounds() throws {
        XCTAssertEqual(try number("9223372036854775807").int64, .max)
        XCTAssertEqual(try number("-9223372036854775808").int64, .min)
        // 2^63 and beyond: still integers, but not Int64s.
        for text in ["9223372036854775808", "-9223372036854775809", "18446744073709551616", "123456789012345678901234567890"] {
            let value = try number(text)
            XCTAssertNil(value.int64, text)
            XCTAssertTrue(value.isInteger, text)
            XCTAssertEqual(value.double, Double(text), text)
        }
        XCTAssertEqual(try number("9223372036854775808").double, 9_223_372_036_854_775_808.0)
    }

    /// Integers above 2^53 keep every digit in `int64`, while `double` is the nearest Double.
    func testInt64IsExactWhereDoubleIsNot() throws {
        let value = try number("9007199254740993")
        XCTAssertEqual(value.int64, 9_007_199_254_740_993)
        XCTAssertEqual(value.double, 9_007_199_254_740_992)
        XCTAssertEqual(try number("-9223372036854775807").int64, -9_223_372_036_854_775_807)
        XCTAssertEqual(try number("1234567890123456789").int64, 1_234_567_890_123_456_789)
    }

    /// `int64` is set for every spelling of an integer, and only for integers.
    func testInt64FromFractionsAndExponents() throws {
        let integers: [(String, Int64)] = [
            ("1e2", 100), ("1E2", 100), ("1e+2", 100), ("100e-2", 1), ("1.0", 1), ("1.50e1", 15), ("0.5e1", 5),
            ("123.456e3", 123_456), ("0e10", 0), ("0.000e-5", 0), ("-0.0", 0), ("1e18", 1_000_000_000_000_000_000),
            ("9.223372036854775807e18", .max), ("-9.223372036854775808e18", .min),
            ("92233720368547758070e-1", .max), ("10000000000000000000000000000e-28", 1),
            ("1.0000000000000000000000000000", 1), ("0.0001e4", 1), ("-2.5e1", -25), ("7e0", 7),
        ]
        for (text, expected) in integers {
            let value = try number(text)
            XCTAssertEqual(value.int64, expected, text)
            XCTAssertTrue(value.isInteger, text)
        }
        let fractions = ["1.5", "1e-2", "123.4567e3", "0.1", "-0.5", "1.000000000000000000000000001", "12345678901234567890123e-3", "5e-1"]
        for text in fractions {
            let value = try number(text)
            XCTAssertNil(value.int64, text)
            XCTAssertFalse(value.isInteger, text)
        }
        // Integers too large for Int64, whatever the spelling.
        for text in ["1e19", "9.223372036854775808e18", "1e30", "-1e300", "100000000000000000000e-1"] {
            let value = try number(text)
            XCTAssertNil(value.int64, text)
            XCTAssertTrue(value.isInteger, text)
        }
    }

    func testDoubleExtremes() throws {
        XCTAssertEqual(try number("1e308").double, 1e308)
        XCTAssertEqual(try number("1.7976931348623157e308").double, .greatestFiniteMagnitude)
        XCTAssertEqual(try number("-1.7976931348623157e308").double, -.greatestFiniteMagnitude)
        XCTAssertEqual(try number("2.2250738585072014e-308").double, .leastNormalMagnitude)
        XCTAssertEqual(try number("4.9e-324").double, .leastNonzeroMagnitude)
        XCTAssertEqual(try number("5e-324").double, .leastNonzeroMagnitude)
        // Too small for a Double: rounds to zero, keeping the sign.
        XCTAssertEqual(try number("1e-400").double, 0)
        XCTAssertEqual(try number("-1e-400").double?.sign, .minus)
        XCTAssertFalse(try number("1e-400").isInteger)
        XCTAssertEqual(try number("0.0000000000000000000000000000001e-999999999999").double, 0)
    }

    func testCorrectRounding() throws {
        XCTAssertEqual(try number("0.1").double, 0.1)
        XCTAssertEqual(try number("0.3").double, 0.3)
        XCTAssertEqual(try number("3.141592653589793").double, .pi)
        XCTAssertEqual(try number("1e22").double, 1e22)
        XCTAssertEqual(try number("1e23").double, 1e23)
        XCTAssertEqual(try number("123456789e30").double, 123456789e30)
        XCTAssertEqual(try number("8.98846567431158e307").double, 8.98846567431158e307)
        XCTAssertEqual(try number("2.5e-3").double, 0.0025)
        // Exactly halfway between 1 and the next Double: ties to even. Just above: rounds up.
        XCTAssertEqual(try number("1.00000000000000011102230246251565404236316680908203125").double, 1.0)
        XCTAssertEqual(try number("1.00000000000000011102230246251565404236316680908203126").double, 1.0000000000000002)
        XCTAssertEqual(try number("2.2250738585072011e-308").double, 2.2250738585072011e-308)
        XCTAssertEqual(try number("100000000000000000000000000000000000000000001e-44").double, 1.0)
    }

    /// The fast conversion and the standard library's parser agree on random decimals.
    func testRandomDecimalsMatchTheStandardLibrary() throws {
        var rng = SplitMix64(seed: 0x4E55_4D42)
        for _ in 0..<20_000 {
            let digits = Int.random(in: 1...22, using: &rng)
            var text = Bool.random(using: &rng) ? "-" : ""
            let first = Int.random(in: 0...9, using: &rng)
            text += String(first)
            if first != 0 {
                for _ in 1..<digits { text += String(Int.random(in: 0...9, using: &rng)) }
            }
            if Bool.random(using: &rng) {
                text += "."
                for _ in 0..<Int.random(in: 1...12, using: &rng) { text += String(Int.random(in: 0...9, using: &rng)) }
            }
            if Bool.random(using: &rng) {
                text += ["e", "E", "e+", "e-", "E-"].randomElement(using: &rng)! + String(Int.random(in: 0...330, using: &rng))
            }
            guard let expected = Double(text), expected.isFinite else {
                assertRejects(text, .numberOutOfRange, at: 0)
                continue
            }
            let value = try number(text)
            XCTAssertEqual(value.double?.bitPattern, expected.bitPattern, text)
        }
    }

    func testRangeCoversTheWholeLiteral() throws {
        let text = " [ -12.5e+3 , 0 ] "
        let value = try parse(text)
        let bytes = Array(text.utf8)
        XCTAssertEqual(value[0].map { String(decoding: bytes[$0.range], as: UTF8.self) }, "-12.5e+3")
        XCTAssertEqual(value[1].map { String(decoding: bytes[$0.range], as: UTF8.self) }, "0")
    }
}
