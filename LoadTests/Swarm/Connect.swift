import ArgumentParser
import Glibc

struct Connect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "A connection storm: connections authenticated with relay.v1 as fast as the server accepts them.",
        discussion: """
        Each connection runs the TCP connect (and over wss:// the TLS handshake), the upgrade with \\
        relay.v1, and connect with an HS256 token minted for user swarm-N (and subscribe with \\
        --channel), --concurrency of them at once per worker. Reports the rate (setup_connections_per_s, \\
        over the whole storm) and each connection's latency from its TCP connect to its last setup \\
        reply (setup_latency_us); then closes them all. Tokens are minted before the clock starts.
        """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var secret: SecretOptions
    @Option(help: "Connections, over all workers.")
    var connections = 10000
    @Option(help: "Subscribe each connection to this channel too.")
    var channel: String?
    @Option(help: "The server's process id, to read its resident memory.")
    var serverPid: Int32?

    func validate() throws {
        guard connections >= connection.workers, connections >= 1 else { throw ValidationError("--connections must be at least --workers") }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: "connect")
        let session = RelaySession(signer: try secret.resolve(), channels: channel.map { [$0] } ?? [])
        let plan = try connection.plan(total: connections, subprotocols: [RelaySession.subprotocol], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil { try runWorker(IdleWorkload(loop: loop, plan: plan), loop: loop) }
        let run = HoldRun(loop: loop, scenario: "connect", connection: connection, connections: connections, hold: 0, gateway: true,
                          channel: channel, serverPid: serverPid)
        try run.start()
        loop.run()
        Glibc.exit(run.exitStatus)
    }
}
