/// How a worker's reconnections went (storm, chat): how many completed, each one's latency from
/// the close to the last subscribe reply, how many subscribe replies said `recovered: false`
/// (publications missed for good), and the reconnections that failed, by kind (the subscriber is
/// then given up).
struct ReconnectStats {
    var completed = 0
    var latency = LatencyHistogram()
    var notRecovered = 0
    var failures = ErrorCounts()

    mutating func record(reconnectedAfter nanoseconds: UInt64) {
        completed += 1
        latency.record(nanoseconds)
    }

    mutating func add(_ other: ReconnectStats) {
        completed += other.completed
        latency.add(other.latency)
        notRecovered += other.notRecovered
        failures.add(other.failures)
    }
}
