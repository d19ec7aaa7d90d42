import Reactor

/// A storm worker: its share of subscribers, whose deliveries a fan-out worker counts, churning
/// from the start of traffic to the end of the measured window. Every interval a share of the
/// live ones close their connections and reconnect at once, and at one moment all of them do;
/// each subscribes again with `since`, the offset of the last publication it had and the epoch
/// of its last subscribe reply, so the gateway replays what it missed.
final class StormWorkload: Workload {
    struct Churn {
        var interval: UInt64
        /// The share of live subscribers each wave takes (rounded up, so a small share of a
        /// small worker still takes one).
        var share: Double
        /// When all of them reconnect, into the measured window; nil: never.
        var massReconnectAt: UInt64?
    }

    private unowned let loop: EventLoop
    private let deliveries: FanoutWorkload
    private let churn: Churn
    /// The epoch of each subscriber's channel, from its last subscribe reply.
    private var epochs: [String]
    /// Where the next wave starts looking: waves take the subscribers in turn.
    private var cursor = 0
    private var until: UInt64 = 0
    private lazy var waveTimer = LoopTimer { [unowned self] in wave() }
    private lazy var massTimer = LoopTimer { [unowned self] in reconnect(epochs.count) }

    init(loop: EventLoop, plan: ConnectionSwarm.Plan, churn: Churn, drainTimeout: UInt64) {
        self.loop = loop
        self.churn = churn
        deliveries = FanoutWorkload(loop: loop, plan: plan, raw: false, drainTimeout: drainTimeout)
        epochs = Array(repeating: "", count: plan.numbers.count)
        deliveries.swarm.onSubscribed = { [unowned self] tag, position, recovered in
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
        self.until = until
        let now = Clock.now()
        loop.timers.schedule(waveTimer, after: churn.interval, now: now)
        if let at = churn.massReconnectAt {
            let massAt = from + at
            loop.timers.schedule(massTimer, after: massAt > now ? massAt - now : 0, now: now)
        }
    }

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        loop.timers.cancel(waveTimer)
        loop.timers.cancel(massTimer)
        deliveries.finish(lastSequence: lastSequence, done: done)
    }

    var progress: WorkerProgress { deliveries.progress }

    private func wave() {
        let now = Clock.now()
        guard now < until else { return }
        let live = epochs.indices.reduce(0) { $0 + (deliveries.swarm.isLive($1) ? 1 : 0) }
        reconnect(Int((Double(live) * churn.share).rounded(.up)))
        loop.timers.schedule(waveTimer, after: churn.interval, now: now)
    }

    /// Reconnects the next `count` live subscribers from the cursor (fewer if fewer are live).
    private func reconnect(_ count: Int) {
        var left = count
        for _ in epochs.indices where left > 0 {
            let tag = cursor
            cursor = (cursor + 1) % epochs.count
            guard deliveries.swarm.isLive(tag) else { continue }
            deliveries.swarm.reconnect(tag, since: RelaySession.Position(offset: deliveries.ledger.offset(of: tag), epoch: epochs[tag]))
            left -= 1
        }
    }
}
