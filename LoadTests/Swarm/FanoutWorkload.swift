import Reactor
import WebSocket

/// A fan-out worker: its share of subscribers. Each publication (a relay.v1 push, or a raw
/// broadcast message) is scanned for its send time, sequence and offset; the ledger keeps
/// latency, duplicates and the watermark the coordinator's window waits for, which is sent at
/// most once per loop turn. A storm worker drives its reconnections through `swarm` and `ledger`.
final class FanoutWorkload: Workload {
    private unowned let loop: EventLoop
    let swarm: ConnectionSwarm
    let ledger: DeliveryLedger
    private let drainTimeout: UInt64
    private var link: WorkerLink?
    private var acknowledgementScheduled = false
    private var unexpected = ErrorCounts()
    private var drain: (target: UInt64, done: (WorkerResult) -> Void)?
    private lazy var drainDeadline = LoopTimer { [unowned self] in finishDrain() }

    init(loop: EventLoop, plan: ConnectionSwarm.Plan, raw: Bool, drainTimeout: UInt64) {
        self.loop = loop
        self.drainTimeout = drainTimeout
        swarm = ConnectionSwarm(loop: loop, plan: plan)
        ledger = DeliveryLedger(subscribers: plan.numbers.count)
        // unowned(unsafe): a workload lives as long as its process; this runs for every delivery.
        let scan = raw ? PublicationPayload.scanRaw : PublicationScanner.scan
        swarm.onMessage = { [unowned(unsafe) self] client, _, payload in
            guard let publication = scan(payload) else { return unexpected.add("unexpected_message") }
            ledger.record(subscriber: client.tag, publication, receivedAt: client.receivedAt)
        }
        swarm.onLost = { [unowned self] tag in ledger.lost(subscriber: tag) }
        ledger.onComplete = { [unowned self] _ in completionMoved() }
    }

    func open(link: WorkerLink) {
        self.link = link
        swarm.open(link: link)
    }

    func start(from: UInt64, until: UInt64) {
        ledger.measure(from: from, until: until)
    }

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        drain = (lastSequence, done)
        loop.timers.schedule(drainDeadline, after: drainTimeout, now: Clock.now())
        completionMoved()
    }

    var progress: WorkerProgress {
        WorkerProgress(established: swarm.established, received: ledger.total, errors: swarm.errors.total + unexpected.total)
    }

    private func completionMoved() {
        if let drain, ledger.complete >= drain.target || swarm.alive == 0 { return finishDrain() }
        guard !acknowledgementScheduled else { return }
        acknowledgementScheduled = true
        loop.atEndOfTurn { [unowned self] in
            acknowledgementScheduled = false
            link?.send(.acknowledged(ledger.complete))
        }
    }

    private func finishDrain() {
        guard let drain else { return }
        self.drain = nil
        loop.timers.cancel(drainDeadline)
        var result = WorkerResult(swarm: swarm, ledger: ledger)
        result.errors.add(unexpected)
        drain.done(result)
    }
}
