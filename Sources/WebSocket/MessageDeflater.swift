import Buffers
import CZlib

/// Compresses whole messages for permessage-deflate (RFC 7692 §7.2.1): raw DEFLATE, flushed to a
/// byte boundary at the end of each message, with the 00 00 ff ff of that flush removed.
///
/// It holds zlib's state and nothing else: the output goes to the caller's buffer (a per-loop
/// scratch), so an instance kept between messages costs only `memoryCost` bytes, and one that
/// resets after every message can be shared by all the connections of a loop.
public final class MessageDeflater {
    /// How zlib looks for matches.
    public enum Strategy: Sendable, Equatable {
        case standard
        /// Matches only against the byte just before (distance 1). For a client that asked for
        /// server_max_window_bits=8, which zlib cannot compress with: such output is valid for any
        /// window, at the price of finding only runs.
        case runLengthOnly
    }

    public let windowBits: Int
    public let strategy: Strategy
    /// zlib's stream lives at a fixed address: zlib keeps a pointer back to it and checks it.
    private let stream: UnsafeMutablePointer<z_stream>

    /// nil when zlib cannot allocate its state. `windowBits` 9...15, `memLevel` and `level` 1...9.
    public init?(windowBits: Int, memLevel: Int = 8, level: Int = 6, strategy: Strategy = .standard) {
        precondition((9...15).contains(windowBits), "zlib cannot deflate with windowBits \(windowBits)")
        precondition((1...9).contains(memLevel) && (1...9).contains(level))
        self.windowBits = windowBits
        self.strategy = strategy
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // A negative windowBits asks for raw DEFLATE: no zlib header or checksum (§7.2.1).
        let status = deflateInit2_(stream, Int32(level), Z_DEFLATED, -Int32(windowBits), Int32(memLevel),
                                   strategy == .runLengthOnly ? Z_RLE : Z_DEFAULT_STRATEGY,
                                   zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        guard status == Z_OK else {
            stream.deallocate()
            return nil
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
    }

    /// Appends the compressed payload of the message `input` to `output`. With `resetAfter` the
    /// next message is compressed without reference to this one (no context takeover); without
    /// it, the next one may refer back to it, and the peer must decompress them in order.
    ///
    /// `input` is at most 4 GiB - 1 bytes (zlib's counters are 32-bit; messages are far smaller).
    public func compress(_ input: UnsafeRawBufferPointer, into output: ByteBuffer, resetAfter: Bool) {
        precondition(input.count <= Int(UInt32.max))
        defer {
            if resetAfter { deflateReset(stream) }
        }
        guard let inputBase = input.baseAddress, input.count > 0 else {
            // §7.2.3.6: an empty message is a lone 0x00, the header of an empty stored block whose
            // LEN and NLEN are the removed tail. Left to zlib, a flush right after another flush
            // would produce nothing at all. The stream stays on a byte boundary either way.
            output.reserveWritable(1)
            output.writableSpace.storeBytes(of: 0, as: UInt8.self)
            output.commitWritten(1)
            return
        }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: inputBase.assumingMemoryBound(to: UInt8.self))
        stream.pointee.avail_in = UInt32(input.count)
        // The last four bytes produced so far are written but not committed, so that the flush's
        // 00 00 ff ff can be dropped without a way to un-commit; they sit at the writable space.
        var held = 0
        var room = Int(deflateBound(stream, UInt(input.count))) + 16
        repeat {
            reserveKeepingHeld(output, held: held, count: held + room)
            let space = output.writableSpace
            let available = min(space.count, Int(UInt32.max))
            stream.pointee.next_out = space.baseAddress!.assumingMemoryBound(to: UInt8.self) + held
            stream.pointee.avail_out = UInt32(available - held)
            let status = deflate(stream, Z_SYNC_FLUSH)
            // Z_BUF_ERROR only says no progress was possible; anything else is a broken stream.
            precondition(status == Z_OK || status == Z_BUF_ERROR, "deflate failed: \(status)")
            let written = available - Int(stream.pointee.avail_out)
            let keep = min(4, written)
            output.commitWritten(written - keep)
            held = keep
            room = 4096
            // zlib's rule: a flush is complete once deflate returns with output space left.
        } while stream.pointee.avail_out == 0
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        let tail = UnsafeRawBufferPointer(rebasing: output.writableSpace[..<held])
        precondition(tail.elementsEqual([0x00, 0x00, 0xFF, 0xFF]), "a sync flush ends with 00 00 ff ff")
    }

    /// `reserveWritable`, keeping the `held` uncommitted bytes at the start of the writable space
    /// (the buffer moves only committed bytes when it compacts or grows).
    private func reserveKeepingHeld(_ output: ByteBuffer, held: Int, count: Int) {
        guard held > 0 else { return output.reserveWritable(count) }
        var saved: UInt32 = 0
        withUnsafeMutableBytes(of: &saved) { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: output.writableSpace[..<held])) }
        output.reserveWritable(count)
        withUnsafeBytes(of: &saved) { output.writableSpace.baseAddress!.copyMemory(from: $0.baseAddress!, byteCount: held) }
    }

    /// How large `size` bytes that do not compress can come out of zlib with any settings: the
    /// conservative bound of deflateBound (small memLevels emit short stored or fixed-Huffman
    /// blocks: up to 14 % more), plus the flush. The wire limits for a peer's compressed messages
    /// allow this much, so a message that fits uncompressed is not refused compressed; the
    /// inflated size is still held to the limit itself.
    public static func worstCaseSize(_ size: Int) -> Int {
        size + ((size + 7) >> 3) + ((size + 63) >> 6) + 5 + 5
    }

    /// Bytes one deflater holds, by zlib's documented formula (zconf.h): the window twice over,
    /// its chain links and hash table, the pending-output buffer, and about 6 KiB of state.
    public static func memoryCost(windowBits: Int, memLevel: Int) -> Int {
        (1 << (windowBits + 2)) + (1 << (memLevel + 9)) + 6 * 1024
    }
}
