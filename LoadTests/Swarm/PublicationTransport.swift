/// Where a fan-out run's publications go: the server API (`ServerAPITransport`), Redis as the
/// main API publishes (`RedisTransport`), or one WebSocket connection of the coordinator's own
/// (`SocketTransport`): relay.v1's `publish` command, or raw frames to a broadcast server.
protocol PublicationTransport: AnyObject {
    /// Publications that may be unanswered at once.
    var capacity: Int { get }
    /// Gets ready to publish (connects, and with relay.v1 authenticates and subscribes), then
    /// calls `ready`; `failed` ends the run.
    func open(ready: @escaping () -> Void, failed: @escaping (String) -> Void)
    /// Sends `{"t": sentAt, "seq": sequence}` to `channel`; `answered` is called once, later or
    /// right away.
    func publish(channel: String, sequence: UInt64, sentAt: UInt64, answered: @escaping (PublishOutcome) -> Void)
}

enum PublishOutcome {
    case accepted
    /// `kind` goes to the report's errors; `message` ends the run if nothing was accepted yet.
    case refused(kind: String, message: String)
}
