import Histogram

/// Latencies in nanoseconds in an HDR histogram (three significant digits up to a minute), so
/// percentiles stay exact to 0.1% at any count. Workers send their non-empty buckets to the
/// coordinator, which adds them up.
struct LatencyHistogram {
    private static let highest: UInt64 = 60_000_000_000
    private var histogram = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .three)

    /// A latency past the top is recorded as the top: a failure by any measure, which must
    /// still show in the maximum.
    mutating func record(_ nanoseconds: UInt64) {
        histogram.record(min(nanoseconds, Self.highest))
    }

    mutating func record(_ nanoseconds: UInt64, count: UInt64) {
        histogram.record(min(nanoseconds, Self.highest), count: count)
    }

    mutating func add(_ other: LatencyHistogram) { histogram.add(other.histogram) }

    var count: UInt64 { histogram.totalCount }

    /// Non-empty buckets as (a value in the bucket, count).
    var buckets: [(value: UInt64, count: UInt64)] { histogram.recordedValues().map { ($0.value, $0.count) } }

    /// Microseconds at `percentile` (0...100); 0 when nothing was recorded.
    func microseconds(atPercentile percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1000
    }

    var maxMicroseconds: Double { count == 0 ? 0 : Double(histogram.max) / 1000 }
    var meanMicroseconds: Double { count == 0 ? 0 : histogram.mean / 1000 }
}
