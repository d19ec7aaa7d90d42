import Broker
import Buffers
import Glibc
import Logging
import Reactor
import Redis

/// One loop's side of the Redis engine. Each Redis (the one, or every master of a cluster) gets
/// a command connection, for the function calls, pipelined, and a pub/sub connection for this
/// loop's subscriptions: the channels it has subscribers for (kept for `linger` after the last
/// one leaves), the users it watches, and the control channel. In a cluster a channel's
/// subscription is sharded (`SSUBSCRIBE` on its slot's master) and follows the slot when it
/// moves. A publication from Redis is decoded and framed once per loop and handed to the gateway
/// to fan out.
final class RedisBroker: Broker {
    weak var delegate: BrokerDelegate?
    let engine: RedisEngine
    unowned let loop: EventLoop
    let shards: RedisShards
    private var logger: Logger { loop.logger }
    /// Pub/sub subscriptions by Redis channel name.
    private var interests: [String: PubSubInterest] = [:]
    /// UNSUBSCRIBEs sent and not yet confirmed, by node and name: a `subscribe` confirmation that
    /// comes before them answers an older SUBSCRIBE, not the one a new interest waits for; and an
    /// `sunsubscribe` that none explains is a cluster slot that moved away.
    private var unsubscribing: [String: Int] = [:]
    /// Unreadable messages since the last upkeep, logged once a second rather than each.
    private var unreadable = 0
    private var lastUnreadable = ""
    /// Events that could not be appended (Redis away) since the last upkeep.
    private var eventsLost = 0
    /// Channels with local subscribers (or lingering), by channel name.
    private var streams: [String: LiveStream] = [:]
    /// Local presence members by channel, refreshed in Redis before they expire.
    private var members: [String: ChannelMembers] = [:]
    /// Local authenticated connections by user, refreshed in Redis the same way.
    private var connections: [String: Set<UInt64>] = [:]
    private lazy var upkeepTimer = LoopTimer { [unowned self] in self.upkeep() }
    private var lastRefresh: UInt64 = 0
    private var ttlMilliseconds: String { String(Int(engine.settings.presenceTTL * 1000)) }
    /// What the functions publish with: sharded pub/sub in a cluster.
    let publishCommand: String

    final class PubSubInterest {
        var confirmed = false
        /// The node the subscription was sent to, and when (an unconfirmed one is sent again).
        var node: RedisShards.Node?
        var sentAt: UInt64 = 0
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
        shards = RedisShards(settings: engine.settings, loop: loop)
        publishCommand = engine.settings.cluster ? "SPUBLISH" : "PUBLISH"
    }

    func start() {
        shards.onCommandsReady = { [unowned self] node in commandsReady(node) }
        shards.onPubSubReady = { [unowned self] node in pubsubReady(node) }
        shards.onPubSubLost = { [unowned self] node in pubsubLost(node) }
        shards.onPush = { [unowned self] node, value in received(value, from: node) }
        shards.onTopologyChange = { [unowned self] in rehome() }
        interests[RedisKeys.control] = PubSubInterest()
        shards.start()
        loop.timers.schedule(upkeepTimer, after: Self.upkeepInterval, now: loop.now)
    }

    var isHealthy: Bool { shards.isHealthy }

    static let upkeepInterval: UInt64 = 1_000_000_000
    /// Live publications one channel may hold while its gap is read.
    static let maxHeld = 10_000

    // MARK: Connections

    /// Every (re)connection: the functions first (a Redis that restarted empty has none), then
    /// this node's presence and connections again.
    private func commandsReady(_ node: RedisShards.Node) {
        shards.send([Array("FUNCTION".utf8), Array("LOAD".utf8), Array("REPLACE".utf8), Array(RelayFunctions.source.utf8)], to: node) { [logger] result in
            if case .failure(let error) = result { logger.error("Redis refused Relay's functions", metadata: ["error": "\(error)", "node": "\(node.address)"]) }
        }
        refreshPresence()
    }

    /// The control channel is not sharded: a PUBLISH reaches every node of a cluster.
    private func isSharded(_ name: String) -> Bool { engine.settings.cluster && name != RedisKeys.control }

    private func subscribe(_ names: [String], on node: RedisShards.Node) {
        let sharded = names.filter(isSharded)
        let plain = names.filter { !isSharded($0) }
        // Sharded: one channel per command (a command's channels must share a slot).
        for name in sharded { node.pubsub.send(["SSUBSCRIBE", name]) }
        // Plain: one command per thousand names; Redis confirms each name on its own.
        for start in stride(from: 0, to: plain.count, by: 1000) {
            node.pubsub.send(["SUBSCRIBE"] + plain[start..<min(start + 1000, plain.count)])
        }
    }

    private func unsubscribeKey(_ node: RedisShards.Node, _ name: String) -> String { node.address + " " + name }

    private func pubsubReady(_ node: RedisShards.Node) {
        for interest in interests.values where interest.node === node { interest.confirmed = false }
        rehome()
    }

    private func pubsubLost(_ node: RedisShards.Node) {
        // What was asked of the lost connection will never be answered.
        unsubscribing = unsubscribing.filter { !$0.key.hasPrefix(node.address + " ") }
        var released: [() -> Void] = []
        for (name, interest) in interests where interest.node === node {
            released += lose(name, interest)
        }
        for work in released { work() }
        // The control channel moves to another node at once; channels wait for their master (the
        // shards read the slot table again).
        rehome()
    }

    /// A subscription that ended without being asked to: its waiters fail, and a channel's live
    /// stream has a gap from now on (filled from history once subscribed again).
    private func lose(_ name: String, _ interest: PubSubInterest) -> [() -> Void] {
        interest.confirmed = false
        let waiting = interest.waiting
        interest.waiting = []
        var released: [() -> Void] = [{ for completion in waiting { completion(false) } }]
        if let channel = RedisKeys.name(in: name, prefix: RedisKeys.publicationPrefix), let stream = streams[channel] {
            released += stream.interrupt()
        }
        return released
    }

    /// Where a subscription belongs: its slot's master; the control channel (which every node of
    /// a cluster carries) stays where it is while that connection is up.
    private func home(of name: String) -> RedisShards.Node? {
        guard engine.settings.cluster, !isSharded(name) else { return shards.owner(of: name) }
        if let current = interests[name]?.node, current.pubsub.isReady, shards.masters.contains(where: { $0 === current }) { return current }
        return shards.anyReadyMaster
    }

    /// Subscriptions follow their home (after the slot table changed, a connection came back or
    /// broke), and those still unconfirmed are asked again: a `MOVED` or `CLUSTERDOWN` reply to
    /// a subscription names no channel.
    private func rehome() {
        var released: [() -> Void] = []
        var wanted: [ObjectIdentifier: (RedisShards.Node, [String])] = [:]
        let now = loop.now
        for (name, interest) in interests {
            guard let home = home(of: name) else { continue }
            if interest.node !== home {
                // The old node's subscription, confirmed or in flight, must not deliver too.
                if let old = interest.node, old.pubsub.isReady {
                    unsubscribing[unsubscribeKey(old, name), default: 0] += 1
                    old.pubsub.send([isSharded(name) ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", name])
                }
                if interest.confirmed { released += lose(name, interest) }
                interest.node = home
                interest.confirmed = false
            }
            if !interest.confirmed, home.pubsub.isReady {
                interest.sentAt = now
                wanted[ObjectIdentifier(home), default: (home, [])].1.append(name)
            }
        }
        for (node, names) in wanted.values { subscribe(names, on: node) }
        for work in released { work() }
    }

    /// Subscribes to a Redis channel (once per loop); `then` runs when Redis confirmed it.
    private func listen(_ name: String, then: @escaping (Bool) -> Void) {
        if let interest = interests[name] {
            if interest.confirmed { return then(true) }
            guard interest.node?.pubsub.isReady == true else { return then(false) }
            interest.waiting.append(then)
            return
        }
        guard let node = home(of: name), node.pubsub.isReady else { return then(false) }
        let interest = PubSubInterest()
        interest.node = node
        interest.sentAt = loop.now
        interest.waiting.append(then)
        interests[name] = interest
        subscribe([name], on: node)
    }

    private func stopListening(_ name: String) {
        guard let interest = interests.removeValue(forKey: name) else { return }
        for completion in interest.waiting { completion(false) }
        guard let node = interest.node, node.pubsub.isReady else { return }
        unsubscribing[unsubscribeKey(node, name), default: 0] += 1
        node.pubsub.send([isSharded(name) ? "SUNSUBSCRIBE" : "UNSUBSCRIBE", name])
    }

    // MARK: Pub/sub messages

    private func received(_ value: RESPValue, from node: RedisShards.Node) {
        if case .error(let message) = value {
            // A sharded subscription sent to a master that no longer serves its slot.
            if let redirect = ClusterRedirect(message, from: node.address) { return shards.moved(redirect) }
            // The upkeep asks again (CLUSTERDOWN while a master is elected, for one).
            logger.warning("Redis refused a subscription", metadata: ["error": "\(message)", "node": "\(node.address)"])
            return
        }
        guard let parts = value.array, parts.count >= 3, let kind = parts[0].string, let name = parts[1].string else { return }
        switch kind {
        case "message", "smessage":
            // Only from where the subscription lives: an old node's, ended by rehome, may linger.
            guard let payload = parts[2].bytes, interests[name]?.node === node else { return }
            message(on: name, payload)
        case "unsubscribe", "sunsubscribe":
            let key = unsubscribeKey(node, name)
            if let count = unsubscribing[key] {
                unsubscribing[key] = count > 1 ? count - 1 : nil
            } else if let interest = interests[name], interest.node === node, interest.confirmed {
                // Redis ended it: the channel's slot moved to another master.
                logger.info("a subscription's slot moved to another master; following it", metadata: ["redis_channel": "\(name)"])
                for work in lose(name, interest) { work() }
                shards.refreshTopology()
                // Asked again of the master the table names; a MOVED reply corrects it.
                rehome()
            }
        case "subscribe", "ssubscribe":
            guard unsubscribing[unsubscribeKey(node, name)] == nil, let interest = interests[name], interest.node === node, !interest.confirmed else { return }
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
        shards.send(command, key: keys.first ?? function, completion: completion)
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
        // In a cluster the inbox is in another slot: appended by a second call (below).
        let inboxHere = inbox && !engine.settings.cluster
        let arguments: [[UInt8]] = [
            Array(RedisKeys.publications(channel).utf8), request.data, Array((request.user ?? "").utf8),
            Array(String(options.historySize).utf8), Array(Self.milliseconds(options.historyTTL).utf8),
            Array((keyed ? Self.milliseconds(options.idempotencyWindow) : "0").utf8),
            Array(String(inboxHere ? engine.settings.inboxMaxEntries : 0).utf8), Array(publishCommand.utf8), Array(channel.utf8),
            Array(Self.metaTTL(options).utf8),
        ]
        var keys = [RedisKeys.meta(channel), RedisKeys.history(channel), RedisKeys.idempotency(channel, user: request.user, key: request.key ?? "")]
        if inboxHere { keys.append(RedisKeys.inbox) }
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
                let published = PublishResult(offset: UInt64(offset), epoch: epoch, duplicate: duplicate == 1)
                guard inbox && !inboxHere else { return completion(.success(published)) }
                appendToInbox(request, published, completion: completion)
            }
        }
    }

    /// A cluster's inbox entry, after its publication: also for a repeat, whose first attempt
    /// may have failed here (the client retried), so the API may see an entry twice and
    /// deduplicates on (channel, epoch, offset) (docs/REDIS.md).
    private func appendToInbox(_ request: PublishRequest, _ published: PublishResult,
                               completion: @escaping (Result<PublishResult, BrokerError>) -> Void) {
        let arguments: [[UInt8]] = [
            Array(String(engine.settings.inboxMaxEntries).utf8), Array(request.channel.utf8), Array(String(published.offset).utf8),
            Array(published.epoch.utf8), Array((request.user ?? "").utf8), request.data,
        ]
        call("relay_inbox_add", keys: [RedisKeys.inbox], arguments) { [unowned self] result in
            switch result {
            case .failure(.server(let message)) where message.hasPrefix("INBOXFULL"): completion(.failure(.inboxFull))
            case .failure(let error): completion(.failure(unavailable(error, "an inbox entry")))
            case .success: completion(.success(published))
            }
        }
    }

    func broadcast(channel: String, frame: SharedBytes, sender: UInt64, throttle: Throttle?,
                   completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        let envelope = Envelope.ephemeral(node: engine.node, sender: sender, push: Array(FramePayload.of(frame))).encoded()
        let send = { [unowned self] in
            shards.send([Array(publishCommand.utf8), Array(RedisKeys.publications(channel).utf8), envelope], key: RedisKeys.publications(channel)) { result in
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
            sendCommand(["SADD", RedisKeys.nodeChannels(engine.node), (options.joinLeave ? "J" : "-") + channel])
        }
        local.members[member.connection] = member
        call("relay_join", keys: RedisKeys.presence(channel),
             [memberID(member.connection), member.user, member.info ?? "", ttlMilliseconds, publishCommand, announce]) { [unowned self] result in
            switch result {
            case .failure(let error): _ = unavailable(error, "a presence join")
            case .success(let value): appendTransitions(value, channel: channel)
            }
        }
    }

    private func leave(_ channel: String, _ member: PresenceMember) {
        guard let local = members[channel], local.members.removeValue(forKey: member.connection) != nil else { return }
        if local.members.isEmpty { members[channel] = nil }
        call("relay_leave", keys: RedisKeys.presence(channel), [memberID(member.connection), publishCommand, local.announce, "left"]) { [unowned self] result in
            if case .success(let value) = result { appendTransitions(value, channel: channel) }
        }
    }

    func presence(channel: String, options: ChannelOptions, completion: @escaping (Result<[PresenceEntry], BrokerError>) -> Void) {
        call("relay_presence", keys: RedisKeys.presence(channel), [String]()) { [unowned self] result in
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
        if connections[user] == nil { sendCommand(["SADD", RedisKeys.nodeUsers(engine.node), user]) }
        connections[user, default: []].insert(connection)
        appendEvent(.connect, user: user, client: memberID(connection))
        call("relay_connect", keys: [RedisKeys.connections(user)],
             [publishCommand, RedisKeys.status(user), user, memberID(connection), ttlMilliseconds]) { [unowned self] result in
            switch result {
            case .failure(let error):
                completion(.failure(unavailable(error, "a connection count")))
            case .success(let value):
                appendTransitions(value, channel: nil)
                completion(.success(Int(value.array?.first?.int ?? 1)))
            }
        }
    }

    func userDisconnected(_ user: String, connection: UInt64, cause: DisconnectCause) {
        connections[user]?.remove(connection)
        if connections[user]?.isEmpty == true { connections[user] = nil }
        appendEvent(.disconnect, user: user, client: memberID(connection), reason: cause.reason, code: cause.code)
        call("relay_disconnect", keys: [RedisKeys.connections(user)], [publishCommand, RedisKeys.status(user), user, memberID(connection)]) { [unowned self] result in
            if case .success(let value) = result { appendTransitions(value, channel: nil) }
        }
    }

    func online(users: [String], watch: Bool, completion: @escaping (Result<[String: Bool], BrokerError>) -> Void) {
        guard !users.isEmpty else { return completion(.success([:])) }
        var answer: [String: Bool] = [:]
        var remaining = users.count
        var failed = false
        let ask = { [unowned self] (user: String) in
            call("relay_online", keys: [RedisKeys.connections(user)], [String]()) { result in
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
        shards.sendToAnyMaster([Array("PUBLISH".utf8), Array(RedisKeys.control.utf8), Envelope.control(command).encoded()]) { result in
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
        if eventsLost > 0 {
            logger.warning("events for the API's stream were lost while Redis was away", metadata: ["count": "\(eventsLost)"])
            eventsLost = 0
        }
        let linger = Clock.nanoseconds(seconds: engine.settings.linger)
        var finished: [String] = []
        for (channel, stream) in streams where stream.isIdle && now &- stream.idleSince >= linger { finished.append(channel) }
        for channel in finished {
            streams[channel] = nil
            stopListening(RedisKeys.publications(channel))
        }
        if now &- lastRefresh >= Clock.nanoseconds(seconds: engine.settings.presenceTTL / 3) { refreshPresence() }
        shards.upkeep()
        let resend = Clock.nanoseconds(seconds: 5)
        var overdue = false
        for interest in interests.values where !interest.confirmed && interest.node?.pubsub.isReady == true && now &- interest.sentAt >= resend {
            overdue = true
            // Redis refused it (an ACL, CLUSTERDOWN) or never answered: the clients get their
            // answer (`unavailable`) now, and it is asked again.
            let waiting = interest.waiting
            interest.waiting = []
            for completion in waiting { completion(false) }
        }
        if overdue { rehome() }
        for (channel, stream) in streams where stream.gap && !stream.isReading && interests[RedisKeys.publications(channel)]?.confirmed == true {
            fillGap(channel, stream)
        }
        loop.timers.schedule(upkeepTimer, after: Self.upkeepInterval, now: loop.now)
    }

    private func refreshPresence() {
        lastRefresh = loop.now
        let ttl = ttlMilliseconds
        for (channel, local) in members {
            var arguments = [ttl, publishCommand, local.announce]
            for (connection, member) in local.members { arguments += [memberID(connection), member.user, member.info ?? ""] }
            call("relay_presence_refresh", keys: RedisKeys.presence(channel), arguments) { [unowned self] result in
                if case .success(let value) = result { appendTransitions(value, channel: channel) }
            }
        }
        for (user, set) in connections {
            call("relay_connections_refresh", keys: [RedisKeys.connections(user)],
                 [publishCommand, RedisKeys.status(user), user, ttl] + set.map(memberID)) { [unowned self] result in
                if case .success(let value) = result { appendTransitions(value, channel: nil) }
            }
        }
        // This node's records for the survivors, written again each time: a node taken for dead
        // while paused (and reaped) or a Redis that lost its data gets them back.
        if !members.isEmpty {
            sendCommand(["SADD", RedisKeys.nodeChannels(engine.node)] + members.map { ($0.value.announce.isEmpty ? "-" : "J") + $0.key })
        }
        if !connections.isEmpty { sendCommand(["SADD", RedisKeys.nodeUsers(engine.node)] + Array(connections.keys)) }
        if loop.index == 0 { NodeRegistry(broker: self).beat() }
    }

    /// A plain command, routed by its key (the first argument after the command's name).
    func sendCommand(_ arguments: [String], completion: @escaping (Result<RESPValue, RedisError>) -> Void = { _ in }) {
        shards.send(arguments, key: arguments[1], completion: completion)
    }

    /// A purge by the reaper: the transitions it made go to the events stream.
    func purge(_ function: String, keys: [String], _ arguments: [String], channel: String?) {
        call(function, keys: keys, arguments) { [unowned self] result in
            if case .success(let value) = result { appendTransitions(value, channel: channel) }
        }
    }

    // MARK: Events

    /// Appends to the API's events stream; not queued while Redis is away (counted and logged).
    private func appendEvent(_ type: RelayEvent.Kind, user: String, client: String, channel: String? = nil,
                             reason: String = "", code: UInt16? = nil) {
        guard engine.settings.eventsMaxEntries > 0 else { return }
        let event = RelayEvent(kind: type, user: user, client: client, channel: channel, reason: reason, code: code)
        sendCommand(event.command(maxEntries: engine.settings.eventsMaxEntries, node: engine.node, time: Clock.wallMilliseconds())) { [unowned self] result in
            if case .failure = result { eventsLost += 1 }
        }
    }

    /// The transitions a function reported (`{result, {{type, user, client, reason}...}}`).
    private func appendTransitions(_ reply: RESPValue, channel: String?) {
        guard let parts = reply.array, parts.count == 2, let transitions = parts[1].array else { return }
        for transition in transitions {
            guard let fields = transition.array, fields.count == 4, let name = fields[0].string, let kind = RelayEvent.Kind(rawValue: name),
                  let user = fields[1].string, let client = fields[2].string, let reason = fields[3].string else { continue }
            appendEvent(kind, user: user, client: client, channel: kind.isPresence ? channel : nil, reason: reason)
        }
    }
}
