import Buffers

/// One message in a channel's stream, encoded once: `frame` is the complete WebSocket frame of the
/// publication push, queued as is to every subscriber; `body` is the range of the publication
/// object inside it, embedded as is in history replies.
public struct Publication: Sendable {
    public let offset: UInt64
    public let frame: SharedBytes
    public let body: Range<Int>

    public init(offset: UInt64, frame: SharedBytes, body: Range<Int>) {
        self.offset = offset
        self.frame = frame
        self.body = body
    }

    public var bodyBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(rebasing: frame.bytes[body]) }
}

/// What a publisher hands the broker: the data (already validated JSON) and who sent it.
public struct PublishRequest: Sendable {
    public let channel: String
    public let data: [UInt8]
    /// The publishing user, nil for the server API.
    public let user: String?
    /// An idempotency key: a repeat from the same user on the same channel within the window
    /// returns the first result and publishes nothing.
    public let key: String?
    public let options: ChannelOptions

    /// The longest idempotency key, in UTF-8 bytes: every key is kept for the idempotency window
    /// (in memory, or as part of a Redis key), so its size is bounded.
    public static let maxKeyBytes = 128

    public init(channel: String, data: [UInt8], user: String?, key: String?, options: ChannelOptions) {
        self.channel = channel
        self.data = data
        self.user = user
        self.key = key
        self.options = options
    }
}

/// A channel's settings that the broker applies (they come from the channel's namespace).
public struct ChannelOptions: Sendable {
    public var historySize: Int
    public var historyTTL: Double
    public var presence: Bool
    public var joinLeave: Bool
    public var idempotencyWindow: Double
    /// Client publications also go to the inbox, for the main API.
    public var inbox: Bool

    public init(historySize: Int = 0, historyTTL: Double = 0, presence: Bool = false, joinLeave: Bool = false,
                idempotencyWindow: Double = 300, inbox: Bool = false) {
        self.historySize = historySize
        self.historyTTL = historyTTL
        self.presence = presence
        self.joinLeave = joinLeave
        self.idempotencyWindow = idempotencyWindow
        self.inbox = inbox
    }
}
