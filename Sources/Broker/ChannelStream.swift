/// One channel's state on the loop that owns it: offsets, epoch, history, presence, idempotency,
/// and which loops have subscribers to fan out to.
final class ChannelStream {
    let name: String
    let epoch: String
    private(set) var lastOffset: UInt64 = 0
    /// Oldest first; bounded by the namespace's history size and TTL.
    private var history: [(publication: Publication, expiresAt: Double)] = []
    private var historyStart = 0
    var interestedLoops = Set<Int>()
    /// user → their connections here and their public info.
    private(set) var presence: [String: (connections: Set<UInt64>, info: String?)] = [:]
    private var idempotency: [String: (result: PublishResult, expiresAt: Double)] = [:]
    /// Throttle key → until when frames under that key are not sent again.
    private var throttled: [String: Double] = [:]

    init(name: String, epoch: String) {
        self.name = name
        self.epoch = epoch
    }

    var position: StreamPosition { StreamPosition(offset: lastOffset, epoch: epoch) }

    func nextOffset() -> UInt64 {
        lastOffset += 1
        return lastOffset
    }

    func append(_ publication: Publication, options: ChannelOptions, now: Double) {
        guard options.historySize > 0 else { return }
        history.append((publication, options.historyTTL > 0 ? now + options.historyTTL : .infinity))
        if history.count - historyStart > options.historySize { historyStart += 1 }
        compact()
    }

    /// Drops expired history; true when nothing is left that a client could still need.
    func expire(now: Double) -> Bool {
        while historyStart < history.count, history[historyStart].expiresAt <= now { historyStart += 1 }
        compact()
        if !idempotency.isEmpty { idempotency = idempotency.filter { $0.value.expiresAt > now } }
        if !throttled.isEmpty { throttled = throttled.filter { $0.value > now } }
        return interestedLoops.isEmpty && presence.isEmpty && historyStart == history.count && idempotency.isEmpty
    }

    private func compact() {
        if historyStart > 64, historyStart * 2 > history.count {
            history.removeFirst(historyStart)
            historyStart = 0
        }
    }

    /// The publications after `position`, or nil when they cannot all be given (another epoch,
    /// an offset from the future, or one older than the history kept).
    func publications(after position: StreamPosition) -> [Publication]? {
        guard position.epoch == epoch, position.offset <= lastOffset else { return nil }
        if position.offset == lastOffset { return [] }
        guard let first = index(ofOffset: position.offset + 1) else { return nil }
        return history[first...].map(\.publication)
    }

    /// Up to `limit` publications, newest last, all older than `before` when given.
    func page(limit: Int, before: UInt64?) -> [Publication] {
        var end = history.count
        if let before, before <= lastOffset {
            // Offsets below the oldest kept leave nothing; the kept ones are consecutive.
            end = index(ofOffset: before) ?? historyStart
        }
        let start = max(historyStart, end - limit)
        return start < end ? history[start..<end].map(\.publication) : []
    }

    /// Where the publication with `offset` is in `history`: the kept ones have consecutive
    /// offsets, so no search is needed.
    private func index(ofOffset offset: UInt64) -> Int? {
        guard historyStart < history.count else { return nil }
        let oldest = history[historyStart].publication.offset
        guard offset >= oldest, offset <= lastOffset else { return nil }
        return historyStart + Int(offset - oldest)
    }

    // MARK: Typing throttle

    /// Whether an ephemeral frame throttled by `throttle` may go now; records it when it may.
    /// An interval of 0 always passes and clears the key (typing stop).
    func admit(_ throttle: Throttle, now: Double) -> Bool {
        guard throttle.interval > 0 else {
            throttled[throttle.key] = nil
            return true
        }
        if let until = throttled[throttle.key], now < until { return false }
        throttled[throttle.key] = now + throttle.interval
        return true
    }

    // MARK: Idempotency

    func remembered(user: String?, key: String?, now: Double) -> PublishResult? {
        guard let id = idempotencyID(user: user, key: key), let entry = idempotency[id], entry.expiresAt > now else { return nil }
        return PublishResult(offset: entry.result.offset, epoch: entry.result.epoch, duplicate: true)
    }

    func remember(_ result: PublishResult, user: String?, key: String?, window: Double, now: Double) {
        guard let id = idempotencyID(user: user, key: key), window > 0 else { return }
        idempotency[id] = (result, now + window)
    }

    private func idempotencyID(user: String?, key: String?) -> String? {
        guard let key else { return nil }
        return "\(user ?? "")\u{0}\(key)"
    }

    // MARK: Presence

    /// Adds a connection; true when it is the user's first here (a join).
    func join(_ member: PresenceMember) -> Bool {
        var entry = presence[member.user] ?? (connections: [], info: member.info)
        let first = entry.connections.isEmpty
        entry.connections.insert(member.connection)
        if member.info != nil { entry.info = member.info }
        presence[member.user] = entry
        return first
    }

    /// Removes a connection; true when it was the user's last here (a leave).
    func leave(_ member: PresenceMember) -> Bool {
        guard var entry = presence[member.user], entry.connections.remove(member.connection) != nil else { return false }
        if entry.connections.isEmpty {
            presence[member.user] = nil
            return true
        }
        presence[member.user] = entry
        return false
    }

    var presenceEntries: [PresenceEntry] {
        presence.map { PresenceEntry(user: $0.key, connections: $0.value.connections.count, info: $0.value.info) }
            .sorted { $0.user < $1.user }
    }
}
