/// Numbers: RFC 8259 §6 grammar, `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`,
/// converted without losing what the text says: the Double is correctly rounded, and an integer
/// that fits Int64 is kept exactly.
extension Parser {
    /// Decimal significant digits kept exactly: 19 always fit a UInt64.
    private static let maxMantissaDigits = 19
    /// An exponent past this is no different from infinity for a Double, and clamping it keeps
    /// the arithmetic below from overflowing on `1e99999999999999999999`.
    private static let exponentClamp = 100_000_000
    /// Powers of ten that are exact Doubles (10^22 is the largest), for the fast conversion.
    private static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// Parses the number starting at `index` (a `-` or a digit), leaving `index` after it.
    mutating func parseNumber() throws(JSONError) -> JSONValue {
        let start = index
        var position = index
        let negative = base[position] == UInt8(ascii: "-")
        if negative { position += 1 }

        // The value is mantissa × 10^exponent, plus digits past the 19th, which only matter for
        // whether the number is exact (`truncated` records a nonzero one).
        var mantissa: UInt64 = 0
        var mantissaDigits = 0
        var exponent = 0
        var truncated = false
        // Where the last nonzero digit sits, to tell whether the number is an integer: zeros
        // after the integer part's last nonzero digit, or the position of the last nonzero
        // fraction digit.
        var integerNonZero = false
        var integerTrailingZeros = 0
        var lastNonZeroFractionDigit = 0

        guard position < count, let first = digit(at: position) else { throw JSONError(.invalidNumber, at: position) }
        if first == 0 {
            position += 1
            if position < count, digit(at: position) != nil { throw JSONError(.leadingZero, at: position - 1) }
        } else {
            while position < count, let value = digit(at: position) {
                if mantissaDigits < Parser.maxMantissaDigits {
                    mantissa = mantissa &* 10 &+ UInt64(value)
                    mantissaDigits += 1
                } else {
                    exponent += 1
                    if value != 0 { truncated = true }
                }
                if value != 0 {
                    integerNonZero = true
                    integerTrailingZeros = 0
                } else {
                    integerTrailingZeros += 1
                }
                position += 1
            }
        }

        if position < count && base[position] == UInt8(ascii: ".") {
            position += 1
            guard position < count, digit(at: position) != nil else { throw JSONError(.invalidNumber, at: position) }
            var fractionDigits = 0
            while position < count, let value = digit(at: position) {
                fractionDigits += 1
                if value != 0 { lastNonZeroFractionDigit = fractionDigits }
                if mantissa == 0 && value == 0 {
                    exponent -= 1  // a leading zero of the fraction: only scales
                } else if mantissaDigits < Parser.maxMantissaDigits {
                    mantissa = mantissa &* 10 &+ UInt64(value)
                    mantissaDigits += 1
                    exponent -= 1
                } else if value != 0 {
                    truncated = true
                }
                position += 1
            }
        }

        var explicitExponent = 0
        if position < count && base[position] | 0x20 == UInt8(ascii: "e") {
            position += 1
            var exponentNegative = false
            if position < count && (base[position] == UInt8(ascii: "+") || base[position] == UInt8(ascii: "-")) {
                exponentNegative = base[position] == UInt8(ascii: "-")
                position += 1
            }
            guard position < count, digit(at: position) != nil else { throw JSONError(.invalidNumber, at: position) }
            while position < count, let value = digit(at: position) {
                if explicitExponent < Parser.exponentClamp { explicitExponent = explicitExponent * 10 + Int(value) }
                position += 1
            }
            if exponentNegative { explicitExponent = -explicitExponent }
            exponent += explicitExponent
        }
        index = position

        let isZero = mantissa == 0
        let lowestNonZeroPower = lastNonZeroFractionDigit > 0 ? -lastNonZeroFractionDigit
            : integerNonZero ? integerTrailingZeros : 0
        let isInteger = isZero || lowestNonZeroPower + explicitExponent >= 0

        let number = JSONNumber(
            double: try double(mantissa: mantissa, exponent: exponent, exact: !truncated, negative: negative, literal: start..<position),
            int64: isInteger && !truncated ? exactInteger(mantissa: mantissa, exponent: exponent, negative: negative) : nil,
            isInteger: isInteger
        )
        return JSONValue(range: start..<position, storage: .number(number))
    }

    @inline(__always)
    private func digit(at position: Int) -> UInt8? {
        let value = base[position] &- UInt8(ascii: "0")
        return value < 10 ? value : nil
    }

    /// mantissa × 10^exponent as an Int64, for a value known to be an integer whose digits all
    /// fit in the mantissa; nil when it does not fit.
    private func exactInteger(mantissa: UInt64, exponent: Int, negative: Bool) -> Int64? {
        guard mantissa != 0 else { return 0 }
        var mantissa = mantissa
        var exponent = exponent
        while exponent < 0 {  // `1.50e1`: the fraction's trailing zeros go first
            guard mantissa % 10 == 0 else { return nil }
            mantissa /= 10
            exponent += 1
        }
        guard exponent <= 18 else { return nil }  // 10^19 alone overflows
        var magnitude = mantissa
        for _ in 0..<exponent {
            let (product, overflow) = magnitude.multipliedReportingOverflow(by: 10)
            guard !overflow else { return nil }
            magnitude = product
        }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { return nil }
            return Int64(bitPattern: 0 &- magnitude)
        }
        guard magnitude <= UInt64(Int64.max) else { return nil }
        return Int64(magnitude)
    }

    /// The correctly rounded Double. When the mantissa is an exact Double (below 2^53) and the
    /// power of ten is too (up to 10^22), one multiplication or division rounds correctly
    /// (Clinger, 1990); other numbers, rare in messages, go to the standard library's parser.
    private func double(mantissa: UInt64, exponent: Int, exact: Bool, negative: Bool, literal: Range<Int>) throws(JSONError) -> Double {
        if mantissa == 0 { return negative ? -0.0 : 0.0 }
        var value: Double
        if exact && mantissa <= 1 << 53 && exponent >= -22 && exponent <= 22 {
            value = Double(mantissa)
            value = exponent < 0 ? value / Parser.exactPowersOfTen[-exponent] : value * Parser.exactPowersOfTen[exponent]
            if negative { value = -value }
        } else {
            // The literal matches Swift's own grammar for decimal floating point, sign included.
            let text = String(decoding: UnsafeBufferPointer(start: base + literal.lowerBound, count: literal.count), as: UTF8.self)
            guard let parsed = Double(text) else { throw JSONError(.invalidNumber, at: literal.lowerBound) }
            value = parsed
        }
        guard value.isFinite else { throw JSONError(.numberOutOfRange, at: literal.lowerBound) }
        return value
    }
}
