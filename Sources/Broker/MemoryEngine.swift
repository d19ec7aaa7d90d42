import Reactor

/// The in-memory engine, for a single node: channels are sharded over the loops by name, each
/// owned by one loop, which keeps its stream and presence and fans its frames out to the loops
/// that have subscribers. Loops talk only through their task queues, so nothing is locked on the
/// path of a message, and the FIFO order of a queue is what keeps a recovery and the live
/// publications after it in order.
public final class MemoryEngine: Engine {
    let loopCount: Int
    let encoder: PushEncoding
    /// Each loop's share of the inbox limits.
    let inboxShard: InboxLimits
    private let brokers: Locked<[LoopBound<MemoryBroker>?]>

    public init(loops: Int, encoder: PushEncoding, inbox: InboxLimits = InboxLimits()) {
        loopCount = loops
        self.encoder = encoder
        inboxShard = InboxLimits(maxEntries: max(1, inbox.maxEntries / loops), maxBytes: max(1, inbox.maxBytes / loops))
        brokers = Locked(Array(repeating: nil, count: loops))
    }

    /// Called on each loop during set-up.
    public func makeBroker(on loop: EventLoop) -> Broker { makeMemoryBroker(on: loop) }

    public func makeMemoryBroker(on loop: EventLoop) -> MemoryBroker {
        let broker = MemoryBroker(engine: self, loop: loop)
        brokers.withLock { $0[loop.index] = LoopBound(broker, loop: loop.index) }
        return broker
    }

    /// Hands every broker its peers. Call once every loop ran set-up and before any accepts: the
    /// task is queued ahead of anything a client could cause.
    public func activate(_ handles: [LoopHandle]) {
        let peers = brokers.withLock { $0.map { $0! } }
        precondition(peers.count == handles.count, "one broker per loop")
        for (index, handle) in handles.enumerated() {
            let peer = peers[index]
            handle.execute { _ in peer.value.connect(peers: peers, handles: handles) }
        }
    }

    /// The loop that owns a channel (or user). Swift's own String hash, which is stable for the
    /// life of the process and agrees with String equality: two spellings that every dictionary
    /// treats as one name (canonically equivalent Unicode) must also have one owner.
    public func owner(of channel: String) -> Int {
        Int(UInt(bitPattern: channel.hashValue) % UInt(loopCount))
    }
}
