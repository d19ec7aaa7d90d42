import ArgumentParser
import Glibc
import Reactor

struct Echo: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Round trips against any RFC 6455 echo server (relay echo: path /, no subprotocol).",
        discussion: "Each connection keeps --window binary messages of --size bytes in flight; a reply sends the next."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var stepping: StepOptions
    @OptionGroup var timing: TimingOptions
    @Option(help: "Connections, over all workers.")
    var connections = 100
    @Option(help: "Message size in bytes (at least 8: the send time).")
    var size = 32
    @Option(help: "Messages in flight per connection.")
    var window = 1

    func validate() throws {
        guard connections >= connection.workers else { throw ValidationError("--connections must be at least --workers") }
        guard connections >= 1, size >= 8, window >= 1 else {
            throw ValidationError("--connections and --window must be positive, --size at least 8")
        }
    }

    func run() throws {
        try stepping.runIfStepping(scenario: "echo")
        var plan = try connection.plan(total: connections)
        plan.maxMessageSize = max(plan.maxMessageSize, size)
        let loop = try makeLoop()
        if connection.workerIndex != nil {
            try runWorker(EchoWorkload(loop: loop, plan: plan, size: size, window: window,
                                       drainTimeout: Clock.nanoseconds(seconds: timing.drainTimeout)), loop: loop)
        }
        let run = EchoRun(loop: loop, options: self)
        try run.start()
        loop.run()
        Glibc.exit(run.exitStatus)
    }
}

/// The coordinator's side of an echo run: the workers send in the measured window, then report.
private final class EchoRun {
    private let options: Echo
    private let coordinator: Coordinator
    private var setupSeconds = 0.0
    private var cpu: CPUWindow?
    private lazy var endTimer = LoopTimer { [unowned self] in coordinator.broadcast(.finish(lastSequence: 0)) }
    private(set) var exitStatus: Int32 = 0

    init(loop: EventLoop, options: Echo) {
        self.options = options
        coordinator = Coordinator(loop: loop, scenario: "echo", connections: options.connections)
    }

    func start() throws {
        coordinator.onReady = { [unowned self] seconds in
            setupSeconds = seconds
            let now = Clock.now()
            let from = now + Clock.nanoseconds(seconds: options.timing.warmup)
            let until = from + Clock.nanoseconds(seconds: options.timing.duration)
            coordinator.broadcast(.start(from: from, until: until))
            cpu = CPUWindow(loop: coordinator.loop, from: from, until: until)
            coordinator.loop.timers.schedule(endTimer, after: until - now, now: now)
        }
        coordinator.onResults = { [unowned self] in report($0) }
        try coordinator.spawn(count: options.connection.workers, arguments: workerArguments)
    }

    private func report(_ results: [WorkerResult]) {
        var total = WorkerResult()
        for result in results { total.add(result) }
        var report = Report(scenario: "echo")
        report.add("connections", options.connections)
        report.add("established", total.established)
        report.add("workers", options.connection.workers)
        report.add("size", options.size)
        report.add("window", options.window)
        report.addSetup(seconds: setupSeconds, total: total, connection: options.connection)
        report.add("duration_s", options.timing.duration)
        report.add("messages", total.received)
        report.add("messages_per_s", Double(total.received) / options.timing.duration)
        report.add("latency_us", total.latency)
        report.add("errors", total.errors)
        report.addCPU(cpu, workers: results)
        report.print()
        exitStatus = coordinator.reap() ? 0 : 1
        coordinator.loop.stop()
    }
}
