import Broker

/// One loop's view of a channel's live stream from Redis: the epoch and the highest offset
/// delivered to its local subscribers. Live publications arrive on the pub/sub connection, and
/// a new subscriber's recovery is read on the command connection, so the two race; this is where
/// they are merged so that the subscriber gets every publication after its position once, in
/// order: the read covers up to its snapshot, the live stream from there on.
final class LiveStream {
    private(set) var epoch: String?
    private(set) var delivered: UInt64 = 0
    /// Whether the loop still has subscribers (or wants the channel during a linger).
    var wanted = true
    /// When the last local subscriber left (monotonic nanoseconds), for the linger.
    var idleSince: UInt64 = 0
    /// The pub/sub subscription was lost: what was published meanwhile is missing until the gap
    /// is read from history. Live publications that arrive meanwhile wait in `held`.
    var gap = false
    private(set) var held: [(publication: Publication, epoch: String)] = []
    /// Position reads in flight.
    private var reads = 0
    /// Live publications received while reads were in flight, for reads whose snapshot is older.
    private var recent: [Publication] = []
    /// Reads whose snapshot is ahead of the live stream: they complete when it catches up.
    private var parked: [(target: UInt64, result: SubscribeResult, completion: (SubscribeResult) -> Void)] = []

    var isIdle: Bool { !wanted && reads == 0 && parked.isEmpty }
    var isReading: Bool { reads > 0 }

    /// A live publication with a place in the stream: whether to deliver it (false: a repeat).
    /// Call `settle` once it is delivered.
    func admit(_ publication: Publication, epoch: String) -> Bool {
        if epoch != self.epoch {
            // A new epoch (history lost, offsets restarted) or the first live publication.
            self.epoch = epoch
            recent.removeAll()
        } else if publication.offset <= delivered {
            return false
        }
        delivered = publication.offset
        if reads > 0 { recent.append(publication) }
        return true
    }

    func startRead() { reads += 1 }

    /// A read that got no answer (Redis away).
    func abandonRead() {
        reads -= 1
        if reads == 0, parked.isEmpty { recent.removeAll() }
    }

    /// A read's snapshot: the position and, for a recovery, the publications after `since` up to
    /// it. `completion` gets what the new subscriber must be sent before it joins the live stream.
    func finishRead(_ read: SubscribeResult, completion: @escaping (SubscribeResult) -> Void) {
        reads -= 1
        defer { if reads == 0, parked.isEmpty { recent.removeAll() } }
        guard let epoch else {
            // Nothing live yet: the live stream starts after this snapshot.
            self.epoch = read.position.epoch
            delivered = read.position.offset
            return completion(read)
        }
        guard epoch == read.position.epoch else {
            // The epoch changed between the two; the subscriber starts over from the read.
            return completion(read)
        }
        if read.position.offset > delivered {
            // Published before the read, still on its way live: wait for it.
            return parked.append((read.position.offset, read, completion))
        }
        completion(merge(read))
    }

    /// The read plus what the live stream delivered past its snapshot.
    private func merge(_ read: SubscribeResult) -> SubscribeResult {
        let snapshot = read.position.offset
        var publications = read.publications
        if read.recovered { publications += recent.filter { $0.offset > snapshot && $0.offset <= delivered } }
        return SubscribeResult(position: StreamPosition(offset: max(snapshot, delivered), epoch: read.position.epoch),
                               recovered: read.recovered, publications: publications)
    }

    /// Completes the parked reads the live stream caught up with. Only after the publication that
    /// caught up went to the local subscribers: a subscriber that joined first would get it twice.
    func settle() {
        guard !parked.isEmpty else { return }
        var waiting: [(target: UInt64, result: SubscribeResult, completion: (SubscribeResult) -> Void)] = []
        for entry in parked {
            if entry.target <= delivered { entry.completion(merge(entry.result)) } else { waiting.append(entry) }
        }
        parked = waiting
        if reads == 0, parked.isEmpty { recent.removeAll() }
    }

    /// The live stream broke (Redis away): parked reads complete with their snapshot, whose tail
    /// the subscriber may then never get live: it is told to recover (streamLost) with the rest.
    func interrupt() -> [() -> Void] {
        let released = parked.map { entry in { entry.completion(entry.result) } }
        parked.removeAll()
        if epoch != nil { gap = true }
        return released
    }

    /// A live publication that must wait until the gap is filled.
    func hold(_ publication: Publication, epoch: String) { held.append((publication, epoch)) }

    /// The gap is filled (or cannot be): returns the publications held meanwhile, to be admitted
    /// after the gap's own.
    func closeGap() -> [(publication: Publication, epoch: String)] {
        gap = false
        defer { held.removeAll() }
        return held
    }

    /// The gap cannot be filled: the subscribers recover by themselves; the live stream starts
    /// afresh with the next publication.
    func restart() {
        epoch = nil
        delivered = 0
        gap = false
        held.removeAll()
    }
}
