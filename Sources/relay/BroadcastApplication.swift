import Broker
import Buffers
import RelayServer
import WebSocket

/// `relay echo --broadcast`: every message from any client goes to every connected client, its
/// sender included, in the order each sender sent them. It is the gateway's fan-out without the
/// client protocol — a publish on one channel of the in-memory engine, framed once, the same
/// bytes queued to every local subscriber — so that raw-frame load tools compare that path with
/// other servers' broadcast servers. One instance per loop.
final class BroadcastApplication: WebSocketApplication, BrokerDelegate {
    static let channel = "broadcast"
    /// A client gets what is sent while it is connected: nothing is kept or deduplicated.
    static let options = ChannelOptions(historySize: 0, idempotencyWindow: 0)

    private let broker: Broker
    private var subscribers = Subscribers()
    /// The loop's interest in the channel, registered with its first connection. It is kept when
    /// the last one closes: registering again would need the gateway's bookkeeping of pending
    /// subscribes, for a channel that every loop serving clients needs anyway.
    private var interested = false

    init(broker: Broker) {
        self.broker = broker
        broker.delegate = self
    }

    func negotiate(_ request: UpgradeRequest) -> Result<String?, HandshakeRejection> { .success(nil) }

    func connectionOpened(_ connection: Connection, request: UpgradeRequest) {
        subscribers.add(connection)
        guard !interested else { return }
        interested = true
        // The owner of the channel gets this before anything this loop publishes (its queue is
        // FIFO), so a client always hears its own messages. The in-memory engine cannot refuse,
        // and with no history the position in the reply has no use.
        broker.subscribe(SubscribeRequest(channel: Self.channel, since: nil, member: nil, options: Self.options)) { _ in }
    }

    func connection(_ connection: Connection, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        let request = PublishRequest(channel: Self.channel, data: BroadcastFrames.data(opcode, payload: payload),
                                     user: nil, key: nil, options: Self.options)
        // The sender hears its message through the fan-out like everyone else; the reply's offset has no use.
        broker.publish(request) { _ in }
    }

    func connectionClosed(_ connection: Connection) {
        subscribers.remove(connection)
    }

    func deliver(channel: String, frame: SharedBytes, ephemeral: Ephemeral?, acceptedAt: UInt64) {
        subscribers.send(frame)
    }

    // Nobody watches users, sends control commands or loses a stream here: never called.
    func statusChanged(user: String, frame: SharedBytes) {}
    func control(_ command: ControlCommand) {}
    func streamLost(channel: String) {}
}

/// One loop's open connections, in an array that fan-out walks; a removal moves the last one
/// into the gap, so adding and removing are O(1).
struct Subscribers {
    private var connections: [Connection] = []
    private var slots: [UInt64: Int] = [:]

    mutating func add(_ connection: Connection) {
        slots[connection.id] = connections.count
        connections.append(connection)
    }

    mutating func remove(_ connection: Connection) {
        guard let slot = slots.removeValue(forKey: connection.id) else { return }
        let last = connections.removeLast()
        guard slot < connections.count else { return }
        connections[slot] = last
        slots[last.id] = slot
    }

    func send(_ frame: SharedBytes) {
        for connection in connections { connection.send(frame: frame) }
    }
}
