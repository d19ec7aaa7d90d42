/// Errors by kind (`connect_ECONNREFUSED`, `closed_by_server_4003`, `publish_http_503`, ...).
struct ErrorCounts {
    private(set) var counts: [String: Int] = [:]

    mutating func add(_ kind: String, _ count: Int = 1) { counts[kind, default: 0] += count }

    mutating func add(_ other: ErrorCounts) {
        for (kind, count) in other.counts { add(kind, count) }
    }

    var total: Int { counts.values.reduce(0, +) }

    /// Kinds in a stable order, for reports.
    var sorted: [(kind: String, count: Int)] { counts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) } }
}
