import ArgumentParser
import Reactor

struct Storm: ParsableCommand, DeliveryScenario {
    static let name = "storm"
    static let configuration = CommandConfiguration(
        abstract: "Subscribers that churn: they reconnect in waves and all at once, and must recover every publication.",
        discussion: """
        Subscribers set up as in fanout (relay.v1, user swarm-N, one channel) while the coordinator \
        publishes {"t": send time, "seq": n} through the server API at --rate. From the start of \
        traffic, every --churn-interval seconds a --churn-share of each worker's live subscribers \
        close their connections and reconnect at once, and at --mass-reconnect-at seconds into the \
        measured window all of them do (at most --concurrency setting up at once per worker). Each \
        reconnects with its token and subscribes with since: the offset of the last publication it \
        had and the channel's epoch, so that the gateway replays what it missed. The channel's \
        namespace must keep history (history_size) for what a reconnection misses: then nothing is \
        lost nor duplicated. Reports what fanout does, end-to-end latency including the replayed \
        deliveries, and the reconnections: their count, their latency from the close to the \
        subscribe reply, those not recovered, and the failures by kind.
        """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var secret: SecretOptions
    @OptionGroup var timing: TimingOptions
    @OptionGroup var publish: PublishOptions
    @Option(help: "Subscribers, over all workers.")
    var subscribers = 1000
    @Option(help: "The channel. Its namespace must let authenticated users subscribe and the server publish, and keep history.")
    var channel = "availability:storm"
    @Option(help: "Publications per second.")
    var rate = 100.0
    @OptionGroup var churn: ChurnOptions
    @Option(help: "Seconds into the measured window when every subscriber reconnects at once (default: halfway; 0 or negative: never).")
    var massReconnectAt: Double?

    var subscribersPerChannel: [Int] { [subscribers] }
    /// Waves big enough to be a storm.
    private static let churnShare = 0.1

    /// When the mass reconnect comes, in seconds into the measured window; nil: never.
    var massReconnectDelay: Double? {
        let at = massReconnectAt ?? timing.duration / 2
        return at > 0 ? at : nil
    }

    func validate() throws {
        guard subscribers >= connection.workers, subscribers >= 1 else { throw ValidationError("--subscribers must be at least --workers") }
        guard rate > 0 else { throw ValidationError("--rate must be positive") }
        if let massReconnectDelay, massReconnectDelay >= timing.duration {
            throw ValidationError("--mass-reconnect-at must fall within the measured window (--duration)")
        }
        guard publish.viaServerAPI else { throw ValidationError("storm publishes through the server API: give --api-url and --api-key") }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: Self.name)
        let session = RelaySession(signer: try secret.resolve(), channels: [channel])
        let plan = try connection.plan(total: subscribers, subprotocols: [RelaySession.subprotocol], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil {
            let churnPlan = churn.plan(defaultShare: Self.churnShare, massReconnectAt: massReconnectDelay)
            let drainTimeout = Clock.nanoseconds(seconds: timing.drainTimeout)
            try runWorker(StormWorkload(loop: loop, plan: plan, churn: churnPlan, drainTimeout: drainTimeout), loop: loop)
        }
        let transport = try publish.serverAPI(loop: loop)
        let publisher = Publisher(loop: loop, transport: transport, channels: [channel], pace: .rate(rate))
        try DeliveryRun(loop: loop, scenario: self, transport: transport, publisher: publisher).run()
    }

    func describe(in report: inout Report) {
        report.add("channel", channel)
        report.add("rate_requested", rate)
        churn.describe(in: &report, defaultShare: Self.churnShare)
        report.add("mass_reconnect_at_s", massReconnectDelay ?? 0)
    }

    func reportOutcome(_ total: WorkerResult, deliveries: DeliveryCounts, in report: inout Report) {
        deliveries.add(to: &report, duration: timing.duration)
        report.add(total.reconnects)
    }
}
