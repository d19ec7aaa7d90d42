import Glibc
import Reactor

/// A scenario whose subscribers count a publisher's deliveries (fanout, storm, chat), as the
/// coordinator's `DeliveryRun` sees it.
protocol DeliveryScenario {
    static var name: String { get }
    /// What the report calls the connections: subscribers, or chat's users.
    static var connectionsKey: String { get }
    var connection: ConnectionOptions { get }
    var timing: TimingOptions { get }
    var subscribers: Int { get }
    /// Subscribers of each channel, in the publisher's order of channels.
    var subscribersPerChannel: [Int] { get }
    /// The scenario's settings, in the report after the subscribers and workers.
    func describe(in report: inout Report)
    /// What the scenario measured, the publisher's deliveries among it, in the report between
    /// the setup and the errors.
    func reportOutcome(_ total: WorkerResult, deliveries: DeliveryCounts, in report: inout Report)
}

extension DeliveryScenario {
    static var connectionsKey: String { "subscribers" }

    func reportOutcome(_ total: WorkerResult, deliveries: DeliveryCounts, in report: inout Report) {
        deliveries.add(to: &report, duration: timing.duration)
    }
}

/// The coordinator's side of a delivery run: set up, publish through the measured window (the
/// window's acknowledgements pace a window publisher), collect, report.
final class DeliveryRun {
    private let scenario: DeliveryScenario
    private let coordinator: Coordinator
    private let publisher: Publisher
    /// Opened once every subscriber is set up: the coordinator's own publishing connection
    /// (gateway and raw), or Redis's.
    private let transport: PublicationTransport
    private var setupSeconds = 0.0
    private var cpu: CPUWindow?
    private var previousRounds: UInt64 = 0
    private var exitStatus: Int32 = 0

    init(loop: EventLoop, scenario: DeliveryScenario, transport: PublicationTransport, publisher: Publisher) {
        self.scenario = scenario
        self.transport = transport
        self.publisher = publisher
        coordinator = Coordinator(loop: loop, scenario: type(of: scenario).name, connections: scenario.subscribers)
    }

    /// Runs to the report and exits with the run's status.
    func run() throws -> Never {
        coordinator.onReady = { [unowned self] seconds in
            setupSeconds = seconds
            transport.open(ready: { [unowned self] in startPublishing() }, failed: { [unowned self] in coordinator.fail($0) })
        }
        coordinator.onAcknowledged = { [unowned self] in publisher.acknowledged($0) }
        coordinator.onResults = { [unowned self] in report($0) }
        coordinator.progressDetail = { [unowned self] in
            defer { previousRounds = publisher.rounds }
            return "rounds \(publisher.rounds - previousRounds)/s"
        }
        publisher.onFatal = { [unowned self] in coordinator.fail($0) }
        try coordinator.spawn(count: scenario.connection.workers, arguments: workerArguments)
        coordinator.loop.run()
        Glibc.exit(exitStatus)
    }

    private func startPublishing() {
        let from = Clock.now() + Clock.nanoseconds(seconds: scenario.timing.warmup)
        let until = from + Clock.nanoseconds(seconds: scenario.timing.duration)
        coordinator.broadcast(.start(from: from, until: until))
        cpu = CPUWindow(loop: coordinator.loop, from: from, until: until)
        publisher.run(measureFrom: from, until: until) { [unowned self] last in coordinator.broadcast(.finish(lastSequence: last)) }
    }

    private func report(_ results: [WorkerResult]) {
        var total = WorkerResult()
        for result in results { total.add(result) }
        let deliveries = DeliveryCounts(sent: publisher.measured.reduce(0, +),
                                        expected: zip(publisher.measured, scenario.subscribersPerChannel).reduce(0) { $0 + $1.0 * $1.1 },
                                        received: total.received, duplicates: total.duplicates, latency: total.latency)
        var errors = total.errors
        errors.add(publisher.errors)

        var report = Report(scenario: type(of: scenario).name)
        report.add(type(of: scenario).connectionsKey, scenario.subscribers)
        report.add("established", total.established)
        report.add("workers", scenario.connection.workers)
        scenario.describe(in: &report)
        report.addSetup(seconds: setupSeconds, total: total, connection: scenario.connection)
        report.add("duration_s", scenario.timing.duration)
        scenario.reportOutcome(total, deliveries: deliveries, in: &report)
        report.add("errors", errors)
        report.addCPU(cpu, workers: results)
        report.print()
        exitStatus = coordinator.reap() ? 0 : 1
        coordinator.loop.stop()
    }
}
