/// A parsed number: the nearest Double for arithmetic, and the exact integer when there is one,
/// because identifiers and counters above 2^53 must not be rounded on their way through.
struct JSONNumber: Sendable {
    var double: Double
    /// Set when the literal is an integer within Int64's range.
    var int64: Int64?
    /// Whether the literal is mathematically an integer, whatever its size.
    var isInteger: Bool
}
