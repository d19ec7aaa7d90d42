import Auth
import Broker
import Buffers
import Foundation
import JSON
import CoreMetrics
import Logging
import Reactor
import RelayServer
import WebSocket

/// The gateway on one loop: the client protocol over each connection, the loop's local
/// subscriptions, and fan-out of what the broker delivers to them.
public final class GatewayLoop: WebSocketApplication, BrokerDelegate {
    static let subprotocol = "relay.v1"
    static let tokenSubprotocolPrefix = "relay.token."

    let gateway: Gateway
    unowned let loop: EventLoop
    let broker: Broker
    private var clients: [UInt64: Client] = [:]
    private var channels: [String: LocalChannel] = [:]
    /// user → this loop's clients watching their online status.
    private var watches: [String: LocalWatch] = [:]
    /// user → their authenticated connections on this loop.
    private var users: [String: LocalUser] = [:]
    /// Claims verified during the upgrade, handed to the connection that opens right after.
    private var upgradeClaims: Claims?
    var stats = GatewayStats()
    private var fanOuts = FanOutSamples()
    private let metrics: GatewayMetrics
    private lazy var metricsTimer: LoopTimer = LoopTimer { [unowned self] in
        foldMetrics()
        loop.timers.schedule(metricsTimer, after: Self.metricsInterval, now: loop.now)
    }
    static let metricsInterval: UInt64 = 1_000_000_000
    /// The server is draining (SIGTERM): /ready answers 503.
    private(set) var draining = false
    /// Loop 0 serves the admin listener.
    var admin: AdminServer?

    /// This loop's subscribers of one channel.
    final class LocalChannel {
        private(set) var clients: [Client] = []
        /// Subscribes sent to the broker and not answered yet: the loop's interest must stay.
        var pending = 0
        var isEmpty: Bool { clients.isEmpty && pending == 0 }

        func add(_ client: Client, channel: String) {
            client.subscriptions[channel] = .active(slot: clients.count)
            clients.append(client)
        }

        /// Swaps the last subscriber into the removed one's slot.
        func remove(slot: Int, channel: String) {
            let last = clients.removeLast()
            guard slot < clients.count else { return }
            clients[slot] = last
            last.subscriptions[channel] = .active(slot: slot)
        }
    }

    /// One user's connections on this loop, and the command budget they share.
    final class LocalUser {
        var clients: [Client] = []
        var commands: TokenBucket

        init(commands: TokenBucket) { self.commands = commands }
    }

    /// This loop's watchers of one user.
    final class LocalWatch {
        var clients: [Client] = []
        /// `online` commands with watch sent to the broker and not answered yet.
        var pending = 0
        var isEmpty: Bool { clients.isEmpty && pending == 0 }
    }

    init(gateway: Gateway, loop: EventLoop, broker: Broker) {
        self.gateway = gateway
        self.loop = loop
        self.broker = broker
        config = gateway.config
        verifier = gateway.verifier
        metrics = GatewayMetrics(factory: gateway.metricsFactory)
        broker.delegate = self
        loop.timers.schedule(metricsTimer, after: Self.metricsInterval, now: loop.now)
    }

    private func foldMetrics() {
        let transport = (loop.context as? LoopServer)?.stats ?? TransportStats()
        metrics.fold(transport: transport, gateway: stats, fanOuts: &fanOuts, localChannels: channels.count)
    }

    /// This loop's settings and token verifier: replaced as a whole when SIGHUP reloads them.
    private(set) var config: GatewayConfig
    private(set) var verifier: JWTVerifier
    private var logger: Logger { loop.logger }
    public var slowConsumerCloseCode: CloseCode { CloseCode(rawValue: GatewayCloseCode.slowConsumer) }
    private var monotonicNow: Double { Double(loop.now) / 1e9 }
    private var wallClock: Double { Date().timeIntervalSince1970 }

    // MARK: BrokerDelegate

    public func deliver(channel: String, frame: SharedBytes, ephemeral: Ephemeral?, acceptedAt: UInt64) {
        guard let local = channels[channel] else { return }
        let compressible = ChannelName(channel).flatMap { config.namespaces[String($0.namespace)] }?.compression ?? true
        guard let ephemeral else {
            for client in local.clients { client.connection.send(frame: frame, compressible: compressible) }
            stats.deliveries &+= UInt64(local.clients.count)
            // Past the buffer's size in a second the rest go unrecorded: the histogram is then a
            // sample, and the shared (locked) histogram is still touched only by the fold.
            if !fanOuts.isFull { fanOuts.record(Int64(bitPattern: Clock.now() &- acceptedAt)) }
            return
        }
        var sent = 0, dropped = 0
        for client in local.clients where client.connection.id != ephemeral.sender {
            if client.connection.isBackedUp {
                dropped += 1
            } else {
                client.connection.send(frame: frame, compressible: compressible)
                sent += 1
            }
        }
        stats.deliveries &+= UInt64(sent)
        stats.droppedPushes &+= UInt64(dropped)
    }

    public func control(_ command: ControlCommand) {
        switch command {
        case .disconnect(let user, let reason, let reconnectAfter): disconnect(user: user, reason: reason, reconnectAfter: reconnectAfter)
        case .unsubscribe(let user, let channel): unsubscribe(user: user, channel: channel)
        }
    }

    /// The engine could not fill a gap in the channel's live stream: every local subscriber gets
    /// `unsubscribed` with reason `resubscribe` and subscribes again with its position.
    public func streamLost(channel: String) {
        guard let local = channels[channel] else { return }
        for client in local.clients { removeSubscription(client, channel: channel, reason: "resubscribe") }
    }

    public func statusChanged(user: String, frame: SharedBytes) {
        guard let local = watches[user] else { return }
        for client in local.clients { client.connection.send(frame: frame) }
        stats.deliveries &+= UInt64(local.clients.count)
    }

    // MARK: Upgrade

    public func negotiate(_ request: UpgradeRequest) -> Result<String?, HandshakeRejection> {
        upgradeClaims = nil
        let offered = request.subprotocols.filter { !$0.hasPrefix(Self.tokenSubprotocolPrefix) }
        if !offered.isEmpty, !offered.contains(Self.subprotocol) {
            return .failure(HandshakeRejection(.badRequest, reason: "no supported subprotocol offered (relay.v1)"))
        }
        var token = request.subprotocols.first { $0.hasPrefix(Self.tokenSubprotocolPrefix) }
            .map { String($0.dropFirst(Self.tokenSubprotocolPrefix.count)) }
        if token == nil, let authorization = request.head.value("Authorization"),
           authorization.lowercased().hasPrefix("bearer ") {
            token = String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces)
        }
        if token == nil, config.auth.allowQueryToken, let query = request.head.query {
            token = query.split(separator: "&").first { $0.hasPrefix("token=") }.map { String($0.dropFirst(6)) }?.removingPercentEncoding
        }
        if let token {
            switch verifySession(token) {
            case .success(let claims):
                upgradeClaims = claims
            case .failure(let error):
                stats.authFailures[error.code, default: 0] &+= 1
                return .failure(HandshakeRejection(.unauthorized, reason: "token refused: \(error.code)"))
            }
        }
        return .success(offered.contains(Self.subprotocol) ? Self.subprotocol : nil)
    }

    public func connectionOpened(_ connection: Connection, request: UpgradeRequest) {
        let id = connection.id
        let timer = LoopTimer { [unowned self] in self.timerFired(id) }
        let now = monotonicNow
        let client = Client(connection: connection, timer: timer,
                            commands: TokenBucket(rate: config.commandRate, burst: config.commandBurst, now: now),
                            typings: TokenBucket(rate: config.typingRate, burst: config.typingBurst, now: now))
        clients[id] = client
        if let claims = upgradeClaims {
            upgradeClaims = nil
            authenticate(client, claims)
        } else {
            arm(client, .authTimeout, after: config.auth.timeout)
        }
    }

    public func connectionClosed(_ connection: Connection) {
        guard let client = clients.removeValue(forKey: connection.id) else { return }
        client.gone = true
        loop.timers.cancel(client.timer)
        for (channel, subscription) in client.subscriptions {
            if case .active(let slot) = subscription { leave(channel, client, slot: slot) }
        }
        client.subscriptions = [:]
        var unwatched: [String] = []
        for user in client.watching {
            guard let local = watches[user], let index = local.clients.firstIndex(where: { $0 === client }) else { continue }
            local.clients.remove(at: index)
            if local.isEmpty {
                watches[user] = nil
                unwatched.append(user)
            }
        }
        client.watching = []
        if !unwatched.isEmpty { broker.unwatch(users: unwatched) }
        if let user = client.user {
            if let local = users[user], let index = local.clients.firstIndex(where: { $0 === client }) {
                local.clients.remove(at: index)
                if local.clients.isEmpty { users[user] = nil }
            }
            broker.userDisconnected(user, connection: client.connection.id, cause: DisconnectCause(client.connection.ending))
        }
    }

    // MARK: Commands

    public func connection(_ connection: Connection, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        guard let client = clients[connection.id] else { return }
        guard opcode == .text else {
            connection.close(.unsupportedData, reason: "relay.v1 is JSON in text frames")
            return
        }
        switch ClientCommand.parse(payload) {
        case .failure(let failure):
            if let refused = takeCommandToken(client) { return rateLimited(client, id: failure.id, by: refused) }
            send(client, Reply.error(id: failure.id, failure.error, failure.message))
        case .success(let envelope):
            handle(envelope, from: client, frame: payload)
        }
    }

    /// A command takes a token from the connection's bucket and, once authenticated, from the
    /// bucket its user's connections on this loop share. Returns the bucket that refused it.
    private func takeCommandToken(_ client: Client) -> GatewayStats.Bucket? {
        let now = monotonicNow
        guard client.commands.take(now: now) else { return .connection }
        guard let user = client.user, let local = users[user] else { return nil }
        return local.commands.take(now: now) ? nil : .user
    }

    /// A refused command gets `rate_limited`; after `rate_limits.strikes` refusals in a row the
    /// connection is closed with 4008.
    private func rateLimited(_ client: Client, id: CommandID, by bucket: GatewayStats.Bucket) {
        stats.countRateLimited(bucket)
        client.strikes += 1
        if client.strikes >= config.rateLimitStrikes {
            logger.warning("rate limit: closing a connection that kept sending",
                           metadata: ["conn": "\(client.connection.id)", "user": "\(client.user ?? "")"])
            client.connection.close(CloseCode(rawValue: GatewayCloseCode.rateLimited), reason: "rate limit exceeded")
            return
        }
        send(client, Reply.error(id: id, .rateLimited, "too many commands; slow down"))
    }

    private func handle(_ envelope: ClientCommand.Envelope, from client: Client, frame: UnsafeRawBufferPointer) {
        let id = envelope.id
        // Typing has its own budget, so a typing indicator never eats into real commands.
        if case .typing = envelope.command {
            guard client.typings.take(now: monotonicNow) else { return rateLimited(client, id: id, by: .typing) }
        } else if let refused = takeCommandToken(client) {
            return rateLimited(client, id: id, by: refused)
        }
        client.strikes = 0
        if case .connect = envelope.command {} else if !client.isAuthenticated {
            send(client, Reply.error(id: id, .notConnected, "send connect with a token first"))
            return
        }
        switch envelope.command {
        case .connect(let token): connect(client, id: id, token: token)
        case .subscribe(let channel, let token, let since): subscribe(client, id: id, channel: channel, token: token, since: since)
        case .unsubscribe(let channel): unsubscribe(client, id: id, channel: channel)
        case .publish(let channel, let data, let key):
            publish(client, id: id, channel: channel, data: Array(UnsafeRawBufferPointer(rebasing: frame[data])), key: key)
        case .presence(let channel): presence(client, id: id, channel: channel)
        case .history(let channel, let limit, let before): history(client, id: id, channel: channel, limit: limit, before: before)
        case .refresh(let token): refresh(client, id: id, token: token)
        case .typing(let channel, let started): typing(client, id: id, channel: channel, started: started)
        case .online(let users, let watch): online(client, id: id, users: users, watch: watch)
        case .ping: send(client, Reply.result(id: id) { _ in })
        }
    }

    private func connect(_ client: Client, id: CommandID, token: String) {
        guard !client.isAuthenticated else {
            send(client, Reply.error(id: id, .alreadyConnected, "this connection is authenticated already"))
            return
        }
        switch verifySession(token) {
        case .failure(let error):
            stats.authFailures[error.code, default: 0] &+= 1
            logger.info("connect refused", metadata: ["conn": "\(client.connection.id)", "reason": "\(error.code)"])
            send(client, Reply.error(id: id, .authFailed, error.code))
            client.connection.close(CloseCode(rawValue: GatewayCloseCode.authFailed), reason: "authentication failed")
        case .success(let claims):
            // The reply first: a token_expiring push for a short-lived token must come after it.
            send(client, Reply.result(id: id) { writer in
                writer.key("user"); writer.string(claims.subject)
                writer.key("expires"); writer.int(Int64(claims.expiresAt))
            })
            authenticate(client, claims)
        }
    }

    /// A connection token: verified, and not a subscription token (which names one channel and
    /// must not open a session).
    private func verifySession(_ token: String) -> Result<Claims, AuthError> {
        let result = verifier.verify(token, now: wallClock)
        if case .success(let claims) = result, claims.channel != nil { return .failure(.invalidClaim(.channel)) }
        return result
    }

    /// Counts the connection for its user; the one that takes the user past
    /// `max_connections_per_user` gets a `disconnect` push and close 4010.
    private func authenticate(_ client: Client, _ claims: Claims) {
        client.adopt(claims)
        let user = claims.subject
        let local = users[user] ?? LocalUser(commands: TokenBucket(rate: config.userCommandRate, burst: config.userCommandBurst, now: monotonicNow))
        users[user] = local
        local.clients.append(client)
        broker.userConnected(user, connection: client.connection.id) { [unowned self] result in
            guard !client.gone, case .success(let count) = result, count > config.maxConnectionsPerUser else { return }
            logger.info("too many connections for one user; closing the newest",
                        metadata: ["conn": "\(client.connection.id)", "user": "\(user)", "connections": "\(count)"])
            disconnect(client, reason: "too_many_connections", code: GatewayCloseCode.tooManyConnections)
        }
        scheduleExpiry(client)
        logger.debug("authenticated", metadata: ["conn": "\(client.connection.id)", "user": "\(claims.subject)"])
    }

    private func refresh(_ client: Client, id: CommandID, token: String) {
        switch verifySession(token) {
        case .failure(let error):
            stats.authFailures[error.code, default: 0] &+= 1
            send(client, Reply.error(id: id, .authFailed, error.code))
        case .success(let claims) where claims.subject != client.user:
            send(client, Reply.error(id: id, .permissionDenied, "the new token is for another user"))
        case .success(let claims):
            client.adopt(claims)
            scheduleExpiry(client)
            send(client, Reply.result(id: id) { writer in writer.key("expires"); writer.int(Int64(claims.expiresAt)) })
            revokeUngranted(client)
        }
    }

    /// After a refresh: subscriptions the new claims no longer allow (a `channels` claim that
    /// lost an entry) end with an `unsubscribed` push. Those a subscription token allowed stay:
    /// that token was checked on its own.
    private func revokeUngranted(_ client: Client) {
        for channel in Array(client.subscriptions.keys) where !client.tokenGranted.contains(channel) {
            guard let name = ChannelName(channel), let policy = config.namespaces[String(name.namespace)],
                  permission(client, name, policy, subscriptionToken: nil) != nil else { continue }
            removeSubscription(client, channel: channel, reason: "permission_revoked")
        }
    }

    /// The namespace of a channel, or the error reply for it.
    private func policy(for channel: String, client: Client, id: CommandID) -> (ChannelName, NamespacePolicy)? {
        guard let name = ChannelName(channel) else {
            send(client, Reply.error(id: id, .badRequest, "a channel is namespace:name"))
            return nil
        }
        guard let policy = config.namespaces[String(name.namespace)] else {
            send(client, Reply.error(id: id, .unknownNamespace, "no namespace \(name.namespace.prefix(64))"))
            return nil
        }
        return (name, policy)
    }

    private func subscribe(_ client: Client, id: CommandID, channel: String, token: String?, since: StreamPosition?) {
        guard let (name, policy) = self.policy(for: channel, client: client, id: id) else { return }
        guard client.subscriptions[channel] == nil else {
            send(client, Reply.error(id: id, .alreadySubscribed, "already subscribed to \(channel)"))
            return
        }
        guard client.subscriptions.count < config.maxSubscriptionsPerConnection else {
            send(client, Reply.error(id: id, .limitExceeded, "at most \(config.maxSubscriptionsPerConnection) subscriptions per connection"))
            return
        }
        // A channel the session's own claims allow needs no subscription token, even if one came.
        let viaToken: Bool
        if permission(client, name, policy, subscriptionToken: nil) == nil {
            viaToken = false
        } else if let denial = permission(client, name, policy, subscriptionToken: token) {
            send(client, Reply.error(id: id, .permissionDenied, denial))
            return
        } else {
            viaToken = true
        }
        let serial = client.nextSerial()
        client.subscriptions[channel] = .pending(serial)
        client.cancelled[channel] = nil
        if viaToken { client.tokenGranted.insert(channel) }
        let local = channels[channel] ?? LocalChannel()
        channels[channel] = local
        local.pending += 1
        let member = client.member(in: policy)
        let request = SubscribeRequest(channel: channel, since: since, member: member,
                                       options: policy.channelOptions(idempotencyWindow: config.idempotencyWindow))
        func reply(_ subscribed: SubscribeResult) -> Reply.Message {
            Reply.result(id: id) { writer in
                writer.key("offset"); writer.int(Int64(subscribed.position.offset))
                writer.key("epoch"); writer.string(subscribed.position.epoch)
                if since != nil { writer.key("recovered"); writer.bool(subscribed.recovered) }
            }
        }
        broker.subscribe(request) { [unowned self] result in
            local.pending -= 1
            guard !client.gone, case .pending(serial)? = client.subscriptions[channel] else {
                // Unsubscribed or gone while waiting: undo what the broker did for it. Presence
                // counts connections, not subscribes: while a newer subscribe of this connection
                // to the channel stands, its presence stays.
                if case .success = result {
                    let undone = client.subscriptions[channel] == nil ? member : nil
                    broker.unsubscribe(channel: channel, member: undone, lastOnLoop: local.isEmpty, options: request.options)
                }
                dropIfEmpty(channel, local)
                // Every command gets a reply: an unsubscribe overtook this subscribe, and it
                // succeeded, so this subscribe did too (nothing more is pushed for it).
                guard !client.gone else { return }
                if let reason = client.cancelled.removeValue(forKey: channel) {
                    send(client, Reply.error(id: id, .permissionDenied, "the server ended this subscription (\(reason))"))
                    return
                }
                switch result {
                case .failure: send(client, Reply.error(id: id, .unavailable, "the broker is unavailable; retry"))
                case .success(let subscribed): send(client, reply(subscribed))
                }
                return
            }
            switch result {
            case .failure:
                client.subscriptions[channel] = nil
                client.tokenGranted.remove(channel)
                // An earlier leave kept the loop's interest for this subscribe: end it now.
                if local.isEmpty { broker.unsubscribe(channel: channel, member: nil, lastOnLoop: true, options: request.options) }
                dropIfEmpty(channel, local)
                send(client, Reply.error(id: id, .unavailable, "the broker is unavailable; retry"))
            case .success(let subscribed):
                send(client, reply(subscribed))
                if member != nil { client.presenceJoined[channel] = policy.joinLeave }
                for publication in subscribed.publications { client.connection.send(frame: publication.frame, compressible: policy.compression) }
                local.add(client, channel: channel)
                stats.subscriptions += 1
            }
        }
    }

    /// Nil when allowed; otherwise why not (for the error reply). Any one rule suffices.
    private func permission(_ client: Client, _ name: ChannelName, _ policy: NamespacePolicy, subscriptionToken: String?) -> String? {
        var reason = "not allowed to subscribe to \(name.full)"
        for rule in policy.subscribe {
            switch rule {
            case .public, .authenticated:
                return nil
            case .own:
                if name.name == client.user?[...] { return nil }
            case .claim:
                if client.grantedChannels.contains(where: name.isGranted) { return nil }
            case .token:
                guard let subscriptionToken else { reason = "this channel needs a subscription token"; continue }
                switch verifier.verify(subscriptionToken, now: wallClock) {
                case .failure(let error):
                    reason = "subscription token refused: \(error.code)"
                case .success(let claims) where claims.subject == client.user && claims.channel == name.full:
                    return nil
                case .success:
                    reason = "the subscription token is for another user or channel"
                }
            }
        }
        return reason
    }

    private func unsubscribe(_ client: Client, id: CommandID, channel: String) {
        guard self.policy(for: channel, client: client, id: id) != nil else { return }
        guard let subscription = client.subscriptions.removeValue(forKey: channel) else {
            send(client, Reply.error(id: id, .notSubscribed, "not subscribed to \(channel)"))
            return
        }
        client.tokenGranted.remove(channel)
        // A pending subscribe is undone by its completion, which sees it is no longer wanted.
        if case .active(let slot) = subscription { leave(channel, client, slot: slot) }
        send(client, Reply.result(id: id) { _ in })
    }

    /// The server ends a subscription: an `unsubscribed` push says why. One still waiting for
    /// the broker is ended by its reply instead (an error), so the client never sees a success
    /// after the push.
    private func removeSubscription(_ client: Client, channel: String, reason: String) {
        guard let subscription = client.subscriptions.removeValue(forKey: channel) else { return }
        client.tokenGranted.remove(channel)
        guard case .active(let slot) = subscription else {
            client.cancelled[channel] = reason
            return
        }
        leave(channel, client, slot: slot)
        send(client, Pushes.single("unsubscribed") { writer in
            writer.key("channel"); writer.string(channel)
            writer.key("reason"); writer.string(reason)
        })
    }

    /// Removes an active subscriber from the loop and the broker.
    private func leave(_ channel: String, _ client: Client, slot: Int) {
        guard let local = channels[channel] else { return }
        local.remove(slot: slot, channel: channel)
        stats.subscriptions -= 1
        let policy = ChannelName(channel).flatMap { config.namespaces[String($0.namespace)] } ?? NamespacePolicy()
        var options = policy.channelOptions(idempotencyWindow: config.idempotencyWindow)
        // What the subscription joined, not what the namespace says now: a SIGHUP may have
        // changed or removed its presence since.
        let joined = client.presenceJoined.removeValue(forKey: channel)
        options.presence = joined != nil
        options.joinLeave = joined ?? false
        broker.unsubscribe(channel: channel, member: joined != nil ? client.presenceMember : nil, lastOnLoop: local.isEmpty,
                           options: options)
        dropIfEmpty(channel, local)
    }

    private func dropIfEmpty(_ channel: String, _ local: LocalChannel) {
        if local.isEmpty, channels[channel] === local { channels[channel] = nil }
    }

    private func publish(_ client: Client, id: CommandID, channel: String, data: [UInt8], key: String?) {
        guard let (_, policy) = self.policy(for: channel, client: client, id: id) else { return }
        guard policy.publish == .subscribers, client.subscriptions[channel]?.isActive == true else {
            let message = policy.publish == .server ? "only the server publishes to \(channel)" : "subscribe to \(channel) before publishing"
            send(client, Reply.error(id: id, .permissionDenied, message))
            return
        }
        guard data.count <= policy.maxPublicationBytes else {
            send(client, Reply.error(id: id, .tooLarge, "data is \(data.count) bytes; the limit is \(policy.maxPublicationBytes)"))
            return
        }
        let request = PublishRequest(channel: channel, data: data, user: client.user, key: key,
                                     options: policy.channelOptions(idempotencyWindow: config.idempotencyWindow))
        broker.publish(request) { [unowned self] result in
            if case .success(let published) = result, !published.duplicate { stats.publications &+= 1 }
            answer(client, id: id, result, retry: "retry with the same key") { published, writer in
                writer.key("offset"); writer.int(Int64(published.offset))
                writer.key("epoch"); writer.string(published.epoch)
            }
        }
    }

    private func requireSubscription(_ client: Client, id: CommandID, channel: String) -> NamespacePolicy? {
        guard let (_, policy) = self.policy(for: channel, client: client, id: id) else { return nil }
        guard client.subscriptions[channel]?.isActive == true else {
            send(client, Reply.error(id: id, .notSubscribed, "subscribe to \(channel) first"))
            return nil
        }
        return policy
    }

    private func presence(_ client: Client, id: CommandID, channel: String) {
        guard let policy = requireSubscription(client, id: id, channel: channel) else { return }
        guard policy.presence else {
            send(client, Reply.error(id: id, .notAvailable, "the namespace of \(channel) has no presence"))
            return
        }
        broker.presence(channel: channel, options: policy.channelOptions(idempotencyWindow: config.idempotencyWindow)) { [unowned self] result in
            answer(client, id: id, result) { entries, writer in
                writer.key("users")
                Reply.write(entries, to: &writer)
            }
        }
    }

    /// Which of `users` are online; with `watch`, the connection then gets a `status` push for
    /// each of their transitions (one per user, however many devices they have).
    private func online(_ client: Client, id: CommandID, users: [String], watch: Bool) {
        let users = Array(Set(users)).sorted()
        guard users.count <= config.maxOnlineUsers else {
            send(client, Reply.error(id: id, .limitExceeded, "at most \(config.maxOnlineUsers) users per online command"))
            return
        }
        let newlyWatched = watch ? users.filter { !client.watching.contains($0) } : []
        guard client.watching.count + newlyWatched.count <= config.maxWatchedUsers else {
            send(client, Reply.error(id: id, .limitExceeded, "at most \(config.maxWatchedUsers) watched users per connection"))
            return
        }
        let locals = newlyWatched.map { user -> (String, LocalWatch) in
            let local = watches[user] ?? LocalWatch()
            watches[user] = local
            local.pending += 1
            client.watching.insert(user)
            return (user, local)
        }
        broker.online(users: users, watch: watch) { [unowned self] result in
            var unwatched: [String] = []
            for (user, local) in locals {
                local.pending -= 1
                if !client.gone, case .success = result {
                    local.clients.append(client)
                } else {
                    client.watching.remove(user)
                    if local.isEmpty, watches[user] === local {
                        watches[user] = nil
                        unwatched.append(user)
                    }
                }
            }
            if !unwatched.isEmpty { broker.unwatch(users: unwatched) }
            answer(client, id: id, result) { status, writer in
                writer.key("users")
                writer.beginObject()
                for user in users { writer.key(user); writer.bool(status[user] ?? false) }
                writer.endObject()
            }
        }
    }

    /// An ephemeral push to the channel's other subscribers. A `start` within
    /// `gateway.typing_interval` of the last one the same user sent to the channel, from any
    /// connection, is not sent again (`"sent": false`); a `stop` always is.
    private func typing(_ client: Client, id: CommandID, channel: String, started: Bool) {
        guard let policy = requireSubscription(client, id: id, channel: channel) else { return }
        guard policy.typing else {
            send(client, Reply.error(id: id, .notAvailable, "the namespace of \(channel) has no typing indicator"))
            return
        }
        let user = client.user ?? ""
        let frame = Pushes.frame(Pushes.single("typing") { writer in
            writer.key("channel"); writer.string(channel)
            writer.key("user"); writer.string(user)
            writer.key("state"); writer.string(started ? "start" : "stop")
        })
        let throttle = Throttle(key: user, interval: started ? config.typingInterval : 0)
        broker.broadcast(channel: channel, frame: frame, sender: client.connection.id, throttle: throttle) { [unowned self] result in
            answer(client, id: id, result) { sent, writer in writer.key("sent"); writer.bool(sent) }
        }
    }

    private func history(_ client: Client, id: CommandID, channel: String, limit: Int?, before: UInt64?) {
        guard requireSubscription(client, id: id, channel: channel) != nil else { return }
        let limit = min(limit ?? 20, config.maxHistoryPage)
        broker.history(channel: channel, limit: limit, before: before) { [unowned self] result in
            answer(client, id: id, result) { page, writer in
                writer.key("offset"); writer.int(Int64(page.position.offset))
                writer.key("epoch"); writer.string(page.position.epoch)
                writer.key("publications")
                writer.beginArray()
                for publication in page.publications { writer.raw(publication.bodyBytes) }
                writer.endArray()
            }
        }
    }

    /// Answers a command whose work went through the broker: nothing for a connection that
    /// closed meanwhile, `unavailable` for a broker failure, else the result's fields.
    private func answer<T>(_ client: Client, id: CommandID, _ result: Result<T, BrokerError>, retry: String = "retry",
                           _ fields: (T, inout JSONWriter) -> Void) {
        guard !client.gone else { return }
        switch result {
        case .failure(.inboxFull):
            logger.warning("inbox full: a client publication was refused; is the main API reading /api/inbox/read?",
                           metadata: ["conn": "\(client.connection.id)"])
            send(client, Reply.error(id: id, .unavailable, "the inbox is full; \(retry) later"))
        case .failure:
            send(client, Reply.error(id: id, .unavailable, "the broker is unavailable; \(retry)"))
        case .success(let value):
            send(client, Reply.result(id: id) { writer in fields(value, &writer) })
        }
    }

    // MARK: Server API actions

    /// Every connection of `user` on this loop gets a `disconnect` push and close 4006; with
    /// `reconnectAfter` (milliseconds), a `reconnect` push first, and close 1012 (service restart).
    func disconnect(user: String, reason: String, reconnectAfter: Int?) {
        for client in users[user]?.clients ?? [] {
            if let reconnectAfter {
                advise(client, reconnectAfter: reconnectAfter, reason: reason)
            } else {
                disconnect(client, reason: reason, code: GatewayCloseCode.disconnected)
            }
        }
    }

    /// The connections of `user` on this loop leave `channel` and get an `unsubscribed` push.
    func unsubscribe(user: String, channel: String) {
        for client in users[user]?.clients ?? [] { removeSubscription(client, channel: channel, reason: "server") }
    }

    private func disconnect(_ client: Client, reason: String, code: UInt16) {
        send(client, Pushes.single("disconnect") { writer in writer.key("reason"); writer.string(reason) })
        client.connection.close(CloseCode(rawValue: code), reason: reason)
    }

    /// A `reconnect` push (come back after a jittered delay, elsewhere if a balancer decides so),
    /// then close 1012.
    private func advise(_ client: Client, reconnectAfter: Int, reason: String) {
        let after = reconnectAfter + Int.random(in: 0...max(0, reconnectAfter / 2))
        send(client, Pushes.single("reconnect") { writer in
            writer.key("after"); writer.int(Int64(after))
            writer.key("reason"); writer.string(reason)
        })
        client.connection.close(.serviceRestart, reason: reason)
    }

    /// A reload (SIGHUP): commands from now on follow the new settings and keys. Buckets already
    /// made (a connection's, a user's) keep their rates; new ones get the new rates.
    func apply(_ config: GatewayConfig, verifier: JWTVerifier) {
        self.config = config
        self.verifier = verifier
    }

    // MARK: Drain

    public func drainStarted(window: Double) { draining = true }

    public func connectionWillDrain(_ connection: Connection, closingIn milliseconds: Int) {
        guard let client = clients[connection.id] else { return }
        send(client, Pushes.single("reconnect") { writer in
            writer.key("after"); writer.int(Int64(milliseconds))
            writer.key("reason"); writer.string("server_shutdown")
        })
    }

    // MARK: Timers

    private func arm(_ client: Client, _ purpose: Client.TimerPurpose, after seconds: Double) {
        client.timerPurpose = purpose
        loop.timers.schedule(client.timer, after: Clock.nanoseconds(seconds: seconds), now: loop.now)
    }

    private func scheduleExpiry(_ client: Client) {
        let remaining = client.expiresAt - wallClock
        if remaining - config.auth.expiryWarning > 0 {
            arm(client, .expiryWarning, after: remaining - config.auth.expiryWarning)
        } else {
            // Already inside the warning window (a short-lived token): warn now, not never.
            if remaining > 0 { warnExpiry(client) }
            arm(client, .expiry, after: max(0, remaining))
        }
    }

    private func warnExpiry(_ client: Client) {
        let expires = Int64(client.expiresAt)
        send(client, Pushes.single("token_expiring") { writer in writer.key("expires"); writer.int(expires) })
    }

    private func timerFired(_ id: UInt64) {
        guard let client = clients[id] else { return }
        switch client.timerPurpose {
        case .authTimeout:
            guard !client.isAuthenticated else { return }
            client.connection.close(CloseCode(rawValue: GatewayCloseCode.authTimeout), reason: "no connect within the auth timeout")
        case .expiryWarning:
            warnExpiry(client)
            arm(client, .expiry, after: max(0, client.expiresAt - wallClock))
        case .expiry:
            let remaining = client.expiresAt - wallClock
            guard remaining <= 0 else { return scheduleExpiry(client) }
            disconnect(client, reason: "token_expired", code: GatewayCloseCode.tokenExpired)
        }
    }

    private func send(_ client: Client, _ json: [UInt8]) {
        json.withUnsafeBytes { client.connection.send(.text, payload: $0) }
    }

    private func send(_ client: Client, _ reply: Reply.Message) {
        stats.countReply(reply.kind, reply.error)
        send(client, reply.json)
    }
}
