/// What a chat worker measured of the conversations (its availability deliveries are the
/// WorkerResult's own fields), over the measured window.
struct ChatStats {
    /// Messages its users sent that the gateway acknowledged and the deliveries they owe, one to
    /// each other member of the conversation; messages of other members its users received,
    /// with their end-to-end latency (from the sender's send time to the read that brought the
    /// push) and repeats of one already received.
    var messages = DeliveryCounts()
    /// Publishes sent by a reconnection: those unanswered when it closed, again with their key,
    /// and those written while it was away.
    var resent = 0
    /// Typing indicators of other members its users received.
    var typingPushes = 0
    /// Reply latency by command (publish, typing, presence, online).
    var replies: [String: LatencyHistogram] = [:]

    mutating func add(_ other: ChatStats) {
        messages.add(other.messages)
        resent += other.resent
        typingPushes += other.typingPushes
        for (command, latency) in other.replies { replies[command, default: LatencyHistogram()].add(latency) }
    }
}
