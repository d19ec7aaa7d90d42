import Reactor

/// A storm worker: its share of subscribers, whose deliveries a fan-out worker counts, churning
/// from the start of traffic to the end of the measured window. Each resubscribes with `since`:
/// the offset of the last publication it had and the epoch of its last subscribe reply.
final class StormWorkload: Workload {
    private unowned let loop: EventLoop
    private let deliveries: FanoutWorkload
    private let churnPlan: Churn.Plan
    /// The epoch of each subscriber's channel, from its last subscribe reply.
    private var epochs: [String]
    private lazy var churn = Churn(loop: loop, swarm: deliveries.swarm, plan: churnPlan) { [unowned self] tag in
        [RelaySession.Position(offset: deliveries.ledger.offset(of: tag), epoch: epochs[tag])]
    }

    init(loop: EventLoop, plan: ConnectionSwarm.Plan, churn: Churn.Plan, drainTimeout: UInt64) {
        self.loop = loop
        churnPlan = churn
        deliveries = FanoutWorkload(loop: loop, plan: plan, raw: false, drainTimeout: drainTimeout)
        epochs = Array(repeating: "", count: plan.numbers.count)
        deliveries.swarm.onSubscribed = { [unowned self] tag, _, position, recovered in
            epochs[tag] = position.epoch
            // A recovered subscription resumes from the replayed publications that follow.
            if recovered != true { deliveries.ledger.resume(subscriber: tag, at: position.offset) }
        }
    }

    func open(link: WorkerLink) {
        deliveries.open(link: link)
    }

    func start(from: UInt64, until: UInt64) {
        deliveries.start(from: from, until: until)
        churn.start(from: from, until: until)
    }

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        churn.stop()
        deliveries.finish(lastSequence: lastSequence, done: done)
    }

    var progress: WorkerProgress { deliveries.progress }
}
