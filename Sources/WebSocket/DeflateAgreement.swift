/// The permessage-deflate parameters both sides agreed on in the handshake (RFC 7692 §7.1), as
/// the values a connection builds its compressor and decompressor from, plus the header that tells
/// the client what was accepted. Made by `DeflateNegotiation.agree`.
public struct DeflateAgreement: Sendable, Equatable {
    /// Relay resets its compressor after every message: the client asked for it, or Relay's
    /// settings compress each message alone (which needs no agreement).
    public let serverNoContextTakeover: Bool
    /// The client resets its compressor after every message, so Relay's decompressor may too
    /// (its window is then dead weight between messages).
    public let clientNoContextTakeover: Bool
    /// The windowBits Relay's `MessageDeflater` is created with (9...15). When the client asked
    /// for server_max_window_bits=8 this is 9, which zlib needs, and `compressionStrategy` is
    /// `.runLengthOnly`, whose matches all have distance 1 and so fit any window.
    public let serverWindowBits: Int
    public let compressionStrategy: MessageDeflater.Strategy
    /// The windowBits Relay's `MessageInflater` is created with (9...15): 15 when the client set no
    /// limit, else the limit answered in the response, but at least 9, because a peer that
    /// negotiates 8 compresses with zlib's 9.
    public let clientWindowBits: Int
    /// The `Sec-WebSocket-Extensions` value of the 101 response. It names only parameters the
    /// client offered, so the client can accept it whatever it supports.
    public let responseHeader: String

    public init(serverNoContextTakeover: Bool, clientNoContextTakeover: Bool, serverWindowBits: Int,
                compressionStrategy: MessageDeflater.Strategy, clientWindowBits: Int, responseHeader: String) {
        self.serverNoContextTakeover = serverNoContextTakeover
        self.clientNoContextTakeover = clientNoContextTakeover
        self.serverWindowBits = serverWindowBits
        self.compressionStrategy = compressionStrategy
        self.clientWindowBits = clientWindowBits
        self.responseHeader = responseHeader
    }

    /// A compressor for this connection's outgoing messages (nil if zlib cannot allocate one).
    /// With `serverNoContextTakeover` one per loop and per (window, strategy) can serve every
    /// connection instead, since it holds nothing between messages.
    public func makeDeflater(_ settings: DeflateSettings) -> MessageDeflater? {
        MessageDeflater(windowBits: serverWindowBits, memLevel: settings.memLevel, level: settings.compressionLevel,
                        strategy: compressionStrategy)
    }

    /// A decompressor for this connection's incoming messages (nil if zlib cannot allocate one).
    public func makeInflater() -> MessageInflater? {
        MessageInflater(windowBits: clientWindowBits)
    }
}
