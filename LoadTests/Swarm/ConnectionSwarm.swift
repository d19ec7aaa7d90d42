import Glibc
import Reactor
import TLS
import WebSocket

/// Opens a worker's share of connections, at most `concurrency` of them setting up at once (a
/// connect storm would overflow the server's accept backlog and cost SYN retransmits of a
/// second), and runs each one's setup: the upgrade, then relay.v1's connect and subscribe when
/// a session is given. A failure before every connection is set up fails the run; later ones
/// are counted by kind.
final class ConnectionSwarm: WebSocketClientDelegate {
    struct Plan {
        /// Connection N goes to `endpoints[N % count]`: several replicas share the load evenly.
        var endpoints: [Endpoint]
        /// The client context of each wss:// endpoint (nil for ws://), in the same order.
        var tls: [TLSClientContext?]
        /// Global connection numbers (user `swarm-N`); tags are positions in this range.
        var numbers: Range<Int>
        var sources: SourceAddresses?
        var concurrency: Int
        var subprotocols: [String] = []
        var session: RelaySession?
        var maxMessageSize = 1 << 20
        var setupTimeout: UInt64

        func endpoint(for number: Int) -> Endpoint { endpoints[number % endpoints.count] }
        func tls(for number: Int) -> TLSClientContext? { tls[number % endpoints.count] }

        /// Connections opened before the others: with --tls-resume, one per endpoint, whose setup
        /// leaves a session for the rest to resume (the server's tickets come before its upgrade
        /// response); otherwise all that may set up at once.
        var firstWave: Int {
            tls.contains { $0?.resumesSessions == true } ? min(endpoints.count, concurrency) : concurrency
        }
    }

    private unowned let loop: EventLoop
    let plan: Plan
    private(set) var clients: [WebSocketClient?]
    /// Setup steps each connection still waits for: the upgrade, then one reply per command.
    private var awaitedSteps: [UInt8]
    private var opened = 0
    private var settingUp = 0
    private(set) var established = 0
    private(set) var alive = 0
    private(set) var errors = ErrorCounts()
    /// TLS handshakes completed, and how many of them the server resumed (--tls-resume).
    private(set) var tlsHandshakes = 0
    private(set) var tlsResumed = 0
    private(set) var setupStarted: UInt64 = 0
    /// From each connection's TCP connect to the last reply of its setup (the upgrade, or
    /// relay.v1's connect and subscribe): what a connection storm measures.
    private(set) var setupLatency = LatencyHistogram()
    private var openedAt: [UInt64]
    /// Every connection is set up, or setup failed: from now on losses are counted, not fatal.
    private var setupOver = false
    private lazy var setupDeadline = LoopTimer { [unowned self] in
        failSetup("only \(established) of \(plan.numbers.count) connections set up within \(plan.setupTimeout / 1_000_000_000) s")
    }

    private var link: WorkerLink?
    /// relay.v1's commands for each connection, minted before the clock starts: minting is the
    /// swarm's own work and must not count in the time to establish.
    private var setupCommands: [[[UInt8]]] = []
    /// A message on a connection that is set up.
    var onMessage: (WebSocketClient, Opcode, UnsafeRawBufferPointer) -> Void = { _, _, _ in }
    /// A connection that was set up has ended.
    var onLost: (WebSocketClient) -> Void = { _ in }

    init(loop: EventLoop, plan: Plan) {
        self.loop = loop
        self.plan = plan
        clients = Array(repeating: nil, count: plan.numbers.count)
        openedAt = Array(repeating: 0, count: plan.numbers.count)
        awaitedSteps = Array(repeating: UInt8(1 + (plan.session?.replyCount ?? 0)), count: plan.numbers.count)
    }

    /// Starts opening; tells the coordinator through `link` when setup is over, either way.
    func open(link: WorkerLink) {
        self.link = link
        if let session = plan.session {
            do {
                setupCommands = try plan.numbers.map { try session.commands(forUser: $0) }
            } catch {
                return failSetup("cannot mint a token: \(error)")
            }
        }
        setupStarted = Clock.now()
        loop.timers.schedule(setupDeadline, after: plan.setupTimeout, now: setupStarted)
        while settingUp < plan.firstWave, opened < plan.numbers.count { openNext() }
    }

    private func openNext() {
        let tag = opened
        let number = plan.numbers.lowerBound + tag
        opened += 1
        settingUp += 1
        openedAt[tag] = Clock.now()
        do {
            clients[tag] = try WebSocketClient(tag: tag, loop: loop, endpoint: plan.endpoint(for: number), tls: plan.tls(for: number),
                                               source: plan.sources?.address(for: number), subprotocols: plan.subprotocols,
                                               maxMessageSize: plan.maxMessageSize, delegate: self)
        } catch {
            failSetup("connection \(number) to \(plan.endpoint(for: number)): \(error)\(hint(for: error.errno))")
        }
    }

    private func hint(for errno: Int32) -> String {
        switch errno {
        case EADDRNOTAVAIL: return " (out of ephemeral ports: spread connections with --source-addresses)"
        case EMFILE, ENFILE: return " (out of file descriptors: spread connections with --workers)"
        default: return ""
        }
    }

    private func stepDone(_ client: WebSocketClient) {
        awaitedSteps[client.tag] -= 1
        guard awaitedSteps[client.tag] == 0 else { return }
        established += 1
        alive += 1
        setupLatency.record(Clock.now() - openedAt[client.tag])
        settingUp -= 1
        while settingUp < plan.concurrency, opened < plan.numbers.count { openNext() }
        if established == plan.numbers.count { finishSetup() }
    }

    private func finishSetup() {
        setupOver = true
        loop.timers.cancel(setupDeadline)
        link?.send(.ready(established: established, started: setupStarted, finished: Clock.now()))
    }

    private func failSetup(_ message: String) {
        guard !setupOver else { return }
        setupOver = true
        link?.send(.failed(message))
    }

    // MARK: WebSocketClientDelegate

    func clientSecured(_ client: WebSocketClient, resumed: Bool) {
        tlsHandshakes += 1
        if resumed { tlsResumed += 1 }
    }

    func clientOpened(_ client: WebSocketClient) {
        if !plan.subprotocols.isEmpty, client.subprotocol == nil {
            return failSetup("connection \(number(client)): the server did not accept the subprotocol \(plan.subprotocols[0])")
        }
        stepDone(client)
        guard awaitedSteps[client.tag] > 0 else { return }
        for command in setupCommands[client.tag] { client.send(.text, payload: command) }
        setupCommands[client.tag] = []
    }

    func client(_ client: WebSocketClient, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        guard awaitedSteps[client.tag] > 0 else { return onMessage(client, opcode, payload) }
        switch RelaySession.reply(payload) {
        case .confirmed:
            stepDone(client)
        case .refused(let kind, let message):
            errors.add(kind)
            failSetup("connection \(number(client)): \(message)")
        case .other:
            break
        }
    }

    func clientEnded(_ client: WebSocketClient, _ failure: ClientFailure) {
        errors.add(failure.kind)
        clients[client.tag] = nil
        guard setupOver else { return failSetup("connection \(number(client)) to \(plan.endpoint(for: number(client))): \(failure)") }
        alive -= 1
        onLost(client)
    }

    private func number(_ client: WebSocketClient) -> Int { plan.numbers.lowerBound + client.tag }
}
