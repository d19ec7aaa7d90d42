import Glibc
import Reactor
import TLS
import WebSocket

/// Opens a worker's share of connections, at most `concurrency` of them setting up at once (a
/// connect storm would overflow the server's accept backlog and cost SYN retransmits of a
/// second), and runs each one's setup: the upgrade, then relay.v1's connect and subscribe when
/// a session is given. A failure before every connection is set up fails the run; later ones
/// are counted by kind. A set-up connection can be closed and set up again (`reconnect`),
/// resuming its subscription; reconnections share the `concurrency` bound.
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
    /// Connections set up and not given up, those reconnecting included.
    private(set) var alive = 0
    private(set) var errors = ErrorCounts()
    /// TLS handshakes completed (reconnections' included), and how many of them the server
    /// resumed (--tls-resume).
    private(set) var tlsHandshakes = 0
    private(set) var tlsResumed = 0
    private(set) var setupStarted: UInt64 = 0
    /// From each connection's TCP connect to the last reply of its setup (the upgrade, or
    /// relay.v1's connect and subscribe): what a connection storm measures.
    private(set) var setupLatency = LatencyHistogram()
    /// When each connection's setup began: its TCP connect, or a reconnection's close.
    private var setupStartedAt: [UInt64]
    /// Every connection is set up, or setup failed: from now on losses are counted, not fatal.
    private var setupOver = false
    private lazy var setupDeadline = LoopTimer { [unowned self] in
        failSetup("only \(established) of \(plan.numbers.count) connections set up within \(plan.setupTimeout / 1_000_000_000) s")
    }

    private var link: WorkerLink?
    /// relay.v1's token for each connection, minted before the clock starts: minting is the
    /// swarm's own work and must not count in the time to establish. A reconnection offers the
    /// same token again.
    private var tokens: [String] = []
    /// Where each reconnecting connection resumes its subscriptions, a position per channel;
    /// nil when not reconnecting.
    private var resumeFrom: [[RelaySession.Position]?]
    /// Closed connections waiting for a setup slot to reconnect, oldest first from `waitingHead`.
    private var waiting: [Int] = []
    private var waitingHead = 0
    private(set) var reconnects = ReconnectStats()
    /// A message on a connection that is set up.
    var onMessage: (WebSocketClient, Opcode, UnsafeRawBufferPointer) -> Void = { _, _, _ in }
    /// A connection that was set up has ended for good (its tag).
    var onLost: (Int) -> Void = { _ in }
    /// A subscribe reply (its connection's tag, the channel's index among the user's, the
    /// channel's position, `recovered`).
    var onSubscribed: (Int, Int, RelaySession.Position, Bool?) -> Void = { _, _, _, _ in }
    /// A reconnection is set up again (its tag): the connection is live once more.
    var onReconnected: (Int) -> Void = { _ in }

    init(loop: EventLoop, plan: Plan) {
        self.loop = loop
        self.plan = plan
        clients = Array(repeating: nil, count: plan.numbers.count)
        setupStartedAt = Array(repeating: 0, count: plan.numbers.count)
        resumeFrom = Array(repeating: nil, count: plan.numbers.count)
        awaitedSteps = plan.numbers.map { Self.setupSteps(plan, number: $0) }
    }

    private static func setupSteps(_ plan: Plan, number: Int) -> UInt8 { UInt8(1 + (plan.session?.replyCount(forUser: number) ?? 0)) }

    /// Starts opening; tells the coordinator through `link` when setup is over, either way.
    func open(link: WorkerLink) {
        self.link = link
        if let session = plan.session {
            do {
                tokens = try plan.numbers.map { try session.token(forUser: $0) }
            } catch {
                return failSetup("cannot mint a token: \(error)")
            }
        }
        setupStarted = Clock.now()
        loop.timers.schedule(setupDeadline, after: plan.setupTimeout, now: setupStarted)
        while settingUp < plan.firstWave, opened < plan.numbers.count { openNext() }
    }

    /// Set up and not reconnecting: a connection `reconnect` may take.
    func isLive(_ tag: Int) -> Bool { clients[tag] != nil && awaitedSteps[tag] == 0 }

    /// Closes a live connection now and sets it up again as soon as fewer than `concurrency`
    /// are setting up, subscribing from `since` (a position per channel) so that the gateway
    /// replays what it missed. Its latency runs from the close to the last subscribe reply.
    func reconnect(_ tag: Int, since: [RelaySession.Position]) {
        guard let client = clients[tag], awaitedSteps[tag] == 0 else { return }
        client.close()
        clients[tag] = nil
        resumeFrom[tag] = since
        awaitedSteps[tag] = Self.setupSteps(plan, number: plan.numbers.lowerBound + tag)
        setupStartedAt[tag] = Clock.now()
        waiting.append(tag)
        openWaiting()
    }

    /// Opens what waits, first connections then reconnections, while fewer than `concurrency`
    /// are setting up.
    private func openWaiting() {
        while settingUp < plan.concurrency {
            if opened < plan.numbers.count {
                openNext()
            } else if waitingHead < waiting.count {
                waitingHead += 1
                reopen(waiting[waitingHead - 1])
            } else {
                break
            }
        }
        if waitingHead > 0, waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
    }

    private func openNext() {
        let tag = opened
        let number = plan.numbers.lowerBound + tag
        opened += 1
        settingUp += 1
        setupStartedAt[tag] = Clock.now()
        do {
            try connect(tag)
        } catch {
            failSetup("connection \(number) to \(plan.endpoint(for: number)): \(error)\(hint(for: error.errno))")
        }
    }

    private func reopen(_ tag: Int) {
        settingUp += 1
        do {
            try connect(tag)
        } catch {
            reconnectFailed(tag, kind: ClientFailure.connect(error).kind)
        }
    }

    private func connect(_ tag: Int) throws(SystemError) {
        let number = plan.numbers.lowerBound + tag
        clients[tag] = try WebSocketClient(tag: tag, loop: loop, endpoint: plan.endpoint(for: number), tls: plan.tls(for: number),
                                           source: plan.sources?.address(for: number), subprotocols: plan.subprotocols,
                                           maxMessageSize: plan.maxMessageSize, delegate: self)
    }

    private func hint(for errno: Int32) -> String {
        switch errno {
        case EADDRNOTAVAIL: return " (out of ephemeral ports: spread connections with --source-addresses)"
        case EMFILE, ENFILE: return " (out of file descriptors: spread connections with --workers)"
        default: return ""
        }
    }

    private func stepDone(_ client: WebSocketClient) {
        let tag = client.tag
        awaitedSteps[tag] -= 1
        guard awaitedSteps[tag] == 0 else { return }
        settingUp -= 1
        let latency = Clock.now() - setupStartedAt[tag]
        if resumeFrom[tag] != nil {
            resumeFrom[tag] = nil
            reconnects.record(reconnectedAfter: latency)
            onReconnected(tag)
        } else {
            established += 1
            alive += 1
            setupLatency.record(latency)
            if established == plan.numbers.count { finishSetup() }
        }
        openWaiting()
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

    /// A setup step was refused: the run fails, unless it is a reconnection, which is given up.
    private func refused(_ client: WebSocketClient, kind: String, message: String) {
        guard resumeFrom[client.tag] != nil else {
            errors.add(kind)
            return failSetup("connection \(number(client)): \(message)")
        }
        client.close()
        clients[client.tag] = nil
        reconnectFailed(client.tag, kind: kind)
        openWaiting()
    }

    /// A reconnection failed: the subscriber is given up, and what it misses counts as lost.
    /// The caller opens what waits (not from here: a run of failed connects would recurse).
    private func reconnectFailed(_ tag: Int, kind: String) {
        resumeFrom[tag] = nil
        settingUp -= 1
        alive -= 1
        reconnects.failures.add(kind)
        onLost(tag)
    }

    // MARK: WebSocketClientDelegate

    func clientSecured(_ client: WebSocketClient, resumed: Bool) {
        tlsHandshakes += 1
        if resumed { tlsResumed += 1 }
    }

    func clientOpened(_ client: WebSocketClient) {
        if !plan.subprotocols.isEmpty, client.subprotocol == nil {
            return refused(client, kind: "subprotocol_refused", message: "the server did not accept the subprotocol \(plan.subprotocols[0])")
        }
        stepDone(client)
        guard awaitedSteps[client.tag] > 0, let session = plan.session else { return }
        for command in session.commands(forUser: number(client), token: tokens[client.tag], since: resumeFrom[client.tag]) {
            client.send(.text, payload: command)
        }
    }

    func client(_ client: WebSocketClient, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        guard awaitedSteps[client.tag] > 0 else { return onMessage(client, opcode, payload) }
        switch RelaySession.reply(payload) {
        case .confirmed:
            stepDone(client)
        case .subscribed(let index, let position, let recovered):
            if recovered == false { reconnects.notRecovered += 1 }
            onSubscribed(client.tag, index, position, recovered)
            stepDone(client)
        case .refused(let kind, let message):
            refused(client, kind: kind, message: message)
        case .other:
            // A push between two subscribe replies: what a reconnection replays in the first
            // channel comes before the second channel's reply.
            onMessage(client, opcode, payload)
        }
    }

    func clientEnded(_ client: WebSocketClient, _ failure: ClientFailure) {
        clients[client.tag] = nil
        if resumeFrom[client.tag] != nil {
            reconnectFailed(client.tag, kind: failure.kind)
            return openWaiting()
        }
        errors.add(failure.kind)
        guard setupOver else { return failSetup("connection \(number(client)) to \(plan.endpoint(for: number(client))): \(failure)") }
        alive -= 1
        onLost(client.tag)
    }

    private func number(_ client: WebSocketClient) -> Int { plan.numbers.lowerBound + client.tag }
}
