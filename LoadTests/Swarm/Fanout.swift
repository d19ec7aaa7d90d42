import ArgumentParser
import Glibc
import Reactor

struct Fanout: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Subscribers to one channel on the gateway; publications through the server API; end-to-end latency.",
        discussion: """
        Each subscriber connects with the subprotocol relay.v1, authenticates with an HS256 token it \
        mints (user swarm-N), and subscribes. The coordinator then publishes {"t": send time, "seq": n} \
        at --rate per second, or with --window W keeps W publications in flight until every \
        subscriber has them (the highest deliveries per second the gateway sustains).
        """
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var secret: SecretOptions
    @OptionGroup var timing: TimingOptions
    @Option(help: "Subscribers, over all workers.")
    var subscribers = 1000
    @Option(help: "The channel (its namespace must let authenticated users subscribe and the server publish).")
    var channel = "availability:bench"
    @Option(help: "The admin listener, http://HOST:PORT, where /api/publish is.")
    var apiUrl: String
    @Option(help: "The server API key.")
    var apiKey: String
    @Option(help: "Publications per second (when --window is 0).")
    var rate = 100.0
    @Option(help: "Publications in flight: publish the next only when every subscriber has the earlier ones (0: off, use --rate).")
    var window = 0
    @Option(help: "Publish requests at once (the server API takes one request per connection).")
    var publishConcurrency = 8

    func validate() throws {
        guard subscribers >= connection.workers else { throw ValidationError("--subscribers must be at least --workers") }
        guard subscribers >= 1, rate > 0, window >= 0, publishConcurrency >= 1 else {
            throw ValidationError("--subscribers, --rate and --publish-concurrency must be positive, --window not negative")
        }
    }

    func run() throws {
        let session = RelaySession(secret: try secret.resolve(), channel: channel)
        let plan = try connection.plan(total: subscribers, subprotocols: [RelaySession.subprotocol], session: session)
        let loop = try makeLoop()
        if connection.workerIndex != nil {
            try runWorker(FanoutWorkload(loop: loop, plan: plan, drainTimeout: Clock.nanoseconds(seconds: timing.drainTimeout)), loop: loop)
        }
        let target = Publisher.Target(api: try Endpoint(parsing: apiUrl, scheme: "http"), apiKey: apiKey, channel: channel,
                                      concurrency: publishConcurrency)
        let run = FanoutRun(loop: loop, options: self, publisher: Publisher(loop: loop, target: target, pace: window > 0 ? .window(window) : .rate(rate)))
        try run.start()
        loop.run()
        Glibc.exit(run.exitStatus)
    }
}

/// The coordinator's side of a fan-out run: set up, publish through the window, collect, report.
private final class FanoutRun {
    private let options: Fanout
    private let coordinator: Coordinator
    private let publisher: Publisher
    private var setupSeconds = 0.0
    private var cpu: CPUWindow?
    private var previousPublished = 0
    private(set) var exitStatus: Int32 = 0

    init(loop: EventLoop, options: Fanout, publisher: Publisher) {
        self.options = options
        self.publisher = publisher
        coordinator = Coordinator(loop: loop, scenario: "fanout", connections: options.subscribers)
    }

    func start() throws {
        coordinator.onReady = { [unowned self] seconds in
            setupSeconds = seconds
            let from = Clock.now() + Clock.nanoseconds(seconds: options.timing.warmup)
            let until = from + Clock.nanoseconds(seconds: options.timing.duration)
            coordinator.broadcast(.start(from: from, until: until))
            cpu = CPUWindow(loop: coordinator.loop, from: from, until: until)
            publisher.run(measureFrom: from, until: until) { [unowned self] last in coordinator.broadcast(.finish(lastSequence: last)) }
        }
        coordinator.onAcknowledged = { [unowned self] in publisher.acknowledged($0) }
        coordinator.onResults = { [unowned self] in report($0) }
        coordinator.progressDetail = { [unowned self] in
            defer { previousPublished = publisher.published }
            return "published \(publisher.published - previousPublished)/s"
        }
        publisher.onFatal = { [unowned self] in coordinator.fail($0) }
        try coordinator.spawn(count: options.connection.workers, arguments: workerArguments)
    }

    private func report(_ results: [WorkerResult]) {
        var total = WorkerResult()
        for result in results { total.add(result) }
        let duration = options.timing.duration
        let expected = publisher.measured * total.established
        var errors = total.errors
        errors.add(publisher.errors)

        var report = Report(scenario: "fanout")
        report.add("subscribers", options.subscribers)
        report.add("established", total.established)
        report.add("workers", options.connection.workers)
        report.add("channel", options.channel)
        report.add("mode", options.window > 0 ? "window" : "rate")
        if options.window > 0 { report.add("window", options.window) } else { report.add("rate_requested", options.rate) }
        report.addSetup(seconds: setupSeconds, total: total, connection: options.connection)
        report.add("duration_s", duration)
        report.add("publications", publisher.measured)
        report.add("publications_per_s", Double(publisher.measured) / duration)
        report.add("deliveries", total.received)
        report.add("deliveries_per_s", Double(total.received) / duration)
        report.add("expected_deliveries", expected)
        report.add("lost", max(0, expected - total.received))
        report.add("duplicates", total.duplicates)
        report.add("latency_us", total.latency)
        report.add("errors", errors)
        report.addCPU(cpu, workers: results)
        report.print()
        exitStatus = coordinator.reap() ? 0 : 1
        coordinator.loop.stop()
    }
}
