import Reactor

/// Reconnections a worker makes on purpose (storm, chat), from the start of traffic to the end
/// of the measured window: every interval a share of its live connections close and reconnect
/// at once, and, when asked, at one moment all of them do, as after a deploy or a network blip.
/// Each subscribes again from its positions, so the gateway replays what it missed.
final class Churn {
    struct Plan {
        var interval: UInt64
        /// The share of live connections each wave takes (rounded up, so a small share of a
        /// small worker still takes one).
        var share: Double
        /// When all of them reconnect, into the measured window; nil: never.
        var massReconnectAt: UInt64?
    }

    private unowned let loop: EventLoop
    private let swarm: ConnectionSwarm
    private let plan: Plan
    /// Where a connection resumes: a position per channel, in the order of its subscriptions.
    private let positions: (Int) -> [RelaySession.Position]
    /// Where the next wave starts looking: waves take the connections in turn.
    private var cursor = 0
    private var until: UInt64 = 0
    private lazy var waveTimer = LoopTimer { [unowned self] in wave() }
    private lazy var massTimer = LoopTimer { [unowned self] in reconnect(swarm.clients.count) }

    init(loop: EventLoop, swarm: ConnectionSwarm, plan: Plan, positions: @escaping (Int) -> [RelaySession.Position]) {
        self.loop = loop
        self.swarm = swarm
        self.plan = plan
        self.positions = positions
    }

    func start(from: UInt64, until: UInt64) {
        self.until = until
        let now = Clock.now()
        loop.timers.schedule(waveTimer, after: plan.interval, now: now)
        if let at = plan.massReconnectAt {
            let massAt = from + at
            loop.timers.schedule(massTimer, after: massAt > now ? massAt - now : 0, now: now)
        }
    }

    func stop() {
        loop.timers.cancel(waveTimer)
        loop.timers.cancel(massTimer)
    }

    private func wave() {
        let now = Clock.now()
        guard now < until else { return }
        let live = swarm.clients.indices.reduce(0) { $0 + (swarm.isLive($1) ? 1 : 0) }
        reconnect(Int((Double(live) * plan.share).rounded(.up)))
        loop.timers.schedule(waveTimer, after: plan.interval, now: now)
    }

    /// Reconnects the next `count` live connections from the cursor (fewer if fewer are live).
    private func reconnect(_ count: Int) {
        let connections = swarm.clients.count
        var left = count
        for _ in 0..<connections where left > 0 {
            let tag = cursor
            cursor = (cursor + 1) % connections
            guard swarm.isLive(tag) else { continue }
            swarm.reconnect(tag, since: positions(tag))
            left -= 1
        }
    }
}
