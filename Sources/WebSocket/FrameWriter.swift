/// Encodes frame headers (RFC 6455 §5.2). Payloads are written by the caller right after the
/// header, so a frame to many connections is encoded once.
public enum FrameWriter {
    public static let maxHeaderSize = 14

    @inlinable
    public static func headerSize(payloadLength: Int, masked: Bool) -> Int {
        (payloadLength < 126 ? 2 : payloadLength <= 0xFFFF ? 4 : 10) + (masked ? 4 : 0)
    }

    /// Writes a header at `target` (which must have `maxHeaderSize` bytes) and returns its size.
    @inlinable
    @discardableResult
    public static func writeHeader(into target: UnsafeMutableRawPointer, opcode: Opcode, fin: Bool = true,
                                   rsv1: Bool = false, payloadLength: Int, maskKey: UInt32? = nil) -> Int {
        target.storeBytes(of: (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode.rawValue, as: UInt8.self)
        let maskBit: UInt8 = maskKey == nil ? 0 : 0x80
        var size: Int
        if payloadLength < 126 {
            target.storeBytes(of: maskBit | UInt8(payloadLength), toByteOffset: 1, as: UInt8.self)
            size = 2
        } else if payloadLength <= 0xFFFF {
            target.storeBytes(of: maskBit | 126, toByteOffset: 1, as: UInt8.self)
            target.storeBytes(of: UInt16(payloadLength).bigEndian, toByteOffset: 2, as: UInt16.self)
            size = 4
        } else {
            target.storeBytes(of: maskBit | 127, toByteOffset: 1, as: UInt8.self)
            target.storeBytes(of: UInt64(payloadLength).bigEndian, toByteOffset: 2, as: UInt64.self)
            size = 10
        }
        if let maskKey {
            target.storeBytes(of: maskKey.littleEndian, toByteOffset: size, as: UInt32.self)
            size += 4
        }
        return size
    }

    /// The opcode and payload of a whole unmasked, unfragmented frame without reserved bits, as
    /// `writeHeader` makes them (nil for anything else): for compressing a frame that was encoded
    /// once for many connections.
    public static func parseUnmasked(_ frame: UnsafeRawBufferPointer) -> (Opcode, UnsafeRawBufferPointer)? {
        guard frame.count >= 2, frame[0] & 0xF0 == 0x80, frame[1] & 0x80 == 0,
              let opcode = Opcode(rawValue: frame[0] & 0x0F) else { return nil }
        let length7 = Int(frame[1] & 0x7F)
        let headerSize = length7 < 126 ? 2 : length7 == 126 ? 4 : 10
        guard frame.count >= headerSize else { return nil }
        var length = length7
        if length7 == 126 {
            length = Int(frame[2]) << 8 | Int(frame[3])
        } else if length7 == 127 {
            length = (2..<10).reduce(0) { $0 << 8 | Int(frame[$1]) }
        }
        guard frame.count == headerSize + length else { return nil }
        return (opcode, UnsafeRawBufferPointer(rebasing: frame[headerSize...]))
    }

    /// A whole frame as an array: for control frames, tests and clients; the hot paths write
    /// headers in place instead.
    public static func frame(_ opcode: Opcode, payload: [UInt8], fin: Bool = true, rsv1: Bool = false,
                             maskKey: UInt32? = nil) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: maxHeaderSize + payload.count)
        let headerLength = out.withUnsafeMutableBytes {
            writeHeader(into: $0.baseAddress!, opcode: opcode, fin: fin, rsv1: rsv1, payloadLength: payload.count, maskKey: maskKey)
        }
        out.replaceSubrange(headerLength..., with: payload)
        if let maskKey {
            _ = out.withUnsafeMutableBytes { Masking.apply(key: maskKey, phase: 0, to: UnsafeMutableRawBufferPointer(rebasing: $0[headerLength...])) }
        }
        return out
    }

    /// The payload of a close frame: the code in network order, then the UTF-8 reason, cut to
    /// fit the 125 bytes of a control frame on a character boundary.
    public static func closePayload(_ code: CloseCode, reason: String = "") -> [UInt8] {
        var payload = [UInt8(code.rawValue >> 8), UInt8(code.rawValue & 0xFF)]
        var reasonBytes = Array(reason.utf8)
        if reasonBytes.count > 123 {
            var end = 123
            while end > 0, reasonBytes[end] & 0xC0 == 0x80 { end -= 1 }
            reasonBytes = Array(reasonBytes[..<end])
        }
        payload += reasonBytes
        return payload
    }
}
