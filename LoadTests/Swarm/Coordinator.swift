import Glibc
import Reactor

/// The parent process: spawns the workers, passes the scenario's commands to them, prints a
/// progress line on stderr every second, and hands their results over once all are in. A
/// worker that fails or dies ends the run with a message and exit status 1.
final class Coordinator {
    let loop: EventLoop
    private let scenario: String
    private let connections: Int
    private var workers: [WorkerProcess] = []
    private var ready: [Bool] = []
    private var setupWindow: (started: UInt64, finished: UInt64) = (.max, 0)
    private var progress: [WorkerProgress] = []
    private var results: [WorkerResult?] = []
    private var acknowledged: [UInt64] = []
    private let startedAt = Clock.now()
    private var previousReceived = 0
    private var previousSent = 0
    private var previousCPU: [Double] = []
    private lazy var progressTimer = LoopTimer { [unowned self] in printProgress() }

    /// Every worker is set up; the argument is the time it took all of them, in seconds.
    var onReady: (Double) -> Void = { _ in }
    /// Every worker has acknowledged every publication up to this sequence.
    var onAcknowledged: (UInt64) -> Void = { _ in }
    /// Every worker's result, in worker order.
    var onResults: ([WorkerResult]) -> Void = { _ in }
    /// The scenario's part of the progress line.
    var progressDetail: () -> String = { "" }

    init(loop: EventLoop, scenario: String, connections: Int) {
        self.loop = loop
        self.scenario = scenario
        self.connections = connections
    }

    /// Starts `count` workers, each with `arguments` and its index.
    func spawn(count: Int, arguments: [String]) throws(SwarmError) {
        ready = Array(repeating: false, count: count)
        progress = Array(repeating: WorkerProgress(), count: count)
        results = Array(repeating: nil, count: count)
        acknowledged = Array(repeating: 0, count: count)
        previousCPU = Array(repeating: 0, count: count)
        for index in 0..<count {
            workers.append(try WorkerProcess(index: index, arguments: arguments + ["--worker-index", "\(index)"], loop: loop,
                                             onEvent: { [unowned self] in handle($0, from: index) },
                                             onEnd: { [unowned self] in
                                                 if results[index] == nil { fail("worker \(index) exited before reporting a result") }
                                             }))
        }
        loop.timers.schedule(progressTimer, after: 1_000_000_000, now: Clock.now())
    }

    func broadcast(_ command: WorkerCommand) {
        for worker in workers { worker.send(command) }
    }

    /// Ends the run: the message on stderr, the workers stopped, exit status 1.
    func fail(_ message: String) -> Never {
        printError("relay-swarm \(scenario): \(message)")
        for worker in workers { worker.stop() }
        for worker in workers { _ = worker.wait() }
        exit(1)
    }

    /// Waits for the workers to exit after their results; false if one did not exit cleanly.
    func reap() -> Bool {
        workers.map { $0.wait() }.allSatisfy { $0 }
    }

    private func handle(_ event: WorkerEvent, from index: Int) {
        switch event {
        case .ready(let established, let started, let finished):
            ready[index] = true
            progress[index].established = established
            setupWindow = (min(setupWindow.started, started), max(setupWindow.finished, finished))
            if ready.allSatisfy({ $0 }) { onReady(Double(setupWindow.finished - setupWindow.started) / 1e9) }
        case .failed(let message):
            fail(workers.count > 1 ? "worker \(index): \(message)" : message)
        case .progress(let update):
            progress[index] = update
        case .acknowledged(let sequence):
            acknowledged[index] = sequence
            onAcknowledged(acknowledged.min()!)
        case .result(let result):
            results[index] = result
            if results.allSatisfy({ $0 != nil }) {
                loop.timers.cancel(progressTimer)
                onResults(results.map { $0! })
            }
        }
    }

    private func printProgress() {
        let elapsed = Int((Clock.now() - startedAt) / 1_000_000_000)
        let established = progress.reduce(0) { $0 + $1.established }
        let received = progress.reduce(0) { $0 + $1.received }
        let sent = progress.reduce(0) { $0 + $1.sent }
        let errors = progress.reduce(0) { $0 + $1.errors }
        let cpu = progress.indices.map { index in
            defer { previousCPU[index] = progress[index].cpuSeconds }
            return "\(Int(((progress[index].cpuSeconds - previousCPU[index]) * 100).rounded()))%"
        }
        var line = "[\(elapsed)s] connections \(established)/\(connections)  received \(Format.count(received - previousReceived))/s"
        // Only scenarios whose connections send (chat) count what they sent.
        if sent > 0 { line += "  sent \(Format.count(sent - previousSent))/s" }
        let detail = progressDetail()
        if !detail.isEmpty { line += "  \(detail)" }
        line += "  errors \(errors)  worker cpu \(cpu.joined(separator: " "))"
        previousReceived = received
        previousSent = sent
        printError(line)
        loop.timers.schedule(progressTimer, after: 1_000_000_000, now: Clock.now())
    }
}

/// Numbers as a person reads them in a progress line or a report.
enum Format {
    static func count(_ value: Int) -> String {
        let magnitude = Double(value)
        if abs(magnitude) >= 1e6 { return "\(decimal(magnitude / 1e6, places: 2))M" }
        if abs(magnitude) >= 1e4 { return "\(decimal(magnitude / 1e3, places: 1))k" }
        return "\(value)"
    }

    static func decimal(_ value: Double, places: Int) -> String {
        var scale = 1.0
        for _ in 0..<places { scale *= 10 }
        let rounded = (value * scale).rounded() / scale
        return rounded == rounded.rounded() ? "\(Int(rounded))" : "\(rounded)"
    }
}
