/// Redis Cluster's key → slot mapping: CRC16 (XMODEM) of the key, or of its hash tag (the part
/// between the first `{` and the next `}`, when not empty), modulo 16384.
public enum HashSlot {
    public static let count = 16384

    public static func of(_ key: String) -> Int {
        var utf8 = Array(key.utf8)[...]
        if let open = utf8.firstIndex(of: UInt8(ascii: "{")),
           let close = utf8[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1 {
            utf8 = utf8[(open + 1)..<close]
        }
        return Int(crc16(utf8) & 0x3FFF)
    }

    private static let table: [UInt16] = (0..<256).map { byte in
        var crc = UInt16(byte) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }

    static func crc16(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes { crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)] }
        return crc
    }
}
