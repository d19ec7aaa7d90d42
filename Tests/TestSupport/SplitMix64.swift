/// SplitMix64 (Steele, Lea and Flood, 2014): tiny and seedable, so a failing random case can be
/// reproduced exactly by running the test again.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension RandomNumberGenerator {
    public mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8.random(in: 0...255, using: &self) }
    }
}

extension RandomNumberGenerator {
    /// Valid UTF-8 of exactly `byteCount` bytes, mixing ASCII with 2-, 3- and 4-byte sequences
    /// (surrogates excluded, U+10FFFF included).
    public mutating func utf8(byteCount: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(byteCount)
        while out.count < byteCount {
            let room = byteCount - out.count
            var width: Int
            switch Int.random(in: 0..<8, using: &self) {
            case 0...3: width = 1
            case 4: width = 2
            case 5: width = 3
            default: width = 4
            }
            width = min(width, room)
            let value: UInt32
            switch width {
            case 1: value = UInt32.random(in: 0...0x7F, using: &self)
            case 2: value = UInt32.random(in: 0x80...0x7FF, using: &self)
            case 3:
                let candidate = UInt32.random(in: 0x800...0xFFFF, using: &self)
                value = (0xD800...0xDFFF).contains(candidate) ? 0xFFFF : candidate
            default: value = UInt32.random(in: 0x1_0000...0x10_FFFF, using: &self)
            }
            UTF8.encode(Unicode.Scalar(value)!) { out.append($0) }
        }
        return out
    }
}
