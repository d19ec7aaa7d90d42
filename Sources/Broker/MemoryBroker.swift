import Buffers
import Glibc
import Reactor

/// One loop's side of the in-memory engine: the Broker the gateway calls, and the shard of
/// channels this loop owns. Requests for a channel go to its owner (directly when that is this
/// loop); replies come back through the caller's task queue.
public final class MemoryBroker: Broker {
    public weak var delegate: BrokerDelegate?
    let engine: MemoryEngine
    unowned let loop: EventLoop
    private var peers: [LoopBound<MemoryBroker>] = []
    private var handles: [LoopHandle] = []
    private var streams: [String: ChannelStream] = [:]
    private var users: [String: UserStatus] = [:]
    /// `online` answers being gathered on this loop (see statusArrived).
    private var gathering: [ObjectIdentifier: Gather] = [:]
    /// Client publications of the channels this loop owns, for the main API.
    private let inbox: Inbox
    private lazy var sweepTimer = LoopTimer { [unowned self] in self.sweep() }
    static let sweepInterval: UInt64 = 1_000_000_000

    init(engine: MemoryEngine, loop: EventLoop) {
        self.engine = engine
        self.loop = loop
        inbox = Inbox(maxEntries: engine.inboxShard.maxEntries, maxBytes: engine.inboxShard.maxBytes)
    }

    func connect(peers: [LoopBound<MemoryBroker>], handles: [LoopHandle]) {
        self.peers = peers
        self.handles = handles
        loop.timers.schedule(sweepTimer, after: Self.sweepInterval, now: loop.now)
    }

    /// Seconds on the monotonic clock, for history TTLs and idempotency windows.
    private var now: Double { Double(loop.now) / 1e9 }

    // MARK: Routing

    /// Runs `work` on the loop that owns `channel`.
    private func onOwner(of channel: String, _ work: @escaping @Sendable (MemoryBroker) -> Void) {
        onShard(engine.owner(of: channel), work)
    }

    /// Runs a caller's completion on the caller's loop.
    private func reply<T: Sendable>(_ completion: LoopBound<(T) -> Void>, _ value: T) {
        if completion.loopIndex == loop.index {
            completion.value(value)
        } else {
            handles[completion.loopIndex].execute { _ in completion.value(value) }
        }
    }

    private func fanOut(_ stream: ChannelStream, _ frame: SharedBytes, ephemeral: Ephemeral? = nil) {
        let channel = stream.name
        let acceptedAt = Clock.now()
        for index in stream.interestedLoops {
            if index == loop.index {
                delegate?.deliver(channel: channel, frame: frame, ephemeral: ephemeral, acceptedAt: acceptedAt)
            } else {
                let peer = peers[index]
                handles[index].execute { _ in
                    peer.value.delegate?.deliver(channel: channel, frame: frame, ephemeral: ephemeral, acceptedAt: acceptedAt)
                }
            }
        }
    }

    private func stream(_ channel: String) -> ChannelStream {
        if let stream = streams[channel] { return stream }
        let epoch = String(UInt64.random(in: 1...UInt64.max), radix: 36)
        let stream = ChannelStream(name: channel, epoch: epoch)
        streams[channel] = stream
        return stream
    }

    // MARK: Broker

    public func subscribe(_ request: SubscribeRequest, completion: @escaping (Result<SubscribeResult, BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        let origin = loop.index
        onOwner(of: request.channel) { owner in
            owner.reply(done, .success(owner.subscribeOwned(request, from: origin)))
        }
    }

    private func subscribeOwned(_ request: SubscribeRequest, from origin: Int) -> SubscribeResult {
        let stream = stream(request.channel)
        stream.interestedLoops.insert(origin)
        var recovered = false
        var publications: [Publication] = []
        if let since = request.since, let missed = stream.publications(after: since) {
            recovered = true
            publications = missed
        }
        if let member = request.member, request.options.presence, stream.join(member), request.options.joinLeave {
            fanOut(stream, engine.encoder.join(channel: request.channel, user: member.user, info: member.info), ephemeral: .presence)
        }
        return SubscribeResult(position: stream.position, recovered: recovered, publications: publications)
    }

    public func unsubscribe(channel: String, member: PresenceMember?, lastOnLoop: Bool, options: ChannelOptions) {
        let origin = loop.index
        onOwner(of: channel) { owner in
            guard let stream = owner.streams[channel] else { return }
            if let member, options.presence, stream.leave(member), options.joinLeave {
                owner.fanOut(stream, owner.engine.encoder.leave(channel: channel, user: member.user), ephemeral: .presence)
            }
            if lastOnLoop { stream.interestedLoops.remove(origin) }
        }
    }

    public func publish(_ request: PublishRequest, completion: @escaping (Result<PublishResult, BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        onOwner(of: request.channel) { owner in
            owner.reply(done, owner.publishOwned(request))
        }
    }

    private func publishOwned(_ request: PublishRequest) -> Result<PublishResult, BrokerError> {
        let stream = stream(request.channel)
        let now = self.now
        if let first = stream.remembered(user: request.user, key: request.key, now: now) { return .success(first) }
        let inboxUser = request.options.inbox ? request.user : nil
        if inboxUser != nil, !inbox.hasRoom(for: request.data.count) { return .failure(.inboxFull) }
        let offset = stream.nextOffset()
        let publication = engine.encoder.publication(channel: request.channel, offset: offset, data: request.data, user: request.user)
        stream.append(publication, options: request.options, now: now)
        let result = PublishResult(offset: offset, epoch: stream.epoch, duplicate: false)
        stream.remember(result, user: request.user, key: request.key, window: request.options.idempotencyWindow, now: now)
        if let inboxUser {
            inbox.append(InboxMessage(channel: request.channel, offset: offset, epoch: stream.epoch, user: inboxUser,
                                      data: request.data, time: Clock.wallMilliseconds(), acceptedAt: Clock.now()))
        }
        fanOut(stream, publication.frame)
        return .success(result)
    }

    public func broadcast(channel: String, frame: SharedBytes, sender: UInt64, throttle: Throttle?,
                          completion: @escaping (Result<Bool, BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        onOwner(of: channel) { owner in
            guard let stream = owner.streams[channel] else { return owner.reply(done, .success(false)) }
            if let throttle, !stream.admit(throttle, now: owner.now) { return owner.reply(done, .success(false)) }
            owner.fanOut(stream, frame, ephemeral: Ephemeral(sender: sender))
            owner.reply(done, .success(true))
        }
    }

    public func history(channel: String, limit: Int, before: UInt64?,
                        completion: @escaping (Result<HistoryResult, BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        onOwner(of: channel) { owner in
            let stream = owner.stream(channel)
            owner.reply(done, .success(HistoryResult(position: stream.position, publications: stream.page(limit: limit, before: before))))
        }
    }

    public func presence(channel: String, options: ChannelOptions, completion: @escaping (Result<[PresenceEntry], BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        onOwner(of: channel) { owner in
            owner.reply(done, .success(owner.streams[channel]?.presenceEntries ?? []))
        }
    }

    // MARK: Online status

    /// Runs `work` on the loop that owns `user` (users are sharded like channels).
    private func onOwner(ofUser user: String, _ work: @escaping @Sendable (MemoryBroker) -> Void) {
        onOwner(of: "\u{1}user:" + user, work)
    }

    public func userConnected(_ user: String, connection: UInt64, completion: @escaping (Result<Int, BrokerError>) -> Void) {
        let done = LoopBound(completion, loop: loop.index)
        onOwner(ofUser: user) { owner in
            let status = owner.users[user] ?? UserStatus()
            owner.users[user] = status
            status.connections += 1
            if status.connections == 1 { owner.tellWatchers(user, status, online: true) }
            owner.reply(done, .success(status.connections))
        }
    }

    public func userDisconnected(_ user: String, connection: UInt64, cause: DisconnectCause) {
        onOwner(ofUser: user) { owner in
            guard let status = owner.users[user], status.connections > 0 else { return }
            status.connections -= 1
            if status.connections == 0 { owner.tellWatchers(user, status, online: false) }
            if status.isIdle { owner.users[user] = nil }
        }
    }

    private func tellWatchers(_ user: String, _ status: UserStatus, online: Bool) {
        guard !status.watchers.isEmpty else { return }
        let frame = engine.encoder.status(user: user, online: online)
        for index in status.watchers {
            if index == loop.index {
                statusArrived(user, online: online, frame: frame)
            } else {
                let peer = peers[index]
                handles[index].execute { _ in peer.value.statusArrived(user, online: online, frame: frame) }
            }
        }
    }

    /// A watched user's transition reaches this loop. An `online` command still gathering answers
    /// from other owners has already heard this user's owner (the same FIFO queue brought the
    /// answer first), so its answer is stale: correct it, since its client is not yet among the
    /// watchers the delegate pushes to.
    private func statusArrived(_ user: String, online: Bool, frame: SharedBytes) {
        for gather in gathering.values where gather.result[user] != nil { gather.result[user] = online }
        delegate?.statusChanged(user: user, frame: frame)
    }

    public func online(users: [String], watch: Bool, completion: @escaping (Result<[String: Bool], BrokerError>) -> Void) {
        let origin = loop.index
        let byOwner = Dictionary(grouping: users) { engine.owner(of: "\u{1}user:" + $0) }
        guard !byOwner.isEmpty else { return completion(.success([:])) }
        // Gathered on this loop: each owner answers for its users, the last answer completes.
        let gather = Gather(expected: byOwner.count, completion: completion)
        let key = ObjectIdentifier(gather)
        gathering[key] = gather
        gather.finished = { [unowned self] in gathering[key] = nil }
        let done = LoopBound(gather.add, loop: origin)
        for (_, group) in byOwner {
            onOwner(ofUser: group[0]) { owner in
                var answer: [String: Bool] = [:]
                for user in group {
                    if watch {
                        let status = owner.users[user] ?? UserStatus()
                        owner.users[user] = status
                        status.watchers.insert(origin)
                    }
                    answer[user] = owner.users[user]?.isOnline ?? false
                }
                owner.reply(done, answer)
            }
        }
    }

    public func unwatch(users: [String]) {
        let origin = loop.index
        for user in users {
            onOwner(ofUser: user) { owner in
                guard let status = owner.users[user] else { return }
                status.watchers.remove(origin)
                if status.isIdle { owner.users[user] = nil }
            }
        }
    }

    /// Collects the answers of several owner loops on the asking loop.
    private final class Gather {
        var remaining: Int
        /// The answers so far; a user is present once their owner answered.
        var result: [String: Bool] = [:]
        let completion: (Result<[String: Bool], BrokerError>) -> Void
        var finished: (() -> Void)?

        init(expected: Int, completion: @escaping (Result<[String: Bool], BrokerError>) -> Void) {
            remaining = expected
            self.completion = completion
        }

        func add(_ part: [String: Bool]) {
            // A transition that arrived since this owner answered is already in `result`.
            result.merge(part) { current, _ in current }
            remaining -= 1
            if remaining == 0 {
                finished?()
                completion(.success(result))
            }
        }
    }

    // MARK: Inbox

    /// Every shard leases up to `limit`; the oldest `limit` of all are answered and the rest are
    /// given back at once.
    public func readInbox(limit: Int, lease: Double, completion: @escaping (Result<[InboxEntry], BrokerError>) -> Void) {
        let origin = loop.index
        var parts: [[(shard: Int, sequence: UInt64, message: InboxMessage)]] = []
        let done = LoopBound({ [unowned self] (part: [(shard: Int, sequence: UInt64, message: InboxMessage)]) in
            parts.append(part)
            guard parts.count == engine.loopCount else { return }
            let all = parts.joined().sorted { ($0.message.acceptedAt, $0.shard, $0.sequence) < ($1.message.acceptedAt, $1.shard, $1.sequence) }
            let chosen = all.prefix(limit)
            let returned = Dictionary(grouping: all.dropFirst(limit), by: \.shard)
            for (shard, entries) in returned {
                let sequences = entries.map(\.sequence)
                onShard(shard) { $0.inbox.release(sequences) }
            }
            completion(.success(chosen.map { InboxEntry(id: "\($0.shard)-\($0.sequence)", message: $0.message) }))
        }, loop: origin)
        for shard in 0..<engine.loopCount {
            onShard(shard) { owner in
                let leased = owner.inbox.lease(limit: limit, now: owner.now, lease: lease)
                owner.reply(done, leased.map { (shard: shard, sequence: $0.sequence, message: $0.message) })
            }
        }
    }

    public func acknowledgeInbox(ids: [String], completion: @escaping (Result<Int, BrokerError>) -> Void) {
        var byShard: [Int: [UInt64]] = [:]
        for id in ids {
            let parts = id.split(separator: "-")
            guard parts.count == 2, let shard = Int(parts[0]), shard >= 0, shard < engine.loopCount,
                  let sequence = UInt64(parts[1]) else { continue }
            byShard[shard, default: []].append(sequence)
        }
        guard !byShard.isEmpty else { return completion(.success(0)) }
        var remaining = byShard.count, total = 0
        let done = LoopBound({ (removed: Int) in
            total += removed
            remaining -= 1
            if remaining == 0 { completion(.success(total)) }
        }, loop: loop.index)
        for (shard, sequences) in byShard {
            onShard(shard) { owner in owner.reply(done, owner.inbox.acknowledge(sequences)) }
        }
    }

    // MARK: Control

    public var isHealthy: Bool { true }

    public func sendControl(_ command: ControlCommand, completion: @escaping (Result<Void, BrokerError>) -> Void) {
        for index in 0..<engine.loopCount {
            onShard(index) { $0.delegate?.control(command) }
        }
        completion(.success(()))
    }

    /// Runs `work` on loop `index`'s broker.
    private func onShard(_ index: Int, _ work: @escaping @Sendable (MemoryBroker) -> Void) {
        if index == loop.index {
            work(self)
        } else {
            let peer = peers[index]
            handles[index].execute { _ in work(peer.value) }
        }
    }

    // MARK: Upkeep

    /// Drops expired history and idempotency entries, and channels nobody needs any more (their
    /// epoch goes with them: a client that comes back is told to refetch).
    private func sweep() {
        let now = self.now
        var finished: [String] = []
        for (name, stream) in streams where stream.expire(now: now) { finished.append(name) }
        for name in finished { streams[name] = nil }
        loop.timers.schedule(sweepTimer, after: Self.sweepInterval, now: loop.now)
    }
}
