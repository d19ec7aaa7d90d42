import Buffers
import WebSocket

/// The permessage-deflate state of one connection that negotiated it: what was agreed, and the
/// compressor and decompressor that must live as long as the connection because a side keeps its
/// context between messages. Without context takeover on a side, that side uses the loop's
/// shared one (LoopCompression) and this holds nothing for it.
final class ConnectionCompression {
    let agreement: DeflateAgreement
    let key: CompressionKey
    /// Relay's own compressor, when it keeps context between messages
    /// (`compression.context_takeover` and a client that allows it); made at the first message.
    private var deflater: MessageDeflater?
    /// The client's messages form one DEFLATE stream unless it resets after each one; made at the
    /// first compressed message, so a client that never sends one costs no window.
    private var inflater: MessageInflater?

    init(agreement: DeflateAgreement) {
        self.agreement = agreement
        key = CompressionKey(windowBits: agreement.serverWindowBits, strategy: agreement.compressionStrategy)
    }

    var sharesFrames: Bool { agreement.serverNoContextTakeover }

    func deflater(_ loop: LoopCompression) -> MessageDeflater? {
        if sharesFrames { return loop.sharedDeflater(key) }
        if deflater == nil { deflater = agreement.makeDeflater(loop.settings) }
        return deflater
    }

    func inflater(_ loop: LoopCompression) -> MessageInflater? {
        if agreement.clientNoContextTakeover { return loop.sharedInflater(windowBits: agreement.clientWindowBits) }
        if inflater == nil { inflater = agreement.makeInflater() }
        return inflater
    }
}
