/// Fan-out latencies measured on one loop since the last fold: nanoseconds from the engine
/// accepting a publication to its frame being queued to the last subscriber on this loop.
/// Preallocated, so recording one allocates nothing; a loop that fans out more publications than
/// `capacity` in a second records the first `capacity` of them.
struct FanOutSamples {
    static let capacity = 4096
    private(set) var values = [Int64](repeating: 0, count: Self.capacity)
    private(set) var count = 0

    var isFull: Bool { count == Self.capacity }

    /// Records one; the caller folds a full buffer first.
    mutating func record(_ nanoseconds: Int64) {
        values[count] = nanoseconds
        count += 1
    }

    mutating func removeAll() { count = 0 }
}
