import Glibc
import Reactor
import WebSocket

/// An echo worker: each connection keeps `window` binary messages of `size` bytes in flight
/// against any RFC 6455 echo server until the measured window ends. A message carries its send
/// time in its first eight bytes, so the echo gives the round trip with no state per message.
final class EchoWorkload: Workload {
    private unowned let loop: EventLoop
    private let swarm: ConnectionSwarm
    private let size: Int
    private let window: Int
    private let drainTimeout: UInt64
    private var latency = LatencyHistogram()
    private var received = 0
    private var measured = 0
    private var inFlight: [Int]
    private var totalInFlight = 0
    private var errors = ErrorCounts()
    private var measureFrom = UInt64.max
    private var measureUntil = UInt64.max
    private var done: ((WorkerResult) -> Void)?
    private lazy var drainDeadline = LoopTimer { [unowned self] in finishDrain() }

    init(loop: EventLoop, plan: ConnectionSwarm.Plan, size: Int, window: Int, drainTimeout: UInt64) {
        precondition(size >= 8, "an echo message carries an eight-byte send time")
        self.loop = loop
        self.size = size
        self.window = window
        self.drainTimeout = drainTimeout
        inFlight = Array(repeating: 0, count: plan.numbers.count)
        swarm = ConnectionSwarm(loop: loop, plan: plan)
        swarm.onMessage = { [unowned self] client, _, payload in echoed(client, payload) }
        swarm.onLost = { [unowned self] tag in
            // What the lost connection had in flight will not come back.
            totalInFlight -= inFlight[tag]
            inFlight[tag] = 0
            drainIfIdle()
        }
    }

    func open(link: WorkerLink) {
        swarm.open(link: link)
    }

    func start(from: UInt64, until: UInt64) {
        measureFrom = from
        measureUntil = until
        for case let client? in swarm.clients {
            for _ in 0..<window { send(on: client) }
        }
    }

    func finish(lastSequence: UInt64, done: @escaping (WorkerResult) -> Void) {
        self.done = done
        loop.timers.schedule(drainDeadline, after: drainTimeout, now: Clock.now())
        drainIfIdle()
    }

    var progress: WorkerProgress {
        WorkerProgress(established: swarm.established, received: received, errors: swarm.errors.total + errors.total)
    }

    private func send(on client: WebSocketClient) {
        inFlight[client.tag] += 1
        totalInFlight += 1
        client.send(.binary, count: size) { payload in
            payload.storeBytes(of: Clock.now().littleEndian, as: UInt64.self)
            memset(payload.baseAddress! + 8, 0x2E, payload.count - 8)
        }
    }

    private func echoed(_ client: WebSocketClient, _ payload: UnsafeRawBufferPointer) {
        inFlight[client.tag] -= 1
        totalInFlight -= 1
        received += 1
        if payload.count == size {
            let sentAt = UInt64(littleEndian: payload.loadUnaligned(as: UInt64.self))
            if sentAt >= measureFrom, sentAt < measureUntil {
                measured += 1
                latency.record(client.receivedAt &- sentAt)
            }
        } else {
            errors.add("echo_size_mismatch")
        }
        if client.receivedAt < measureUntil { send(on: client) } else { drainIfIdle() }
    }

    private func drainIfIdle() {
        if done != nil, totalInFlight == 0 { finishDrain() }
    }

    private func finishDrain() {
        guard let done else { return }
        self.done = nil
        loop.timers.cancel(drainDeadline)
        var result = WorkerResult(swarm: swarm)
        result.received = measured
        result.errors.add(errors)
        result.latency = latency
        done(result)
    }
}
