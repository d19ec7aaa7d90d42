import Glibc
import JSON

/// The final report: every field as a line of text on stderr and as a member of one JSON object,
/// printed as the last line on stdout.
struct Report {
    private var json = JSONWriter()
    private var lines: [String] = []

    init(scenario: String) {
        json.beginObject()
        add("scenario", scenario)
    }

    mutating func add(_ key: String, _ value: String) {
        json.key(key); json.string(value)
        lines.append("\(key): \(value)")
    }

    mutating func add(_ key: String, _ value: Int) {
        json.key(key); json.int(value)
        lines.append("\(key): \(value)")
    }

    mutating func add(_ key: String, _ value: Double) {
        let rounded = (value * 100).rounded() / 100
        json.key(key); json.double(rounded.isFinite ? rounded : 0)
        lines.append("\(key): \(Format.decimal(value, places: 2))")
    }

    mutating func add(_ key: String, _ value: Bool) {
        json.key(key); json.bool(value)
        lines.append("\(key): \(value)")
    }

    /// The setup window: its length, the connections set up per second in it (over wss://,
    /// each one a TLS handshake then the upgrade: the handshake rate), and with TLS how many
    /// handshakes there were and how many the server resumed.
    mutating func addSetup(seconds: Double, total: WorkerResult, connection: ConnectionOptions) {
        add("setup_s", seconds)
        add("setup_connections_per_s", seconds > 0 ? Double(total.established) / seconds : 0)
        guard connection.usesTLS else { return }
        add("tls_resume", connection.tlsResume)
        add("tls_verify", connection.caFile != nil)
        add("tls_handshakes", total.tlsHandshakes)
        add("tls_resumed", total.tlsResumed)
    }

    /// Percentiles in microseconds.
    mutating func add(_ key: String, _ latency: LatencyHistogram) {
        let fields: [(String, Double)] = [
            ("p50", latency.microseconds(atPercentile: 50)), ("p90", latency.microseconds(atPercentile: 90)),
            ("p99", latency.microseconds(atPercentile: 99)), ("p99_9", latency.microseconds(atPercentile: 99.9)),
            ("max", latency.maxMicroseconds), ("mean", latency.meanMicroseconds),
        ]
        json.key(key)
        json.beginObject()
        for (name, value) in fields { json.key(name); json.double((value * 10).rounded() / 10) }
        json.key("count"); json.int(Int64(latency.count))
        json.endObject()
        lines.append("\(key): " + fields.map { "\($0) \(Format.decimal($1, places: 1))" }.joined(separator: "  ")
                     + "  (\(latency.count) samples)")
    }

    /// Reconnections (storm, chat): how many, their latency from the close to the last subscribe
    /// reply, those whose history did not reach back, and the failures by kind.
    mutating func add(_ reconnects: ReconnectStats) {
        add("reconnects", reconnects.completed)
        add("reconnect_latency_us", reconnects.latency)
        add("not_recovered", reconnects.notRecovered)
        add("reconnect_failures", reconnects.failures)
    }

    mutating func add(_ key: String, _ errors: ErrorCounts) {
        json.key(key)
        json.beginObject()
        for (kind, count) in errors.sorted { json.key(kind); json.int(count) }
        json.endObject()
        lines.append("\(key): " + (errors.total == 0 ? "none" : errors.sorted.map { "\($0) \($1)" }.joined(separator: ", ")))
    }

    /// Each process's CPU use over the measured window as a fraction of one core, whether one of
    /// them was near a full core (then the figures are the swarm's limit, not the server's), and
    /// how busy each core of the machine was (softirq included: the server's share of loopback
    /// TCP shows there, not in any process's time).
    mutating func addCPU(_ coordinator: CPUWindow?, workers: [WorkerResult]) {
        let own = coordinator.map { $0.usage.cpuSeconds / $0.usage.wallSeconds } ?? 0
        let shares = workers.map { $0.wallSeconds > 0 ? $0.cpuSeconds / $0.wallSeconds : 0 }
        let cores = coordinator?.coresBusy ?? []
        json.key("cpu")
        json.beginObject()
        json.key("coordinator"); json.double((own * 100).rounded() / 100)
        json.key("workers")
        json.beginArray()
        for share in shares { json.double((share * 100).rounded() / 100) }
        json.endArray()
        json.key("cores_busy")
        json.beginArray()
        for core in cores { json.double((core * 100).rounded() / 100) }
        json.endArray()
        json.endObject()
        lines.append("cpu (of one core): coordinator \(Format.decimal(own, places: 2)), workers "
                     + shares.map { Format.decimal($0, places: 2) }.joined(separator: " ")
                     + "; machine cores busy " + cores.map { "\(Int(($0 * 100).rounded()))%" }.joined(separator: " "))
        add("client_bound", ([own] + shares).contains { $0 > 0.9 })
    }

    func print() {
        printError(lines.map { "  " + $0 }.joined(separator: "\n"))
        var json = json
        json.endObject()
        _ = writeAll(1, json.bytes + [0x0A])
    }
}
