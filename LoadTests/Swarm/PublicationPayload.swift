import Glibc
import JSON

/// What a fan-out publication carries: its send time (CLOCK_MONOTONIC ns, shared by every
/// process on the machine) and its sequence. JSON `{"t":T,"seq":S}` through the gateway; for a
/// raw broadcast server, a binary message of two little-endian 64-bit numbers padded to size.
enum PublicationPayload {
    static let minimumRawSize = 16

    static func writeJSON(into writer: inout JSONWriter, sentAt: UInt64, sequence: UInt64) {
        writer.beginObject()
        writer.key("t"); writer.int(Int64(sentAt))
        writer.key("seq"); writer.int(Int64(sequence))
        writer.endObject()
    }

    static func writeRaw(into buffer: UnsafeMutableRawBufferPointer, sentAt: UInt64, sequence: UInt64) {
        buffer.storeBytes(of: sentAt.littleEndian, toByteOffset: 0, as: UInt64.self)
        buffer.storeBytes(of: sequence.littleEndian, toByteOffset: 8, as: UInt64.self)
        if buffer.count > minimumRawSize { memset(buffer.baseAddress! + minimumRawSize, 0x78, buffer.count - minimumRawSize) }
    }

    static func scanRaw(_ payload: UnsafeRawBufferPointer) -> ReceivedPublication? {
        guard payload.count >= minimumRawSize else { return nil }
        return ReceivedPublication(sentAt: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 0, as: UInt64.self)),
                                   sequence: UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
    }
}
