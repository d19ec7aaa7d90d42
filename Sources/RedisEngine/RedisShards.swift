import Reactor
import Redis

/// The Redis servers one loop talks to, each through a command connection (pipelined) and a
/// pub/sub connection: the one Redis, or every master of a Redis Cluster. In a cluster a command
/// goes to the master of its key's slot, a `MOVED` reply updates the slot table (and refreshes
/// it whole) and sends the command again there, an `ASK` sends it there once after `ASKING`; the
/// table is also read again every few seconds and whenever a master's connection breaks. Each
/// loop keeps its own table and connections: loops share nothing.
final class RedisShards {
    final class Node {
        let address: String
        let commands: RedisConnection
        let pubsub: RedisConnection
        /// Commands sent here before its first connection was up (a master just learned of), sent
        /// once it is, or failed after the reply timeout.
        var parked: [(arguments: [[UInt8]], asking: Bool, completion: (Result<RESPValue, RedisError>) -> Void, since: UInt64)] = []
        var everReady = false

        init(address: String, commands: RedisConnection, pubsub: RedisConnection) {
            self.address = address
            self.commands = commands
            self.pubsub = pubsub
        }
    }

    let cluster: Bool
    private let settings: RedisEngine.Settings
    unowned let loop: EventLoop
    /// Where the slot table is read first; in a single Redis, the only node.
    private let seed: Node
    private var nodes: [String: Node] = [:]
    private var slots = ClusterSlots()
    private var refreshing = false
    private var refreshAgain = false
    private var lastRefresh: UInt64 = 0

    var onCommandsReady: (Node) -> Void = { _ in }
    var onPubSubReady: (Node) -> Void = { _ in }
    var onPubSubLost: (Node) -> Void = { _ in }
    var onPush: (Node, RESPValue) -> Void = { _, _ in }
    /// The slot table changed: subscriptions whose channel moved must follow.
    var onTopologyChange: () -> Void = {}

    static let refreshInterval: UInt64 = 5_000_000_000
    static let maxRedirects = 5
    static let maxParked = 10_000

    init(settings: RedisEngine.Settings, loop: EventLoop) {
        self.settings = settings
        self.loop = loop
        cluster = settings.cluster
        let address: String
        switch settings.endpoint.address {
        case .tcp(let host, let port): address = "\(host):\(port)"
        case .unix(let path): address = path
        }
        seed = Node(address: address, commands: RedisConnection(endpoint: settings.endpoint, mode: .commands, loop: loop, name: "loop\(loop.index)-commands",
                                                                 settings: settings.connection),
                    pubsub: RedisConnection(endpoint: settings.endpoint, mode: .subscriber, loop: loop, name: "loop\(loop.index)-pubsub",
                                            settings: settings.connection))
        nodes[address] = seed
    }

    func start() {
        start(seed)
    }

    private func start(_ node: Node) {
        node.commands.onStateChange = { [unowned self, unowned node] ready in
            guard ready else {
                if cluster { refreshTopology() }
                return
            }
            node.everReady = true
            // The functions first (onCommandsReady loads them), then what waited for them.
            onCommandsReady(node)
            let parked = node.parked
            node.parked = []
            for command in parked { send(command.arguments, to: node, asking: command.asking, redirects: 0, completion: command.completion) }
            if cluster && (slots.masters.isEmpty || node === seed) { refreshTopology() }
        }
        node.pubsub.onStateChange = { [unowned self, unowned node] ready in
            guard ready else {
                onPubSubLost(node)
                // At most one read in flight: a master lost with both connections costs one or two.
                return refreshTopology()
            }
            onPubSubReady(node)
        }
        node.pubsub.onPush = { [unowned self, unowned node] value in onPush(node, value) }
        node.commands.start()
        node.pubsub.start()
    }

    /// A master whose pub/sub connection is up (for the control channel, which any node carries).
    var anyReadyMaster: Node? { masters.first { $0.commands.isReady && $0.pubsub.isReady } }

    /// The nodes that serve slots (the seed alone in a single Redis).
    var masters: [Node] {
        guard cluster else { return [seed] }
        return slots.masters.compactMap { nodes[$0] }
    }

    /// Ready to serve: every master's two connections are up (and in a cluster, every slot has one).
    var isHealthy: Bool {
        guard !cluster || slots.isComplete else { return false }
        return masters.allSatisfy { $0.commands.isReady && $0.pubsub.isReady }
    }

    /// The master of the key's slot (nil in a cluster whose table does not know it yet).
    func owner(of key: String) -> Node? {
        guard cluster else { return seed }
        return slots.master(of: HashSlot.of(key)).flatMap { nodes[$0] }
    }

    // MARK: Commands

    /// Sends a command to the master of `key`'s slot.
    func send(_ arguments: [[UInt8]], key: String, completion: @escaping (Result<RESPValue, RedisError>) -> Void = { _ in }) {
        guard let node = owner(of: key) else { return completion(.failure(.unavailable)) }
        send(arguments, to: node, asking: false, redirects: 0, completion: completion)
    }

    func send(_ arguments: [String], key: String, completion: @escaping (Result<RESPValue, RedisError>) -> Void = { _ in }) {
        send(arguments.map { Array($0.utf8) }, key: key, completion: completion)
    }

    /// A command any master serves alike (`PUBLISH relay:control`, which a cluster forwards).
    func sendToAnyMaster(_ arguments: [[UInt8]], completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        guard let node = anyReadyMaster else { return completion(.failure(.unavailable)) }
        node.commands.send(arguments, completion: completion)
    }

    /// Sends a command to one node as it is (`FUNCTION LOAD` on each master).
    func send(_ arguments: [[UInt8]], to node: Node, completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        node.commands.send(arguments, completion: completion)
    }

    private func send(_ arguments: [[UInt8]], to node: Node, asking: Bool, redirects: Int,
                      completion: @escaping (Result<RESPValue, RedisError>) -> Void) {
        guard node.commands.isReady else {
            guard cluster, !node.everReady else { return completion(.failure(.unavailable)) }
            guard node.parked.count < Self.maxParked else {
                loop.logger.warning("too many commands wait for a new cluster node; refused", metadata: ["node": "\(node.address)"])
                return completion(.failure(.unavailable))
            }
            node.parked.append((arguments, asking, completion, loop.now))
            return
        }
        if asking { node.commands.send([Array("ASKING".utf8)]) }
        node.commands.send(arguments) { [unowned self] result in
            guard cluster, case .failure(.server(let message)) = result, redirects < Self.maxRedirects else { return completion(result) }
            if let redirect = ClusterRedirect(message, from: node.address) {
                if !redirect.ask { moved(redirect) }
                return send(arguments, to: self.node(at: redirect.address), asking: redirect.ask, redirects: redirects + 1, completion: completion)
            }
            guard message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") else { return completion(result) }
            // A multi-key call during a slot migration, or a cluster electing a new master: soon.
            // The timer wheel keeps the timer until it fires.
            let timer = LoopTimer { [unowned self] in
                send(arguments, to: node, asking: asking, redirects: redirects + 1, completion: completion)
            }
            loop.timers.schedule(timer, after: 100_000_000, now: loop.now)
        }
    }

    /// A `MOVED` (to a command, or to a sharded subscription): the slot's new master, at once for
    /// the subscriptions too, and the whole table read again.
    func moved(_ redirect: ClusterRedirect) {
        guard cluster, slots.master(of: redirect.slot) != redirect.address else { return }
        slots.move(redirect.slot, to: redirect.address)
        _ = node(at: redirect.address)
        onTopologyChange()
        refreshTopology()
    }

    /// The node at `address`, connecting to it the first time.
    private func node(at address: String) -> Node {
        if let node = nodes[address] { return node }
        var endpoint = settings.endpoint
        let (host, port) = ClusterAddress.split(address)
        endpoint.address = .tcp(host: host, port: port ?? 6379)
        endpoint.database = 0
        let name = "loop\(loop.index)-\(address)"
        let node = Node(address: address,
                        commands: RedisConnection(endpoint: endpoint, mode: .commands, loop: loop, name: "\(name)-commands", settings: settings.connection),
                        pubsub: RedisConnection(endpoint: endpoint, mode: .subscriber, loop: loop, name: "\(name)-pubsub", settings: settings.connection))
        nodes[address] = node
        start(node)
        return node
    }

    // MARK: Topology

    /// Reads the slot table again (from the first master that answers); at most one read at a
    /// time, and one more if asked meanwhile.
    func refreshTopology() {
        guard cluster else { return }
        guard !refreshing else { refreshAgain = true; return }
        let candidates = masters + [seed]
        guard let node = candidates.first(where: { $0.commands.isReady }) else { return }
        refreshing = true
        lastRefresh = loop.now
        let seedHost = ClusterAddress.split(node.address).host
        node.commands.send(["CLUSTER", "SLOTS"]) { [unowned self] result in
            refreshing = false
            switch result {
            case .success(let reply):
                if let table = ClusterSlots(reply: reply, seedHost: seedHost) {
                    apply(table)
                } else {
                    loop.logger.error("Redis answered CLUSTER SLOTS with no slot table; is engine.cluster right?")
                }
            case .failure(let error):
                loop.logger.warning("cannot read the cluster's slot table", metadata: ["error": "\(error)"])
            }
            if refreshAgain {
                refreshAgain = false
                refreshTopology()
            }
        }
    }

    private func apply(_ table: ClusterSlots) {
        guard table != slots else { return }
        // A node that lost its cluster state answers with fewer slots: keep the whole table.
        guard table.isComplete || !slots.isComplete else {
            loop.logger.warning("a cluster node answered with slots missing; keeping the last full slot table")
            return
        }
        if !slots.masters.isEmpty {
            loop.logger.info("the cluster's slot table changed", metadata: ["masters": "\(table.masters.count)"])
        }
        slots = table
        for address in table.masters { _ = node(at: address) }
        // Masters that left the table are closed (their subscriptions lost first); the seed
        // stays, to read the table from.
        for (address, node) in nodes where node !== seed && !table.masters.contains(address) {
            nodes[address] = nil
            onPubSubLost(node)
            node.commands.close()
            node.pubsub.close()
            let parked = node.parked
            node.parked = []
            for command in parked { command.completion(.failure(.unavailable)) }
        }
        onTopologyChange()
    }

    /// Every second: the periodic table read, and parked commands past the reply timeout.
    func upkeep() {
        guard cluster else { return }
        if loop.now &- lastRefresh >= Self.refreshInterval { refreshTopology() }
        let timeout = Clock.nanoseconds(seconds: settings.replyTimeout)
        for node in nodes.values where !node.parked.isEmpty && loop.now &- node.parked[0].since >= timeout {
            // Oldest first: those past the reply timeout are a prefix.
            let count = node.parked.firstIndex { loop.now &- $0.since < timeout } ?? node.parked.count
            let expired = node.parked.prefix(count)
            node.parked.removeFirst(count)
            for command in expired { command.completion(.failure(.unavailable)) }
        }
    }
}
