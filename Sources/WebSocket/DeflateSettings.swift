/// What Relay allows of permessage-deflate (RFC 7692): the limits it negotiates within and the
/// zlib parameters it compresses with. The client's offer can only lower these, never raise them.
public struct DeflateSettings: Sendable, Equatable {
    /// Window sizes a side may be asked to use. 8 is legal on the wire but zlib cannot deflate
    /// with it, so Relay's own limits start at 9 (an offer of 8 is still accepted: see
    /// `DeflateAgreement.compressionStrategy`).
    public static let windowBitsRange = 9...15
    public static let compressionLevelRange = 1...9
    public static let memLevelRange = 1...9

    /// zlib's level, 1 (fastest) ... 9 (smallest). Default 6, zlib's own default and the knee of
    /// its curve: with `serverContextTakeover` off a published message is compressed once and the
    /// frame shared by every subscriber, so the CPU is paid once while the saved bytes are saved on
    /// every socket; levels above 6 cost much more time for a percent or two on small JSON.
    public let compressionLevel: Int
    /// The LZ77 window Relay compresses with, as a power of two (15 = 32 KiB). A client may ask
    /// for a smaller one with server_max_window_bits, never a larger one.
    public let serverMaxWindowBits: Int
    /// zlib's memLevel (hash table and pending-output sizes): 8 is zlib's default.
    public let memLevel: Int
    /// The largest window Relay lets a client compress with, so that a connection's inflater needs
    /// at most `1 << clientMaxWindowBits` bytes of window. Only enforceable when the client offered
    /// client_max_window_bits: a client that did not may use 15 (RFC 7692 §7.1.2.2).
    public let clientMaxWindowBits: Int
    /// Whether Relay keeps its compression context from one message to the next. Default false:
    /// each message compressed on its own can be encoded once and the same frame written to every
    /// subscriber, and the connection needs no deflater of its own between messages. The client is
    /// not told (RFC 7692 lets a sender reset whenever it likes); it only matters when the client
    /// allows context takeover.
    public let serverContextTakeover: Bool

    /// Values out of the ranges above are programming errors: configuration validates first
    /// against the `…Range` constants.
    public init(compressionLevel: Int = 6, serverMaxWindowBits: Int = 15, memLevel: Int = 8,
                clientMaxWindowBits: Int = 15, serverContextTakeover: Bool = false) {
        precondition(Self.compressionLevelRange.contains(compressionLevel), "compression level \(compressionLevel) not in 1...9")
        precondition(Self.windowBitsRange.contains(serverMaxWindowBits), "server window bits \(serverMaxWindowBits) not in 9...15")
        precondition(Self.memLevelRange.contains(memLevel), "memLevel \(memLevel) not in 1...9")
        precondition(Self.windowBitsRange.contains(clientMaxWindowBits), "client window bits \(clientMaxWindowBits) not in 9...15")
        self.compressionLevel = compressionLevel
        self.serverMaxWindowBits = serverMaxWindowBits
        self.memLevel = memLevel
        self.clientMaxWindowBits = clientMaxWindowBits
        self.serverContextTakeover = serverContextTakeover
    }
}
