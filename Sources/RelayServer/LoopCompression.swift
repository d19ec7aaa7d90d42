import Buffers
import WebSocket

/// One loop's share of permessage-deflate: the compressors and decompressors that reset after
/// every message (so any connection of the loop can use them), the scratch buffers they write
/// into, and the compressed copy of the frame being fanned out.
///
/// Fan-out calls `Connection.send(frame:)` once per subscriber with the same frame, one after
/// the other. The first subscriber that negotiated compression has the frame compressed here;
/// every later one gets the same compressed bytes. So a publication is compressed once per loop
/// (per window size asked for), not once per subscriber.
final class LoopCompression {
    let settings: DeflateSettings
    /// Messages shorter than this go out uncompressed: below it deflate's overhead and CPU cost
    /// more than the bytes saved.
    let minimumSize: Int
    private var deflaters: [CompressionKey: MessageDeflater] = [:]
    private var inflaters: [Int: MessageInflater] = [:]
    /// Compressed payloads, before they are framed (a per-connection frame is copied out at once).
    let compressed = ByteBuffer(capacity: 16 * 1024)
    /// Inflated messages, handed to the application and valid until the next message. Kept apart
    /// from `compressed`: the application's replies are compressed while it still reads this.
    let inflated = ByteBuffer(capacity: 16 * 1024)
    /// The frame last fanned out and its compressed copies, by the window they were made for.
    private var cachedSource: SharedBytes?
    private var cachedFrames: [(CompressionKey, SharedBytes)] = []

    init(settings: DeflateSettings, minimumSize: Int) {
        self.settings = settings
        self.minimumSize = minimumSize
    }

    /// A compressor that forgets each message after it: shared by the loop's connections.
    func sharedDeflater(_ key: CompressionKey) -> MessageDeflater? {
        if let deflater = deflaters[key] { return deflater }
        let deflater = MessageDeflater(windowBits: key.windowBits, memLevel: settings.memLevel, level: settings.compressionLevel,
                                       strategy: key.strategy)
        deflaters[key] = deflater
        return deflater
    }

    /// A decompressor for clients that reset after each message (client_no_context_takeover).
    func sharedInflater(windowBits: Int) -> MessageInflater? {
        if let inflater = inflaters[windowBits] { return inflater }
        let inflater = MessageInflater(windowBits: windowBits)
        inflaters[windowBits] = inflater
        return inflater
    }

    /// `frame` (a whole unmasked frame, as fan-out queues it) with its payload compressed for
    /// connections whose compressor resets after each message and uses `key`'s window, or the
    /// frame itself when compressing does not pay (short, or no smaller).
    func sharedFrame(for frame: SharedBytes, key: CompressionKey) -> SharedBytes {
        if cachedSource !== frame {
            cachedSource = frame
            cachedFrames.removeAll(keepingCapacity: true)
        } else if let hit = cachedFrames.first(where: { $0.0 == key }) {
            return hit.1
        }
        let result = compressFrame(frame, key: key) ?? frame
        cachedFrames.append((key, result))
        return result
    }

    /// The compressed payload of a data message, in `compressed` (valid until the next call), or
    /// nil when compressing does not pay: a control frame, under `minimumSize`, or (for a
    /// deflater that resets after each message) no smaller. A deflater that keeps context has
    /// taken the message into its stream, so its output is used even if it did not shrink.
    func deflate(_ opcode: Opcode, _ payload: UnsafeRawBufferPointer, with deflater: () -> MessageDeflater?,
                 resetAfter: Bool) -> UnsafeRawBufferPointer? {
        guard opcode == .text || opcode == .binary, payload.count >= minimumSize, let deflater = deflater() else { return nil }
        compressed.clear()
        deflater.compress(payload, into: compressed, resetAfter: resetAfter)
        let body = compressed.readableView
        return body.count < payload.count || !resetAfter ? body : nil
    }

    private func compressFrame(_ frame: SharedBytes, key: CompressionKey) -> SharedBytes? {
        guard let (opcode, payload) = FrameWriter.parseUnmasked(frame.bytes),
              let body = deflate(opcode, payload, with: { sharedDeflater(key) }, resetAfter: true) else { return nil }
        let headerSize = FrameWriter.headerSize(payloadLength: body.count, masked: false)
        return SharedBytes(count: headerSize + body.count) { target in
            FrameWriter.writeHeader(into: target.baseAddress!, opcode: opcode, rsv1: true, payloadLength: body.count)
            (target.baseAddress! + headerSize).copyMemory(from: body.baseAddress!, byteCount: body.count)
        }
    }
}

/// What a shared compressor is chosen by: the window the client allowed and whether zlib must
/// stick to runs (a client that asked for a 256-byte window).
struct CompressionKey: Hashable {
    let windowBits: Int
    let strategy: MessageDeflater.Strategy
}
