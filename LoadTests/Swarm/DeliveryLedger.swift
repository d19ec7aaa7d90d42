/// A fan-out worker's account of deliveries: latency of those sent in the measured window,
/// duplicates (a sequence at or below the subscriber's last one), the sequence up to which
/// every live subscriber has everything (what window mode waits for), and each subscriber's
/// channel offset (where a reconnection resumes: storm, chat's availability).
final class DeliveryLedger {
    private(set) var latency = LatencyHistogram()
    /// Deliveries of publications sent in the measured window.
    private(set) var measured = 0
    /// Every delivery, warm-up and drain included.
    private(set) var total = 0
    private(set) var duplicates = 0
    private var measureFrom = UInt64.max
    private var measureUntil = UInt64.max
    private var lastSequence: [UInt64]
    /// The offset of each subscriber's last publication, or where its subscription started.
    private var offsets: [UInt64]
    private var completion: Completion
    /// Called when `complete` moves, at most once per delivery.
    var onComplete: (UInt64) -> Void = { _ in }

    init(subscribers: Int) {
        lastSequence = Array(repeating: 0, count: subscribers)
        offsets = Array(repeating: 0, count: subscribers)
        completion = Completion(subscribers: subscribers)
    }

    var complete: UInt64 { completion.watermark }

    func measure(from: UInt64, until: UInt64) {
        measureFrom = from
        measureUntil = until
    }

    func record(subscriber: Int, _ publication: ReceivedPublication, receivedAt: UInt64) {
        let last = lastSequence[subscriber]
        let sequence = publication.sequence
        guard sequence > last else {
            duplicates += 1
            return
        }
        lastSequence[subscriber] = sequence
        // Assigned, not maximised: a channel's pushes come in offset order, and a new epoch
        // starts its offsets again.
        offsets[subscriber] = publication.offset
        total += 1
        if publication.sentAt >= measureFrom, publication.sentAt < measureUntil {
            measured += 1
            latency.record(receivedAt &- publication.sentAt)
        }
        // Sequences skipped will never come to this subscriber: count them as settled for it.
        let before = completion.watermark
        completion.settle(last + 1...sequence)
        if completion.watermark != before { onComplete(completion.watermark) }
    }

    func offset(of subscriber: Int) -> UInt64 { offsets[subscriber] }

    /// A subscription started at `offset` without replaying anything (a first subscribe, or one
    /// that could not recover): what came before is not this subscriber's to resume.
    func resume(subscriber: Int, at offset: UInt64) {
        offsets[subscriber] = offset
    }

    /// A subscriber is gone: what it has not received no longer holds the watermark back.
    func lost(subscriber: Int) {
        let before = completion.watermark
        completion.remove(settledUpTo: lastSequence[subscriber])
        if completion.watermark != before { onComplete(completion.watermark) }
    }
}

/// How many live subscribers have settled each recent sequence (received it, or skipped past
/// it), in a ring: the watermark is the highest sequence every one of them has settled, with
/// everything below it.
struct Completion {
    private static let capacity: UInt64 = 1 << 16
    private var counts = [Int32](repeating: 0, count: Int(capacity))
    private var live: Int32
    private(set) var watermark: UInt64 = 0
    /// The highest sequence any subscriber has settled: the watermark never passes it.
    private var highest: UInt64 = 0

    init(subscribers: Int) { live = Int32(subscribers) }

    /// One subscriber settled `sequences`.
    mutating func settle(_ sequences: ClosedRange<UInt64>) {
        let top = sequences.upperBound
        // A subscriber a whole ring ahead of the slowest: the slowest are written off for what
        // falls out of the ring (their deliveries, if they come, still count).
        if top - watermark > Self.capacity { forceAdvance(to: top - Self.capacity) }
        highest = max(highest, top)
        let bottom = max(sequences.lowerBound, watermark + 1)
        if bottom <= top {
            for sequence in bottom...top { counts[slot(sequence)] += 1 }
        }
        advance()
    }

    /// A subscriber left, having settled everything up to `settled`.
    mutating func remove(settledUpTo settled: UInt64) {
        live -= 1
        if settled > watermark {
            for sequence in (watermark + 1)...settled { counts[slot(sequence)] -= 1 }
        }
        advance()
    }

    private mutating func advance() {
        while watermark < highest, counts[slot(watermark + 1)] >= live { step() }
    }

    private mutating func forceAdvance(to target: UInt64) {
        while watermark < target { step() }
    }

    private mutating func step() {
        counts[slot(watermark + 1)] = 0
        watermark += 1
    }

    private func slot(_ sequence: UInt64) -> Int { Int(sequence & (Self.capacity - 1)) }
}
