/// Messages sent in the measured window and their deliveries: the publisher's (fanout, storm,
/// chat's availability changes) or chat's conversation messages, a worker's share or all of
/// them. Each message is owed to every one of its recipients, so what is owed and not received
/// is lost.
struct DeliveryCounts {
    var sent = 0
    var expected = 0
    var received = 0
    var duplicates = 0
    var latency = LatencyHistogram()

    var lost: Int { max(0, expected - received) }

    mutating func add(_ other: DeliveryCounts) {
        sent += other.sent
        expected += other.expected
        received += other.received
        duplicates += other.duplicates
        latency.add(other.latency)
    }

    /// The report's fields over the measured window, each name after `prefix`; `sentKey` names
    /// what was sent.
    func add(to report: inout Report, duration: Double, prefix: String = "", sentKey: String = "publications") {
        report.add(prefix + sentKey, sent)
        report.add(prefix + sentKey + "_per_s", Double(sent) / duration)
        report.add(prefix + "deliveries", received)
        report.add(prefix + "deliveries_per_s", Double(received) / duration)
        report.add(prefix + "expected_deliveries", expected)
        report.add(prefix + "lost", lost)
        report.add(prefix + "duplicates", duplicates)
        report.add(prefix + "latency_us", latency)
    }
}
