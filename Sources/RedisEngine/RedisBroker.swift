import Broker
import Buffers
import Glibc
import Logging
import Reactor
import Redis

/// One loop's side of the Redis engine. The command connection carries the function calls,
/// pipelined; the pub/sub connection carries this loop's subscriptions: the channels it has
/// subscribers for (kept for `linger` after the last one leaves), the users it watches, and the
/// control channel. A publication from Redis is decoded and framed once per loop and handed to
/// the gateway to fan out.
final class RedisBroker: Broker {
    weak var delegate: BrokerDelegate?
    let engine: RedisEngine
    unowned let loop: EventLoop
    let commands: RedisConnection
    let pubsub: RedisConnection
    private var logger: Logger { loop.logger }
    /// Pub/sub subscriptions by Redis channel name.
    private var interests: [String: PubSubInterest] = [:]
    /// UNSUBSCRIBEs sent and not yet confirmed, by name: a `subscribe` confirmation that comes
    /// before them answers an older SUBSCRIBE, not the one a new interest waits for.
    private var unsubscribing: [String: Int] = [:]
    /// Unreadable messages since the last upkeep, logged once a second rather than each.
    private var unreadable = 0
    private var lastUnreadable = ""
    /// Channels with local subscribers (or lingering), by channel name.
    private var streams: [String: LiveStream] = [:]
    /// Local presence members by channel, refreshed in Redis before they expire.
    private var members: [String: ChannelMembers] = [:]
    /// Local authenticated connections by user, refreshed in Redis the same way.
    private var connections: [String: Set<UInt64>] = [:]
    private lazy var upkeepTimer = LoopTimer { [unowned self] in self.upkeep() }
    private var lastRefresh: UInt64 = 0
    private var ttlMilliseconds: String { String(Int(engine.settings.presenceTTL * 1000)) }

    final class PubSubInterest {
        var confirmed = false
        /// Run once the subscription is confirmed (true) or cannot be made (false).
        var waiting: [(Bool) -> Void] = []
    }

    final class ChannelMembers {
        var members: [UInt64: PresenceMember] = [:]
        /// The pub/sub channel join and leave are announced on ("" when the namespace does not).
        var announce: String
        init(announce: String) { self.announce = announce }
    }

    init(engine: RedisEngine, loop: EventLoop) {
        self.engine = engine
        self.loop = loop
        let name = "loop\(loop.index)"
        commands = RedisConnection(endpoint: engine.settings.endpoint, mode: .commands, loop: loop, name: "\(name)-commands",
                                   settings: engine.settings.connection)
        pubsub = RedisConnection(endpoint: engine.settings.endpoint, mode: .subscriber, loop: loop, name: "\(name)-pubsub",
                                 settings: engine.settings.connection)
    }

    func start() {
        commands.onStateChange = { [unowned self] ready in if ready { commandsReady() } }
        pubsub.onStateChange = { [unowned self] ready in ready ? pubsubReady() : pubsubLost() }
        pubsub.onPush = { [unowned self] value in received(value) }
        commands.start()
        pubsub.start()
        loop.timers.schedule(upkeepTimer, after: Self.upkeepInterval, now: loop.now)
    }

    var isHealthy: Bool { commands.isReady && pubsub.isReady }

    static let upkeepInterval: UInt64 = 1_000_000_000
    /// Live publications one channel may hold while its gap is read.
    static let maxHeld = 10_000

    // MARK: Connections

    /// Every (re)connection: the functions first (a Redis that restarted empty has none), then
    /// this node's presence and connections again.
    private func commandsReady() {
        commands.send([Array("FUNCTION".utf8), Array("LOAD".utf8), Array("REPLACE".utf8), Array(RelayFunctions.source.utf8)]) { [logger] result in
            if case .failure(let error) = result { logger.error("Redis refused Relay's functions", metadata: ["error": "\(error)"]) }
        }
        refreshPresence()
    }

    private func pubsubReady() {
        unsubscribing.removeAll()
        interests[RedisKeys.control] = interests[RedisKeys.control] ?? PubSubInterest()
        let names = Array(interests.keys)
        // One command per thousand names; Redis confirms each name on its own.
        for start in stride(from: 0, to: names.count, by: 1000) {
            pubsub.send(["SUBSCRIBE"] + names[start..<min(start + 1000, names.count)])
        }
    }

    private func pubsubLost() {
        var released: [() -> Void] = []
        for interest in interests.values {
            interest.confirmed = false
            let waiting = interest.waiting
            interest.waiting = []
            released.append { for completion in waiting { completion(false) } }
        }
        for stream in streams.values { released += stream.interrupt() }
        for work in released { work() }
    }

    /// Subscribes to a Redis channel (once per loop); `then` runs when Redis confirmed it.
    private func listen(_ name: String, then: @escaping (Bool) -> Void) {
        if let interest = interests[name] {
            if interest.confirmed { return then(true) }
            guard pubsub.isReady else { return then(false) }
            interest.waiting.append(then)
            return
        }
        guard pubsub.isReady else { return then(false) }
        let interest = PubSubInterest()
        interest.waiting.append(then)
        interests[name] = interest
        pubsub.send(["SUBSCRIBE", name])
    }

    private func stopListening(_ name: String) {
        guard let interest = interests.removeValue(forKey: name) else { return }
        for completion in interest.waiting { completion(false) }
        unsubscribing[name, default: 0] += 1
        pubsub.send(["UNSUBSCRIBE", name])
    }

    // MARK: Pub/sub messages

    private func received(_ value: RESPValue) {
        guard let parts = value.array, parts.count >= 3, let kind = parts[0].string, let name = parts[1].string else { return }
        switch kind {
        case "message":
            guard let payload = parts[2].bytes else { return }
            message(on: name, payload)
        case "unsubscribe":
            if let count = unsubscribing[name] { unsubscribing[name] = count > 1 ? count - 1 : nil }
        case "subscribe":
            guard unsubscribing[name] == nil, let interest = interests[name], !interest.confirmed else { return }
            interest.confirmed = true
            let waiting = interest.waiting
            interest.waiting = []
            for completion in waiting { completion(true) }
            if let channel = RedisKeys.name(in: name, prefix: RedisKeys.publicationPrefix), let stream = streams[channel], stream.gap {
                fillGap(channel, stream)
            }
        default:
            break
        }
    }

    private func message(on name: String, _ payload: [UInt8]) {
        let envelope: Envelope
        do {
            envelope = try Envelope.decode(payload)
        } catch {
            unreadable += 1
            lastUnreadable = "\(name): \(error)"
            return
        }
        let now = Clock.now()
        if name == RedisKeys.control {
            if case .control(let command) = envelope { delegate?.control(command) }
            return
        }
        if let user = RedisKeys.name(in: name, prefix: RedisKeys.statusPrefix) {
            if case .status(let online) = envelope { delegate?.statusChanged(user: user, frame: engine.encoder.status(user: user, online: online)) }
            return
        }
        guard let channel = RedisKeys.name(in: name, prefix: RedisKeys.publicationPrefix) else { return }
        switch envelope {
        case .publication(let offset, let epoch, let user, let data):
            let publication = engine.encoder.publication(channel: channel, offset: offset ?? 0, data: data, user: user)
            guard let epoch, let stream = streams[channel] else {
                delegate?.deliver(channel: channel, frame: publication.frame, ephemeral: nil, acceptedAt: now)
                return
            }
            if stream.gap {
                guard stream.held.count < Self.maxHeld else {
                    // Too much waited for a gap that cannot be read: the subscribers recover.
                    stream.restart()
                    delegate?.streamLost(channel: channel)
                    return
                }
                return stream.hold(publication, epoch: epoch)
            }
            deliver(publication, epoch: epoch, in: stream, channel: channel, at: now)
        case .join(let user, let info, let member):
            delegate?.deliver(channel: channel, frame: engine.encoder.join(channel: channel, user: user, info: info),
                              ephemeral: member.map(localSender) ?? .presence, acceptedAt: now)
        case .leave(let user):
            delegate?.deliver(channel: channel, frame: engine.encoder.leave(channel: channel, user: user), ephemeral: .presence, acceptedAt: now)
        case .ephemeral(let node, let sender, let push):
            let frame = push.withUnsafeBytes { engine.encoder.frame(json: $0) }
            delegate?.deliver(channel: channel, frame: frame, ephemeral: Ephemeral(sender: node == engine.node ? sender : 0), acceptedAt: now)
        case .status, .control:
            logger.warning("a message of the wrong type on a channel's Redis channel; dropped", metadata: ["redis_channel": "\(name)"])
        }
    }

    private func deliver(_ publication: Publication, epoch: String, in stream: LiveStream, channel: String, at time: UInt64) {
        guard stream.admit(publication, epoch: epoch) else { return }
        delegate?.deliver(channel: channel, frame: publication.frame, ephemeral: nil, acceptedAt: time)
        stream.settle()
    }

    /// The pub/sub connection came back for a channel whose live stream was interrupted: what was
    /// published meanwhile comes from history, then what arrived live during that read; or, when
    /// history cannot cover the gap, the subscribers are told to recover themselves.
    private func fillGap(_ channel: String, _ stream: LiveStream) {
        guard let epoch = stream.epoch else { return stream.restart() }
        let since = stream.delivered
        stream.startRead()
        position(channel, since: StreamPosition(offset: since, epoch: epoch), options: nil) { [unowned self] result in
            stream.abandonRead()
            // A failure: Redis answered the pub/sub connection but not yet this one; the upkeep
            // tries again, and live publications wait in the meantime (up to a bound).
            guard case .success(let read) = result else { return }
            guard read.recovered else {
                logger.notice("a channel's publications were lost while Redis was away; its subscribers recover themselves",
                              metadata: ["channel": "\(channel)"])
                stream.restart()
                delegate?.streamLost(channel: channel)
                return
            }
            let now = Clock.now()
            let held = stream.closeGap()
            for publication in read.publications { deliver(publication, epoch: epoch, in: stream, channel: channel, at: now) }
            for (publication, epoch) in held { deliver(publication, epoch: epoch, in: stream, channel: channel, at: now) }
        }
    }

    // MARK: Function calls

    private func call(_ function: String, keys: [String], _ arguments: [[UInt8]],
                      completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        var command: [[UInt8]] = [Array("FCALL".utf8), Array(function.utf8), Array(String(keys.count).utf8)]
        command += keys.map { Array($0.utf8) }
        command += arguments
        commands.send(command, completion: completion)
    }

    private func call(_ function: String, keys: [String], _ arguments: [String],
                      completion: @escaping (Result<RESPValue, RedisError>) -> Void = { _ in }) {
        call(function, keys: keys, arguments.map { Array($0.utf8) }, completion: completion)
    }

    /// A failure worth a log line: Redis answered with an error (not merely unreachable).
    private func unavailable(_ error: RedisError, _ what: String) -> BrokerError {
        if case .server(let message) = error { logger.error("Redis refused \(what)", metadata: ["error": "\(message)"]) }
        return .unavailable
    }

    private static func milliseconds(_ seconds: Double) -> String { String(Int((seconds * 1000).rounded())) }

    /// How long a channel's offset counter and epoch outlive its last publication.
    private static func metaTTL(_ options: ChannelOptions) -> String {
        milliseconds(max(options.historyTTL, options.idempotencyWindow, 86_400))
    }

    private func publication(_ channel: String, _ envelope: RESPValue) -> (Publication, String)? {
        guard let bytes = envelope.bytes, case .publication(let offset?, let epoch?, let user, let data)? = try? Envelope.decode(bytes) else {
            logger.warning("an unreadable history entry in Redis; skipped", metadata: ["channel": "\(channel)"])
            return nil
        }
        return (engine.encoder.publication(channel: channel, offset: offset, data: data, user: user), epoch)
    }

    /// The stream position, and with `since` the publications after it.
    private func position(_ channel: String, since: StreamPosition?, options: ChannelOptions?,
                          completion: @escaping (Result<SubscribeResult, BrokerError>) -> Void) {
        // Without the namespace's options (a gap fill), a day: the TTL is only ever extended.
        let metaTTL = options.map(Self.metaTTL) ?? Self.milliseconds(86_400)
        call("relay_position", keys: [RedisKeys.meta(channel), RedisKeys.history(channel)],
             [since.map { String($0.offset) } ?? "", since?.epoch ?? "", metaTTL, Self.milliseconds(options?.historyTTL ?? 0)]) { [unowned self] result in
            switch result {
            case .failure(let error):
                completion(.failure(unavailable(error, "a position read")))
            case .success(let value):
                guard let parts = value.array, parts.count >= 3, let offset = parts[0].int, let epoch = parts[1].string, let recovered = parts[2].int else {
                    return completion(.failure(.unavailable))
                }
                let publications = parts.dropFirst(3).compactMap { self.publication(channel, $0)?.0 }
                completion(.success(SubscribeResult(position: StreamPosition(offset: UInt64(offset), epoch: epoch),
                                                    recovered: recovered == 1 && publications.count == parts.count - 3,
                                                    publications: publications)))
            }
        }
    }

    // MARK: Broker: channels

    func subscribe(_ request: SubscribeRequest, completion: @escaping (Result<SubscribeResult, BrokerError>) -> Void) {
        let channel = request.channel
        let stream = streams[channel] ?? LiveStream()
        streams[channel] = stream
        stream.wanted = true
        listen(RedisKeys.publications(channel)) { [unowned self] confirmed in
            guard confirmed else { return completion(.failure(.unavailable)) }
            if let member = request.member, request.options.presence { join(channel, member, options: request.options) }
            stream.startRead()
            position(channel, since: request.since, options: request.options) { result in
                switch result {
                case .failure(let error):
                    stream.abandonRead()
                    completion(.failure(error))
                case .success(let read):
                    stream.finishRead(read) { completion(.success($0)) }
                }
            }
        }
    }

    func unsubscribe(channel: String, member: PresenceMember?, lastOnLoop: Bool, options: ChannelOptions) {
        if let member, options.presence { leave(channel, member) }
        if lastOnLoop, let stream = streams[channel] {
            stream.wanted = false
            stream.idleSince = loop.now
        }
    }

    func publish(_ request: PublishRequest, completion: @escaping (Result<PublishResult, BrokerError>) -> Void) {
        let channel = request.channel
        let options = request.options
        let keyed = request.key != nil && options.idempotencyWindow > 0
        let inbox = options.inbox && request.user != nil
        let arguments: [[UInt8]] = [
            Array(RedisKeys.publications(channel).utf8), request.data, Array((request.user ?? "").utf8),
            Array(String(options.historySize).utf8), Array(Self.milliseconds(options.historyTTL).utf8),
            Array((keyed ? Self.milliseconds(options.idempotencyWindow) : "0").utf8),
            Array(String(inbox ? engine.settings.inboxMaxEntries : 0).utf8), Array("PUBLISH".utf8), Array(channel.utf8),
            Array(Self.metaTTL(options).utf8),
        ]
        let keys = [RedisKeys.meta(channel), RedisKeys.history(channel),
                    RedisKeys.idempotency(channel, user: request.user, key: request.key ?? ""), RedisKeys.inbox]
        call("relay_publish", keys: keys, arguments) { [unowned self] result in
            switch result {
            case .failure(.server(let message)) where message.hasPrefix("INBOXFULL"):
                completion(.failure(.inboxFull))
            case .failure(let error):
                completion(.failure(unavailable(error, "a publication")))
            case .success(let value):
                guard let parts = value.array, parts.count == 3, let offset = parts[0].int, let epoch = parts[1].string, let duplicate = parts[2].int else {
                    return completion(.failure(.unavailable))
                }
                completion(.success(PublishResult(offset: UInt64(offset), epoch: epoch, duplicate: duplicate == 1)))
            }
        }
    }

    func broadcast(channel: String, frame: SharedBytes, sender: UInt64, throttle: Throttle?,
                   completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        let envelope = Envelope.ephemeral(node: engine.node, sender: sender, push: Array(FramePayload.of(frame))).encoded()
        let send = { [unowned self] in
            commands.send([Array("PUBLISH".utf8), Array(RedisKeys.publications(channel).utf8), envelope]) { result in
                completion(result.map { _ in true }.mapError { _ in .unavailable })
            }
        }
        guard let throttle else { return send() }
        call("relay_throttle", keys: [RedisKeys.throttle(channel, key: throttle.key)], [Self.milliseconds(throttle.interval)]) { [unowned self] result in
            switch result {
            case .failure(let error): completion(.failure(unavailable(error, "a typing throttle")))
            case .success(let value): value.int == 1 ? send() : completion(.success(false))
            }
        }
    }

    func history(channel: String, limit: Int, before: UInt64?, completion: @escaping (Result<HistoryResult, BrokerError>) -> Void) {
        // The history TTL is the namespace's; entries past it are skipped by Redis's clock, so the
        // broker asks with none and relies on the stream's own expiry and length.
        call("relay_history", keys: [RedisKeys.meta(channel), RedisKeys.history(channel)],
             [String(limit), before.map { String($0) } ?? "", Self.milliseconds(86_400), "0"]) { [unowned self] result in
            switch result {
            case .failure(let error):
                completion(.failure(unavailable(error, "a history read")))
            case .success(let value):
                guard let parts = value.array, parts.count >= 2, let offset = parts[0].int, let epoch = parts[1].string else {
                    return completion(.failure(.unavailable))
                }
                let publications = parts.dropFirst(2).compactMap { self.publication(channel, $0)?.0 }
                completion(.success(HistoryResult(position: StreamPosition(offset: UInt64(offset), epoch: epoch), publications: publications)))
            }
        }
    }

    // MARK: Broker: presence

    private func memberID(_ connection: UInt64) -> String { "\(engine.node)/\(connection)" }

    /// The connection a member id names, when it is one of this node's: it does not get the push.
    private func localSender(_ member: String) -> Ephemeral {
        let parts = member.split(separator: "/")
        guard parts.count == 2, parts[0] == engine.node, let connection = UInt64(parts[1]) else { return .presence }
        return Ephemeral(sender: connection)
    }

    private func join(_ channel: String, _ member: PresenceMember, options: ChannelOptions) {
        let announce = options.joinLeave ? RedisKeys.publications(channel) : ""
        let local = members[channel] ?? ChannelMembers(announce: announce)
        if members[channel] == nil {
            members[channel] = local
            commands.send(["SADD", RedisKeys.nodeChannels(engine.node), (options.joinLeave ? "J" : "-") + channel])
        }
        local.members[member.connection] = member
        call("relay_join", keys: RedisKeys.presence(channel),
             [memberID(member.connection), member.user, member.info ?? "", ttlMilliseconds, "PUBLISH", announce]) { [unowned self] result in
            if case .failure(let error) = result { _ = unavailable(error, "a presence join") }
        }
    }

    private func leave(_ channel: String, _ member: PresenceMember) {
        guard let local = members[channel], local.members.removeValue(forKey: member.connection) != nil else { return }
        if local.members.isEmpty { members[channel] = nil }
        call("relay_leave", keys: RedisKeys.presence(channel), [memberID(member.connection), "PUBLISH", local.announce])
    }

    func presence(channel: String, options: ChannelOptions, completion: @escaping (Result<[PresenceEntry], BrokerError>) -> Void) {
        let announce = options.joinLeave ? RedisKeys.publications(channel) : ""
        call("relay_presence", keys: RedisKeys.presence(channel), ["PUBLISH", announce]) { [unowned self] result in
            switch result {
            case .failure(let error):
                completion(.failure(unavailable(error, "a presence read")))
            case .success(let value):
                completion(.success(PresenceList.entries(from: value.array ?? [])))
            }
        }
    }

    // MARK: Broker: users

    func userConnected(_ user: String, connection: UInt64, completion: @escaping (Result<Int, BrokerError>) -> Void) {
        if connections[user] == nil { commands.send(["SADD", RedisKeys.nodeUsers(engine.node), user]) }
        connections[user, default: []].insert(connection)
        call("relay_connect", keys: [RedisKeys.connections(user)],
             ["PUBLISH", RedisKeys.status(user), memberID(connection), ttlMilliseconds]) { [unowned self] result in
            switch result {
            case .failure(let error): completion(.failure(unavailable(error, "a connection count")))
            case .success(let value): completion(.success(Int(value.int ?? 1)))
            }
        }
    }

    func userDisconnected(_ user: String, connection: UInt64) {
        connections[user]?.remove(connection)
        if connections[user]?.isEmpty == true { connections[user] = nil }
        call("relay_disconnect", keys: [RedisKeys.connections(user)], ["PUBLISH", RedisKeys.status(user), memberID(connection)])
    }

    func online(users: [String], watch: Bool, completion: @escaping (Result<[String: Bool], BrokerError>) -> Void) {
        guard !users.isEmpty else { return completion(.success([:])) }
        var answer: [String: Bool] = [:]
        var remaining = users.count
        var failed = false
        let ask = { [unowned self] (user: String) in
            call("relay_online", keys: [RedisKeys.connections(user)], ["PUBLISH", RedisKeys.status(user)]) { result in
                if case .success(let value) = result { answer[user] = (value.int ?? 0) > 0 } else { failed = true }
                remaining -= 1
                if remaining == 0 { completion(failed ? .failure(.unavailable) : .success(answer)) }
            }
        }
        for user in users {
            // A watcher hears every transition after the answer: subscribed before asking.
            guard watch else { ask(user); continue }
            listen(RedisKeys.status(user)) { confirmed in
                if confirmed { return ask(user) }
                failed = true
                remaining -= 1
                if remaining == 0 { completion(.failure(.unavailable)) }
            }
        }
    }

    func unwatch(users: [String]) {
        for user in users { stopListening(RedisKeys.status(user)) }
    }

    // MARK: Broker: inbox

    func readInbox(limit: Int, lease: Double, completion: @escaping (Result<[InboxEntry], BrokerError>) -> Void) {
        call("relay_inbox_read", keys: [RedisKeys.inbox, RedisKeys.inboxLeases],
             [RedisKeys.inboxGroup, "relay-api", String(limit), Self.milliseconds(lease)]) { [unowned self] result in
            switch result {
            case .failure(let error): completion(.failure(unavailable(error, "an inbox read")))
            case .success(let value): completion(.success(InboxEntries.parse(value.array ?? [])))
            }
        }
    }

    func acknowledgeInbox(ids: [String], completion: @escaping (Result<Int, BrokerError>) -> Void) {
        let valid = ids.filter(InboxEntries.isStreamID)
        guard !valid.isEmpty else { return completion(.success(0)) }
        call("relay_inbox_ack", keys: [RedisKeys.inbox, RedisKeys.inboxLeases], [RedisKeys.inboxGroup] + valid) { [unowned self] result in
            switch result {
            case .failure(let error): completion(.failure(unavailable(error, "an inbox acknowledgement")))
            case .success(let value): completion(.success(Int(value.int ?? 0)))
            }
        }
    }

    // MARK: Broker: control

    func sendControl(_ command: ControlCommand, completion: @escaping (Result<Void, BrokerError>) -> Void) {
        commands.send([Array("PUBLISH".utf8), Array(RedisKeys.control.utf8), Envelope.control(command).encoded()]) { result in
            completion(result.map { _ in () }.mapError { _ in .unavailable })
        }
    }

    // MARK: Upkeep

    /// Every second: channels past their linger are unsubscribed; every third of the presence
    /// TTL, this loop's presence and connections are refreshed in Redis (pipelined), and loop 0
    /// keeps the node alive and clears up after nodes that died.
    private func upkeep() {
        let now = loop.now
        if unreadable > 0 {
            logger.warning("unreadable messages on Relay's channels in Redis were dropped",
                           metadata: ["count": "\(unreadable)", "last": "\(lastUnreadable)"])
            unreadable = 0
        }
        let linger = Clock.nanoseconds(seconds: engine.settings.linger)
        var finished: [String] = []
        for (channel, stream) in streams where stream.isIdle && now &- stream.idleSince >= linger { finished.append(channel) }
        for channel in finished {
            streams[channel] = nil
            stopListening(RedisKeys.publications(channel))
        }
        if now &- lastRefresh >= Clock.nanoseconds(seconds: engine.settings.presenceTTL / 3) { refreshPresence() }
        for (channel, stream) in streams where stream.gap && !stream.isReading && interests[RedisKeys.publications(channel)]?.confirmed == true {
            fillGap(channel, stream)
        }
        loop.timers.schedule(upkeepTimer, after: Self.upkeepInterval, now: loop.now)
    }

    private func refreshPresence() {
        lastRefresh = loop.now
        guard commands.isReady else { return }
        let ttl = ttlMilliseconds
        for (channel, local) in members {
            var arguments = [ttl, "PUBLISH", local.announce]
            for (connection, member) in local.members { arguments += [memberID(connection), member.user, member.info ?? ""] }
            call("relay_presence_refresh", keys: RedisKeys.presence(channel), arguments)
        }
        for (user, set) in connections {
            call("relay_connections_refresh", keys: [RedisKeys.connections(user)],
                 ["PUBLISH", RedisKeys.status(user), ttl] + set.map(memberID))
        }
        // This node's records for the survivors, written again each time: a node taken for dead
        // while paused (and reaped) or a Redis that lost its data gets them back.
        if !members.isEmpty {
            commands.send(["SADD", RedisKeys.nodeChannels(engine.node)] + members.map { ($0.value.announce.isEmpty ? "-" : "J") + $0.key })
        }
        if !connections.isEmpty { commands.send(["SADD", RedisKeys.nodeUsers(engine.node)] + Array(connections.keys)) }
        if loop.index == 0 { NodeRegistry(broker: self).beat() }
    }

    /// For `NodeRegistry`.
    func sendCommand(_ arguments: [String], completion: @escaping (Result<RESPValue, RedisError>) -> Void = { _ in }) {
        commands.send(arguments, completion: completion)
    }

    func callFunction(_ function: String, keys: [String], _ arguments: [String]) {
        call(function, keys: keys, arguments)
    }
}
