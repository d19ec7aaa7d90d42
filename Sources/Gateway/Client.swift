import Auth
import Broker
import Reactor
import RelayServer

/// One connection's session: who it is once authenticated, and what it is subscribed to.
final class Client {
    enum Subscription {
        /// Asked the broker; live publications are not delivered until its answer. The serial
        /// tells that answer apart from one for an earlier subscribe to the same channel.
        case pending(UInt64)
        /// Receiving; `slot` is its place in the loop's LocalChannel, for removal in O(1).
        case active(slot: Int)

        var isActive: Bool { if case .active = self { return true } else { return false } }
    }

    unowned(unsafe) let connection: Connection
    var user: String?
    /// Compact JSON of the token's `info` claim, shown in presence.
    var info: String?
    /// Channels and prefix patterns from the token's `channels` claim.
    var grantedChannels: [String] = []
    var expiresAt: Double = 0
    var subscriptions: [String: Subscription] = [:]
    /// Users whose online transitions this connection receives (`online` with `watch`).
    var watching = Set<String>()
    /// Channels joined (or being joined) with a subscription token: a refresh with other claims
    /// keeps them.
    var tokenGranted = Set<String>()
    /// Active subscriptions that joined the channel's presence, with whether they announced it
    /// (join_leave): leaving must undo exactly that, even if a reload changed the namespace since.
    var presenceJoined: [String: Bool] = [:]
    /// Pending subscribes the server ended before the broker answered, and why: their reply is
    /// an error, not a success followed by nothing.
    var cancelled: [String: String] = [:]
    /// One timer per client, re-armed: the auth timeout, then the token's expiry warning and end.
    let timer: LoopTimer
    var timerPurpose = TimerPurpose.authTimeout
    /// Closed or closing: completions that arrive later must not touch the connection.
    var gone = false

    enum TimerPurpose { case authTimeout, expiryWarning, expiry }

    var commands: TokenBucket
    var typings: TokenBucket
    /// Rate-limited commands in a row.
    var strikes = 0

    init(connection: Connection, timer: LoopTimer, commands: TokenBucket, typings: TokenBucket) {
        self.connection = connection
        self.timer = timer
        self.commands = commands
        self.typings = typings
    }

    private var serial: UInt64 = 0

    var isAuthenticated: Bool { user != nil }

    func nextSerial() -> UInt64 {
        serial += 1
        return serial
    }

    func member(in policy: NamespacePolicy) -> PresenceMember? {
        guard policy.presence else { return nil }
        return presenceMember
    }

    var presenceMember: PresenceMember? {
        user.map { PresenceMember(user: $0, connection: connection.id, info: info) }
    }

    func adopt(_ claims: Claims) {
        user = claims.subject
        info = claims.info
        grantedChannels = claims.channels
        expiresAt = claims.expiresAt
    }
}
