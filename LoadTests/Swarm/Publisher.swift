import JSON
import Reactor

/// Publishes `{"t": send time, "seq": n}` to one channel through the server API, each request on
/// its own connection, at most `concurrency` at once. Paced either at a fixed rate, or by a
/// window: at most `window` publications not yet delivered to every subscriber.
final class Publisher {
    enum Pace {
        case rate(Double)
        case window(Int)
    }

    struct Target {
        var api: Endpoint
        var apiKey: String
        var channel: String
        var concurrency: Int
        var requestTimeout: UInt64 = 10_000_000_000
        /// Window mode: a window that has not moved for this long is released (and counted).
        var stallTimeout: UInt64 = 5_000_000_000
    }

    private unowned let loop: EventLoop
    private let target: Target
    private let pace: Pace
    private var requests = 0
    /// The sequence of the last publication started.
    private var issued: UInt64 = 0
    /// The highest sequence the server accepted.
    private var lastPublished: UInt64 = 0
    private(set) var published = 0
    /// Accepted publications sent in the measured window: what every subscriber should receive.
    private(set) var measured = 0
    private(set) var errors = ErrorCounts()
    /// Window mode: publications up to this one no longer count as in flight (every subscriber
    /// has them, or they failed and never will).
    private var released: UInt64 = 0
    private var releasedAt: UInt64 = 0
    private var startedAt: UInt64 = 0
    private var measureFrom: UInt64 = 0
    private var until: UInt64 = 0
    private var done: ((UInt64) -> Void)?
    private lazy var ticker = LoopTimer { [unowned self] in tick() }
    /// The first publication failed: the run cannot measure anything.
    var onFatal: (String) -> Void = { _ in }

    init(loop: EventLoop, target: Target, pace: Pace) {
        self.loop = loop
        self.target = target
        self.pace = pace
    }

    /// Publishes from now until `until`; `done` gets the last sequence accepted once every
    /// request has been answered.
    func run(measureFrom: UInt64, until: UInt64, done: @escaping (UInt64) -> Void) {
        startedAt = Clock.now()
        releasedAt = startedAt
        self.measureFrom = measureFrom
        self.until = until
        self.done = done
        tick()
    }

    /// Every subscriber has every publication up to `sequence`.
    func acknowledged(_ sequence: UInt64) {
        guard sequence > released else { return }
        released = sequence
        releasedAt = Clock.now()
        pump()
    }

    private func tick() {
        let now = Clock.now()
        if case .window = pace, issued > released, now - releasedAt > target.stallTimeout {
            errors.add("window_stall")
            released = issued
            releasedAt = now
        }
        pump()
        if now < until { loop.timers.schedule(ticker, after: loop.timers.tickNanoseconds, now: now) }
    }

    private func pump() {
        let now = Clock.now()
        guard now < until else { return finishIfIdle() }
        var allowed: Int
        switch pace {
        case .rate(let rate):
            let due = Int(Double(now - startedAt) * rate / 1e9) + 1
            allowed = due - Int(issued)
        case .window(let window):
            allowed = window - Int(issued - released)
        }
        allowed = min(allowed, target.concurrency - requests)
        for _ in 0..<max(0, allowed) { publish() }
    }

    private func publish() {
        issued += 1
        let sequence = issued
        let sentAt = Clock.now()
        var body = JSONWriter()
        body.beginObject()
        body.key("channel"); body.string(target.channel)
        body.key("data")
        body.beginObject()
        body.key("t"); body.int(Int64(sentAt))
        body.key("seq"); body.int(Int64(sequence))
        body.endObject()
        body.endObject()
        let request = HTTPExchange.post(target.api, path: "/api/publish", bearer: target.apiKey, json: body.bytes)
        requests += 1
        do {
            _ = try HTTPExchange(loop: loop, endpoint: target.api, request: request, timeout: target.requestTimeout) { [unowned self] outcome in
                answered(sequence, sentAt: sentAt, outcome)
            }
        } catch {
            answered(sequence, sentAt: sentAt, .failed(kind: "connect_\(ErrnoName.of(error.errno))", "\(error)"))
        }
    }

    private func answered(_ sequence: UInt64, sentAt: UInt64, _ outcome: HTTPExchange.Outcome) {
        requests -= 1
        switch outcome {
        case .response(200, _):
            published += 1
            lastPublished = max(lastPublished, sequence)
            if sentAt >= measureFrom, sentAt < until { measured += 1 }
        case .response(let status, let body):
            errors.add("publish_http_\(status)")
            if published == 0 { onFatal("the server API refused the publication: HTTP \(status) \(body)") }
            // Nobody will receive it: it must not hold the window.
            released = max(released, sequence)
        case .failed(let kind, let message):
            errors.add("publish_\(kind)")
            if published == 0 { onFatal("cannot publish through \(target.api): \(message)") }
            released = max(released, sequence)
        }
        pump()
    }

    private func finishIfIdle() {
        guard requests == 0, let done else { return }
        self.done = nil
        done(lastPublished)
    }
}
