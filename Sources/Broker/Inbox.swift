/// One shard of the inbox: client publications in namespaces with `inbox: true`, kept until the
/// main API acknowledges them (it persists them; Relay only carries them). Bounded in entries and
/// bytes: a publication that does not fit is refused, so the client keeps it and retries, rather
/// than dropping one nobody has persisted yet.
///
/// Reading leases entries for a while: a concurrent reader does not get them too, and a reader that
/// dies before acknowledging gets them again once the lease runs out (at-least-once; the entry's id,
/// or its channel, epoch and offset, identify a repeat).
final class Inbox {
    struct Entry {
        let sequence: UInt64
        var message: InboxMessage
        /// Monotonic seconds until which a reader holds it.
        var leasedUntil: Double = 0
        var acknowledged = false
    }

    private let maxEntries: Int
    private let maxBytes: Int
    /// Oldest first, by sequence. Acknowledged entries stay as tombstones (their data freed) until
    /// they reach the front or outnumber the live ones, when they are swept out.
    private var entries: [Entry] = []
    private var head = 0
    private var nextSequence: UInt64 = 1
    private(set) var count = 0
    private(set) var bytes = 0
    /// Live entries and tombstones not yet swept.
    var storedEntries: Int { entries.count - head }

    init(maxEntries: Int, maxBytes: Int) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }

    func hasRoom(for size: Int) -> Bool {
        count < maxEntries && bytes + size <= maxBytes
    }

    /// Appends a message (the caller checked `hasRoom`); returns its sequence.
    @discardableResult
    func append(_ message: InboxMessage) -> UInt64 {
        let sequence = nextSequence
        nextSequence += 1
        entries.append(Entry(sequence: sequence, message: message))
        count += 1
        bytes += message.data.count
        return sequence
    }

    /// Up to `limit` entries, oldest first, that no reader holds; they are leased until
    /// `now + lease`.
    func lease(limit: Int, now: Double, lease: Double) -> [(sequence: UInt64, message: InboxMessage)] {
        var taken: [(sequence: UInt64, message: InboxMessage)] = []
        var index = head
        while index < entries.count, taken.count < limit {
            if !entries[index].acknowledged, entries[index].leasedUntil <= now {
                entries[index].leasedUntil = now + lease
                taken.append((entries[index].sequence, entries[index].message))
            }
            index += 1
        }
        return taken
    }

    /// Gives leased entries back at once (a reader took more than it returned).
    func release(_ sequences: [UInt64]) {
        for sequence in sequences {
            if let index = index(of: sequence) { entries[index].leasedUntil = 0 }
        }
    }

    /// Removes the entries; returns how many were still there.
    func acknowledge(_ sequences: [UInt64]) -> Int {
        var removed = 0
        for sequence in sequences {
            guard let index = index(of: sequence), !entries[index].acknowledged else { continue }
            entries[index].acknowledged = true
            count -= 1
            bytes -= entries[index].message.data.count
            entries[index].message = entries[index].message.withoutData
            removed += 1
        }
        while head < entries.count, entries[head].acknowledged { head += 1 }
        if head == entries.count {
            entries.removeAll(keepingCapacity: entries.capacity <= 1024)
            head = 0
        } else if entries.count - head > 2 * count + 64 {
            // An old entry nobody acknowledges must not keep every later tombstone alive.
            entries.removeAll { $0.acknowledged }
            head = 0
        } else if head > 64, head * 2 > entries.count {
            entries.removeFirst(head)
            head = 0
        }
        return removed
    }

    /// Binary search: sequences increase, with gaps once tombstones are swept out.
    private func index(of sequence: UInt64) -> Int? {
        var low = head, high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence < sequence { low = middle + 1 } else { high = middle }
        }
        return low < entries.count && entries[low].sequence == sequence ? low : nil
    }
}

/// A client publication waiting in the inbox for the main API.
public struct InboxMessage: Sendable {
    public let channel: String
    public let offset: UInt64
    public let epoch: String
    public let user: String
    /// The publication's data, JSON.
    public let data: [UInt8]
    /// When it was published, milliseconds since the Unix epoch.
    public let time: Int64
    /// When it was published on this host's monotonic clock (nanoseconds), which orders the
    /// in-memory engine's shards where two publications share a millisecond.
    let acceptedAt: UInt64

    public init(channel: String, offset: UInt64, epoch: String, user: String, data: [UInt8], time: Int64, acceptedAt: UInt64 = 0) {
        self.channel = channel
        self.offset = offset
        self.epoch = epoch
        self.user = user
        self.data = data
        self.time = time
        self.acceptedAt = acceptedAt
    }

    /// What a tombstone keeps: the data's memory goes back at once.
    var withoutData: InboxMessage {
        InboxMessage(channel: channel, offset: offset, epoch: epoch, user: user, data: [], time: time, acceptedAt: acceptedAt)
    }
}

/// An inbox entry as a reader sees it: `id` acknowledges it.
public struct InboxEntry: Sendable {
    public let id: String
    public let message: InboxMessage

    public init(id: String, message: InboxMessage) {
        self.id = id
        self.message = message
    }
}

/// The inbox's size, per engine.
public struct InboxLimits: Sendable, Equatable {
    public var maxEntries: Int
    public var maxBytes: Int

    public init(maxEntries: Int = 100_000, maxBytes: Int = 64 << 20) {
        self.maxEntries = maxEntries
        self.maxBytes = maxBytes
    }
}
