import Reactor
import WebSocket

/// An idle or connect worker: its share of connections, opened and then left alone (answering
/// the server's pings) until the coordinator has read the server's memory and ends the hold.
final class IdleWorkload: Workload {
    private let swarm: ConnectionSwarm
    private var received = 0

    init(loop: EventLoop, plan: ConnectionSwarm.Plan) {
        swarm = ConnectionSwarm(loop: loop, plan: plan)
        swarm.onMessage = { [unowned self] _, _, _ in received += 1 }
    }

    func open(link: WorkerLink) {
        swarm.open(link: link)
    }

    func start(from: UInt64, until: UInt64) {}

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        var result = WorkerResult(swarm: swarm)
        result.received = received
        result.latency = swarm.setupLatency
        done(result)
    }

    var progress: WorkerProgress {
        WorkerProgress(established: swarm.established, received: received, errors: swarm.errors.total)
    }
}
