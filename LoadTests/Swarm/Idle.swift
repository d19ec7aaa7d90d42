import ArgumentParser
import Glibc
import Reactor

struct Idle: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Open connections and hold them: how fast they are set up, and the server's memory per connection.",
        discussion: """
        Against any WebSocket server; with --gateway each connection also authenticates with relay.v1 \
        (and subscribes to --channel when given). With --server-pid, the server's VmRSS is read before \
        the first connection and at the end of the hold. Over wss:// the setup rate \
        (setup_connections_per_s) is the TLS handshake rate: full handshakes, or with --tls-resume \
        resumed ones after each worker's first connection (which has no session to offer, and is \
        set up alone so that the others have one).
        """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var secret: SecretOptions
    @Option(help: "Connections, over all workers.")
    var connections = 1000
    @Option(help: "Seconds to hold the connections once all are set up.")
    var hold = 5.0
    @Flag(help: "The server is the gateway: offer relay.v1 and authenticate each connection.")
    var gateway = false
    @Option(help: "With --gateway: subscribe each connection to this channel.")
    var channel: String?
    @Option(help: "The server's process id, to read its resident memory.")
    var serverPid: Int32?

    func validate() throws {
        guard connections >= connection.workers else { throw ValidationError("--connections must be at least --workers") }
        guard connections >= 1, hold >= 0 else { throw ValidationError("--connections must be positive, --hold not negative") }
        if channel != nil, !gateway { throw ValidationError("--channel needs --gateway") }
        if let serverPid, ProcessStats.residentKiB(pid: serverPid) == nil {
            throw ValidationError("cannot read the memory of process \(serverPid)")
        }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: "idle")
        let session = gateway ? RelaySession(signer: try secret.resolve(), channels: channel.map { [$0] } ?? []) : nil
        let plan = try connection.plan(total: connections, subprotocols: gateway ? [RelaySession.subprotocol] : [], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil { try runWorker(IdleWorkload(loop: loop, plan: plan), loop: loop) }
        let run = HoldRun(loop: loop, scenario: "idle", connection: connection, connections: connections, hold: hold, gateway: gateway,
                          channel: channel, serverPid: serverPid)
        try run.start()
        loop.run()
        Glibc.exit(run.exitStatus)
    }
}

/// The coordinator's side of an idle or connect run: memory before, set up, hold, memory after,
/// report.
final class HoldRun {
    private let scenario: String
    private let connection: ConnectionOptions
    private let connections: Int
    private let hold: Double
    private let gateway: Bool
    private let channel: String?
    private let serverPid: Int32?
    private let coordinator: Coordinator
    private var setupSeconds = 0.0
    private var memoryBefore: Int?
    private var memoryAfter: Int?
    private lazy var holdTimer = LoopTimer { [unowned self] in
        memoryAfter = serverPid.flatMap { ProcessStats.residentKiB(pid: $0) }
        coordinator.broadcast(.finish(lastSequence: 0))
    }
    private(set) var exitStatus: Int32 = 0

    init(loop: EventLoop, scenario: String, connection: ConnectionOptions, connections: Int, hold: Double, gateway: Bool,
         channel: String?, serverPid: Int32?) {
        self.scenario = scenario
        self.connection = connection
        self.connections = connections
        self.hold = hold
        self.gateway = gateway
        self.channel = channel
        self.serverPid = serverPid
        coordinator = Coordinator(loop: loop, scenario: scenario, connections: connections)
    }

    func start() throws {
        memoryBefore = serverPid.flatMap { ProcessStats.residentKiB(pid: $0) }
        coordinator.onReady = { [unowned self] seconds in
            setupSeconds = seconds
            coordinator.loop.timers.schedule(holdTimer, after: Clock.nanoseconds(seconds: hold), now: Clock.now())
        }
        coordinator.onResults = { [unowned self] in report($0) }
        try coordinator.spawn(count: connection.workers, arguments: workerArguments)
    }

    private func report(_ results: [WorkerResult]) {
        var total = WorkerResult()
        for result in results { total.add(result) }
        var report = Report(scenario: scenario)
        report.add("connections", connections)
        report.add("established", total.established)
        report.add("workers", connection.workers)
        report.add("gateway", gateway)
        if let channel { report.add("channel", channel) }
        report.addSetup(seconds: setupSeconds, total: total, connection: connection)
        report.add("setup_latency_us", total.latency)
        report.add("hold_s", hold)
        if let memoryBefore, let memoryAfter {
            report.add("server_rss_before_kib", memoryBefore)
            report.add("server_rss_after_kib", memoryAfter)
            report.add("server_kib_per_connection", Double(memoryAfter - memoryBefore) / Double(max(1, total.established)))
        }
        report.add("messages_received", total.received)
        report.add("errors", total.errors)
        report.print()
        exitStatus = coordinator.reap() ? 0 : 1
        coordinator.loop.stop()
    }
}
