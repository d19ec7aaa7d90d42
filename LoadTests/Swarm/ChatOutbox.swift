/// A chat worker's conversation messages from the sending side: each user's next sequence, and
/// the messages it wrote that the gateway has not answered yet, in order. A reconnection sends
/// those again with their idempotency key, so the gateway publishes each once however often it
/// is sent.
final class ChatOutbox {
    struct Message {
        var sequence: UInt64
        /// When the user wrote it: its end-to-end latency starts here, a resend's included.
        var sentAt: UInt64
    }

    private var lastSequence: [UInt64]
    private var waiting: [[Message]]
    /// Messages written and not answered, over all users: the drain waits for none.
    private(set) var unanswered = 0

    init(users: Int) {
        lastSequence = Array(repeating: 0, count: users)
        waiting = Array(repeating: [], count: users)
    }

    func write(from user: Int, at now: UInt64) -> Message {
        lastSequence[user] += 1
        let message = Message(sequence: lastSequence[user], sentAt: now)
        waiting[user].append(message)
        unanswered += 1
        return message
    }

    /// The gateway answered, accepting or refusing: the message leaves the outbox. Nil when it
    /// was not there (answered already, or its user is gone).
    func answered(_ user: Int, sequence: UInt64) -> Message? {
        guard let index = waiting[user].firstIndex(where: { $0.sequence == sequence }) else { return nil }
        unanswered -= 1
        return waiting[user].remove(at: index)
    }

    func unanswered(of user: Int) -> [Message] { waiting[user] }

    /// The user is gone for good: what it wrote will never be published.
    func abandon(_ user: Int) {
        unanswered -= waiting[user].count
        waiting[user] = []
    }

    /// Its idempotency key: unique per user and run, since `run` is drawn per process.
    static func key(_ message: Message, run: String) -> String { "\(run)-\(message.sequence)" }
}
