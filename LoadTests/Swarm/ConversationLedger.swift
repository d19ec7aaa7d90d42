/// A chat worker's conversation messages from the receiving side. For each user: the last
/// sequence it had from each other member (a sender's publishes reach the channel in the order
/// it sent them, so one at or below that is a duplicate), and the offset of the last
/// publication in its conversation, its own included (where a reconnection resumes). Messages
/// sent in the measured window count, with their end-to-end latency.
final class ConversationLedger {
    private let layout: ChatLayout
    /// The worker's first user: tags are positions after it.
    private let firstUser: Int
    /// Per user, a slot per member of its conversation (ChatLayout.largestGroup at most).
    private var lastSequence: [UInt64]
    private var offsets: [UInt64]
    private(set) var latency = LatencyHistogram()
    /// Deliveries of messages sent in the measured window.
    private(set) var measured = 0
    /// Every delivery, warm-up and drain included.
    private(set) var total = 0
    private(set) var duplicates = 0
    /// When the last publication arrived: the drain waits for a quiet moment.
    private(set) var lastArrival: UInt64 = 0
    private var measureFrom = UInt64.max
    private var measureUntil = UInt64.max

    init(layout: ChatLayout, users: Range<Int>) {
        self.layout = layout
        firstUser = users.lowerBound
        lastSequence = Array(repeating: 0, count: users.count * ChatLayout.largestGroup)
        offsets = Array(repeating: 0, count: users.count)
    }

    func measure(from: UInt64, until: UInt64) {
        measureFrom = from
        measureUntil = until
    }

    /// A publication in user `tag`'s conversation from `sender` (its own echo too, which only
    /// moves the offset). False when the sender is no member of it.
    func record(user tag: Int, sender: Int, sequence: UInt64, sentAt: UInt64, offset: UInt64, receivedAt: UInt64) -> Bool {
        let members = layout.members(ofUser: firstUser + tag)
        guard members.contains(sender) else { return false }
        // Assigned, not maximised: a new epoch starts its offsets again.
        offsets[tag] = offset
        lastArrival = receivedAt
        guard sender != firstUser + tag else { return true }
        let slot = tag * ChatLayout.largestGroup + (sender - members.lowerBound)
        guard sequence > lastSequence[slot] else {
            duplicates += 1
            return true
        }
        lastSequence[slot] = sequence
        total += 1
        if sentAt >= measureFrom, sentAt < measureUntil {
            measured += 1
            latency.record(receivedAt &- sentAt)
        }
        return true
    }

    func offset(of tag: Int) -> UInt64 { offsets[tag] }

    /// A subscription started at `offset` without replaying anything (a first subscribe, or one
    /// that could not recover).
    func resume(user tag: Int, at offset: UInt64) {
        offsets[tag] = offset
    }
}
