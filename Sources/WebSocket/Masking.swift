/// XOR masking of payloads (RFC 6455 §5.3), eight bytes at a time.
///
/// A masking key is kept as a `UInt32` whose least significant byte is the key's first byte on
/// the wire (a little-endian load of the four key bytes).
public enum Masking {
    /// Applies `key` to `bytes`, starting at position `phase` (0...3) of the key. Returns the
    /// phase for the byte that follows, so a payload that arrives in pieces can be unmasked
    /// piece by piece.
    @inlinable
    @discardableResult
    public static func apply(key: UInt32, phase: Int, to bytes: UnsafeMutableRawBufferPointer) -> Int {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return phase }
        let count = bytes.count
        let shift = UInt32((phase & 3) * 8)
        // Rotate so that the low byte is the key byte for the first byte of `bytes`.
        var rotated = shift == 0 ? key : (key >> shift) | (key << (32 - shift))
        var index = 0
        if count >= 8 {
            let wide = UInt64(rotated) | UInt64(rotated) << 32
            while index + 8 <= count {
                let word = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: index, as: UInt64.self))
                base.storeBytes(of: (word ^ wide).littleEndian, toByteOffset: index, as: UInt64.self)
                index += 8
            }
        }
        while index < count {
            let byte = base.load(fromByteOffset: index, as: UInt8.self)
            base.storeBytes(of: byte ^ UInt8(truncatingIfNeeded: rotated), toByteOffset: index, as: UInt8.self)
            rotated = (rotated >> 8) | (rotated << 24)
            index += 1
        }
        return (phase + count) & 3
    }

    /// The key as `apply` expects it, from its four bytes in wire order.
    @inlinable
    public static func key(_ b0: UInt8, _ b1: UInt8, _ b2: UInt8, _ b3: UInt8) -> UInt32 {
        UInt32(b0) | UInt32(b1) << 8 | UInt32(b2) << 16 | UInt32(b3) << 24
    }
}
