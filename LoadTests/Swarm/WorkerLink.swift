import Glibc
import Reactor

/// A worker's share of one scenario: it opens its connections, runs the traffic the commands
/// ask for and reports through the link.
protocol Workload: AnyObject {
    /// Starts opening connections; reports `ready` or `failed` through `link`.
    func open(link: WorkerLink)
    func start(from: UInt64, until: UInt64)
    /// Traffic is over: call `done` once what is in flight has arrived (or the drain time ran out).
    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void)
    var progress: WorkerProgress { get }
}

/// The worker's side of the pipes: commands from the coordinator on stdin, events to it on
/// stdout, progress once a second. The worker exits after its result, or when the coordinator
/// goes away (its stdin ends).
final class WorkerLink {
    private unowned let loop: EventLoop
    private let workload: Workload
    private var reader: LineReader?
    private var cpu: CPUWindow?
    private lazy var progressTimer = LoopTimer { [unowned self] in sendProgress() }

    init(loop: EventLoop, workload: Workload) throws {
        self.loop = loop
        self.workload = workload
        reader = try LineReader(fd: 0, loop: loop, onLine: { [unowned self] line in command(line) }, onEnd: {
            // The coordinator is gone: nobody is left to report to.
            exit(1)
        })
    }

    func run() {
        workload.open(link: self)
        loop.timers.schedule(progressTimer, after: 1_000_000_000, now: Clock.now())
        loop.run()
    }

    func send(_ event: WorkerEvent) {
        guard writeAll(1, event.line) else { exit(1) }
        if case .failed = event { exit(1) }
    }

    private func sendProgress() {
        var progress = workload.progress
        progress.cpuSeconds = ProcessStats.cpuSeconds()
        send(.progress(progress))
        loop.timers.schedule(progressTimer, after: 1_000_000_000, now: loop.now)
    }

    private func command(_ line: [UInt8]) {
        let command: WorkerCommand
        do {
            command = try WorkerCommand(line: line)
        } catch {
            return send(.failed("\(error)"))
        }
        switch command {
        case .start(let from, let until):
            cpu = CPUWindow(loop: loop, from: from, until: until)
            workload.start(from: from, until: until)
        case .finish(let lastSequence):
            workload.finish(lastSequence: lastSequence) { [unowned self] result in
                var result = result
                if let usage = cpu?.usage {
                    result.cpuSeconds = usage.cpuSeconds
                    result.wallSeconds = usage.wallSeconds
                }
                send(.result(result))
                exit(0)
            }
        }
    }
}
