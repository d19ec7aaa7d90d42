import Reactor

/// Paces a fan-out run's publications: in rounds, each publishing sequence n to every channel,
/// either at a fixed rate of rounds a second, or by a window of rounds not yet delivered to every
/// subscriber. Each publication goes through the transport, at most its capacity unanswered.
final class Publisher {
    enum Pace {
        case rate(Double)
        case window(Int)
    }

    private unowned let loop: EventLoop
    private let transport: PublicationTransport
    private let channels: [String]
    private let pace: Pace
    /// Window mode: a window that has not moved for this long is released (and counted).
    private let stallTimeout: UInt64 = 5_000_000_000
    private var requests = 0
    /// The last round started, and how many of its channels are still to be sent.
    private var issued: UInt64 = 0
    private var unsentChannels = 0
    /// The highest sequence the server accepted.
    private var lastPublished: UInt64 = 0
    private(set) var published = 0
    /// Accepted publications sent in the measured window, per channel: what that channel's
    /// subscribers should each receive.
    private(set) var measured: [Int]
    private(set) var errors = ErrorCounts()
    /// Window mode: rounds up to this one no longer count as in flight (every subscriber has
    /// them, or they failed and never will).
    private var released: UInt64 = 0
    private var releasedAt: UInt64 = 0
    private var startedAt: UInt64 = 0
    private var measureFrom: UInt64 = 0
    private var until: UInt64 = 0
    private var done: ((UInt64) -> Void)?
    private var pumpScheduled = false
    private lazy var ticker = LoopTimer { [unowned self] in tick() }
    /// The first publication failed: the run cannot measure anything.
    var onFatal: (String) -> Void = { _ in }

    init(loop: EventLoop, transport: PublicationTransport, channels: [String], pace: Pace) {
        self.loop = loop
        self.transport = transport
        self.channels = channels
        self.pace = pace
        measured = Array(repeating: 0, count: channels.count)
    }

    /// Rounds started so far: the progress line's publications.
    var rounds: UInt64 { issued }

    /// Publishes from now until `until`; `done` gets the last sequence accepted once every
    /// publication has been answered.
    func run(measureFrom: UInt64, until: UInt64, done: @escaping (UInt64) -> Void) {
        startedAt = Clock.now()
        releasedAt = startedAt
        self.measureFrom = measureFrom
        self.until = until
        self.done = done
        tick()
    }

    /// Every subscriber has every round up to `sequence`.
    func acknowledged(_ sequence: UInt64) {
        guard sequence > released else { return }
        released = sequence
        releasedAt = Clock.now()
        pump()
    }

    private func tick() {
        let now = Clock.now()
        if case .window = pace, issued > released, now - releasedAt > stallTimeout {
            errors.add("window_stall")
            released = issued
            releasedAt = now
        }
        pump()
        if now < until { loop.timers.schedule(ticker, after: loop.timers.tickNanoseconds, now: now) }
    }

    private func pump() {
        let now = Clock.now()
        while requests < transport.capacity {
            if unsentChannels == 0 {
                guard now < until, roundsAllowed(now) > 0 else { break }
                issued += 1
                unsentChannels = channels.count
            }
            let channel = channels.count - unsentChannels
            unsentChannels -= 1
            send(sequence: issued, channel: channel)
        }
        if now >= until, unsentChannels == 0 { finishIfIdle() }
    }

    private func roundsAllowed(_ now: UInt64) -> Int {
        switch pace {
        case .rate(let rate): return Int(Double(now - startedAt) * rate / 1e9) + 1 - Int(issued)
        case .window(let window): return window - Int(issued - released)
        }
    }

    private func send(sequence: UInt64, channel: Int) {
        requests += 1
        let sentAt = Clock.now()
        transport.publish(channel: channels[channel], sequence: sequence, sentAt: sentAt) { [unowned self] outcome in
            answered(sequence, channel: channel, sentAt: sentAt, outcome)
        }
    }

    private func answered(_ sequence: UInt64, channel: Int, sentAt: UInt64, _ outcome: PublishOutcome) {
        requests -= 1
        switch outcome {
        case .accepted:
            published += 1
            lastPublished = max(lastPublished, sequence)
            if sentAt >= measureFrom, sentAt < until { measured[channel] += 1 }
        case .refused(let kind, let message):
            errors.add(kind)
            if published == 0 { onFatal(message) }
            // Some subscribers will never receive it: it must not hold the window.
            released = max(released, sequence)
        }
        // A transport that answers at once would recurse: the next publications go from the loop.
        guard !pumpScheduled else { return }
        pumpScheduled = true
        loop.atEndOfTurn { [unowned self] in
            pumpScheduled = false
            pump()
        }
    }

    private func finishIfIdle() {
        guard requests == 0, let done else { return }
        self.done = nil
        done(lastPublished)
    }
}
