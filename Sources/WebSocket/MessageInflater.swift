import Buffers
import CZlib

/// What became of one compressed message.
public enum InflateOutcome: Sendable, Equatable {
    /// The output holds the whole message.
    case complete
    /// The message inflates to more than the limit (close with 1009). The output holds at most
    /// `limit` bytes of it; the rest was never produced.
    case tooBig
    /// The payload is not valid DEFLATE data, or does not end where a message must (close the
    /// connection, RFC 7692 §8: 1007).
    case corrupt(String)
}

/// Decompresses the messages of one connection for permessage-deflate (RFC 7692 §7.2.2): raw
/// DEFLATE with 00 00 ff ff appended to each payload, under a size limit that is enforced while
/// inflating, so that a few kilobytes that expand to gigabytes (a zip bomb) cost no more than the
/// limit.
///
/// With context takeover the peer's messages form one DEFLATE stream and must all pass through
/// the same inflater in order.
public final class MessageInflater {
    public let windowBits: Int
    /// zlib's stream lives at a fixed address: zlib keeps a pointer back to it and checks it.
    private let stream: UnsafeMutablePointer<z_stream>
    /// How much the output grows at a time while inflating.
    private static let chunk = 32 * 1024
    /// §7.2.2: the LEN and NLEN of the empty stored block the sender's flush ended with.
    private static let tail: [UInt8] = [0x00, 0x00, 0xFF, 0xFF]

    /// nil when zlib cannot allocate its state. `windowBits` 8...15: use at least 9 for peers that
    /// negotiated 8, since zlib-based senders compress with 9 then (`DeflateAgreement` does).
    public init?(windowBits: Int) {
        precondition((8...15).contains(windowBits), "windowBits \(windowBits) not in 8...15")
        self.windowBits = windowBits
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        guard inflateInit2_(stream, -Int32(windowBits), zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    /// Forgets the previous messages: for client_no_context_takeover, after each message.
    public func reset() {
        inflateReset(stream)
    }

    /// Appends the message whose compressed payload is `payload` to `output`, unless it would
    /// exceed `limit` bytes. `resetAfter` resets the stream once the message is complete (same as
    /// `reset()`). After `.tooBig` or `.corrupt` the stream has been reset: the connection is to be
    /// failed, as the peer's context is lost.
    public func inflate(_ payload: UnsafeRawBufferPointer, into output: ByteBuffer, limit: Int,
                        resetAfter: Bool = false) -> InflateOutcome {
        precondition(payload.count <= Int(UInt32.max) && limit >= 0)
        // An empty payload holds no block: the message is empty and the stream is where it was.
        // (§7.2.3.6 says to send 0x00, but a flush right after a flush gives zlib senders nothing.)
        guard payload.count > 0 else {
            if resetAfter { reset() }
            return .complete
        }
        var produced = 0
        var step = feed(payload, into: output, limit: limit, produced: &produced)
        if step == .consumed {
            step = Self.tail.withUnsafeBytes { feed($0, into: output, limit: limit, produced: &produced) }
            // inflate() sets bit 128 of data_type when it stopped at the start of a block: a message
            // that ends anywhere else was cut short, and the next one would be read from inside it.
            if step == .consumed, stream.pointee.data_type & 128 == 0 {
                step = .failed(.corrupt("the message does not end on a DEFLATE block boundary"))
            }
        }
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch step {
        case .consumed:
            if resetAfter { reset() }
            return .complete
        case .finalBlock:
            // §7.2.3.4: the sender ended the message with a final block. zlib's stream is over, so
            // start a new one; what follows the final block (the tail) is not read. A sender that
            // keeps its context goes on from the same window, so carry it over unless resetting.
            if resetAfter { reset() } else { restartKeepingWindow() }
            return .complete
        case .failed(let outcome):
            reset()
            return outcome
        }
    }

    private enum Step: Equatable {
        /// All of the input was read and all of its output written.
        case consumed
        /// A block with BFINAL set ended the DEFLATE stream.
        case finalBlock
        case failed(InflateOutcome)
    }

    private func feed(_ input: UnsafeRawBufferPointer, into output: ByteBuffer, limit: Int, produced: inout Int) -> Step {
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress!.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        while true {
            let allowance = limit - produced
            let status: Int32
            if allowance > 0 {
                output.reserveWritable(min(allowance, Self.chunk))
                let space = output.writableSpace
                let room = min(space.count, allowance, Int(UInt32.max))
                stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: UInt8.self)
                stream.pointee.avail_out = UInt32(room)
                status = CZlib.inflate(stream, Z_NO_FLUSH)
                let written = room - Int(stream.pointee.avail_out)
                output.commitWritten(written)
                produced += written
            } else {
                // At the limit: one more byte of output, into a byte of our own, means too big.
                // Input that yields no output (block headers, the empty block of the tail) goes on.
                var probe: UInt8 = 0
                status = withUnsafeMutablePointer(to: &probe) { probe in
                    stream.pointee.next_out = probe
                    stream.pointee.avail_out = 1
                    return CZlib.inflate(stream, Z_NO_FLUSH)
                }
                stream.pointee.next_out = nil
                if stream.pointee.avail_out == 0 { return .failed(.tooBig) }
            }
            switch status {
            case Z_STREAM_END:
                return .finalBlock
            case Z_OK, Z_BUF_ERROR:
                // Z_BUF_ERROR means no progress was possible: fine once the input is used up and
                // there was room for output, which is also when Z_OK means done.
                if stream.pointee.avail_in == 0, stream.pointee.avail_out > 0 { return .consumed }
                if status == Z_BUF_ERROR, stream.pointee.avail_out > 0 {
                    return .failed(.corrupt("inflate made no progress"))
                }
            case Z_DATA_ERROR:
                let reason = stream.pointee.msg.map { String(cString: $0) } ?? "invalid DEFLATE data"
                return .failed(.corrupt(reason))
            case Z_MEM_ERROR:
                return .failed(.corrupt("out of memory for the inflate window"))
            default:
                return .failed(.corrupt("inflate failed: \(status)"))
            }
        }
    }

    /// Starts a new DEFLATE stream whose history is the old one's window, as a sender would that
    /// ends a message with a final block and keeps its context with deflateSetDictionary.
    private func restartKeepingWindow() {
        var window = [UInt8](repeating: 0, count: 1 << windowBits)
        var length: UInt32 = 0
        let got = window.withUnsafeMutableBufferPointer { inflateGetDictionary(stream, $0.baseAddress, &length) }
        inflateReset(stream)
        if got == Z_OK, length > 0 {
            window.withUnsafeBufferPointer { _ = inflateSetDictionary(stream, $0.baseAddress, length) }
        }
    }

    /// Bytes one inflater holds, by zlib's documented formula (zconf.h): the window, allocated on
    /// first use, and about 7 KiB of state and decoding tables.
    public static func memoryCost(windowBits: Int) -> Int {
        (1 << windowBits) + 7 * 1024
    }
}
