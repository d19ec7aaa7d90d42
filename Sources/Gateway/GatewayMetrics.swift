import CoreMetrics
import RelayServer

/// Folds one loop's counters (the transport's and the gateway's) into swift-metrics once a
/// second: the hot path bumps plain integers, and only the fold touches the shared metric
/// objects, whose backend (Prometheus in `relay serve`) may lock. Counters get the growth since
/// the last fold; gauges (meters) get the change, so the loops' shares add up.
final class GatewayMetrics {
    private let factory: MetricsFactory
    private var lastTransport = TransportStats()
    private var last = GatewayStats()
    private var lastChannels = 0

    private let connections: Meter
    private let subscriptions: Meter
    private let channels: Meter
    private let bytesIn: Counter
    private let bytesOut: Counter
    private let publications: Counter
    private let deliveries: Counter
    private let droppedPushes: Counter
    private let slowConsumerCloses: Counter
    private let fanOut: CoreMetrics.Timer
    private var replyCounters: [Int: Counter] = [:]
    private var handshakeCounters: [Int: Counter] = [:]
    private var authFailureCounters: [String: Counter] = [:]
    private var rateLimitCounters: [Int: Counter] = [:]
    private let tlsHandshakes: Counter
    private let tlsResumed: Counter
    private var tlsErrorCounters: [String: Counter] = [:]

    /// The fan-out timer's label, by which `relay serve` gives it its own histogram buckets.
    static let fanOutLabel = "relay_fanout_seconds"

    init(factory: MetricsFactory) {
        self.factory = factory
        connections = Meter(label: "relay_connections", factory: factory)
        subscriptions = Meter(label: "relay_subscriptions", factory: factory)
        channels = Meter(label: "relay_channels", factory: factory)
        bytesIn = Counter(label: "relay_received_bytes_total", factory: factory)
        bytesOut = Counter(label: "relay_sent_bytes_total", factory: factory)
        publications = Counter(label: "relay_publications_total", factory: factory)
        deliveries = Counter(label: "relay_deliveries_total", factory: factory)
        droppedPushes = Counter(label: "relay_slow_consumer_dropped_pushes_total", factory: factory)
        slowConsumerCloses = Counter(label: "relay_slow_consumer_closes_total", factory: factory)
        fanOut = CoreMetrics.Timer(label: Self.fanOutLabel, factory: factory)
        tlsHandshakes = Counter(label: "relay_tls_handshakes_total", dimensions: [("resumed", "false")], factory: factory)
        tlsResumed = Counter(label: "relay_tls_handshakes_total", dimensions: [("resumed", "true")], factory: factory)
        // Present from the start (at 0), so dashboards and alerts see them before any traffic.
        _ = handshakeCounter(101)
        for bucket in GatewayStats.Bucket.allCases { _ = rateLimitCounter(bucket.rawValue) }
    }

    func fold(transport: TransportStats, gateway stats: GatewayStats, fanOuts: inout FanOutSamples, localChannels: Int) {
        let open = Int64(transport.opened &- transport.closed), wasOpen = Int64(lastTransport.opened &- lastTransport.closed)
        adjust(connections, by: open - wasOpen)
        adjust(subscriptions, by: Int64(stats.subscriptions - last.subscriptions))
        adjust(channels, by: Int64(localChannels - lastChannels))
        bytesIn.increment(by: transport.bytesIn &- lastTransport.bytesIn)
        bytesOut.increment(by: transport.bytesOut &- lastTransport.bytesOut)
        slowConsumerCloses.increment(by: transport.slowConsumerCloses &- lastTransport.slowConsumerCloses)
        handshakeCounter(101).increment(by: transport.opened &- lastTransport.opened)
        for (status, count) in transport.refused where count != lastTransport.refused[status] {
            handshakeCounter(status).increment(by: count &- (lastTransport.refused[status] ?? 0))
        }
        let resumed = transport.tlsResumed &- lastTransport.tlsResumed
        tlsResumed.increment(by: resumed)
        tlsHandshakes.increment(by: (transport.tlsHandshakes &- lastTransport.tlsHandshakes) &- resumed)
        for (reason, count) in transport.tlsErrors where count != lastTransport.tlsErrors[reason] {
            tlsErrorCounter(reason).increment(by: count &- (lastTransport.tlsErrors[reason] ?? 0))
        }
        publications.increment(by: stats.publications &- last.publications)
        deliveries.increment(by: stats.deliveries &- last.deliveries)
        droppedPushes.increment(by: stats.droppedPushes &- last.droppedPushes)
        for (slot, count) in stats.replies.enumerated() where count != last.replies[slot] {
            replyCounter(slot).increment(by: count &- last.replies[slot])
        }
        for (reason, count) in stats.authFailures where count != last.authFailures[reason] {
            authFailureCounter(reason).increment(by: count &- (last.authFailures[reason] ?? 0))
        }
        for (slot, count) in stats.rateLimited.enumerated() where count != last.rateLimited[slot] {
            rateLimitCounter(slot).increment(by: count &- last.rateLimited[slot])
        }
        foldFanOut(&fanOuts)
        lastTransport = transport
        last = stats
        lastChannels = localChannels
    }

    /// Records the fan-out samples taken since the last fold.
    private func foldFanOut(_ samples: inout FanOutSamples) {
        for index in 0..<samples.count { fanOut.recordNanoseconds(samples.values[index]) }
        samples.removeAll()
    }

    private func adjust(_ meter: Meter, by change: Int64) {
        if change > 0 { meter.increment(by: Double(change)) } else if change < 0 { meter.decrement(by: Double(-change)) }
    }

    private func replyCounter(_ slot: Int) -> Counter {
        if let counter = replyCounters[slot] { return counter }
        let labels = GatewayStats.labels(ofReplySlot: slot)
        let counter = Counter(label: "relay_commands_total", dimensions: [("command", labels.command), ("result", labels.result)], factory: factory)
        replyCounters[slot] = counter
        return counter
    }

    private func handshakeCounter(_ status: Int) -> Counter {
        if let counter = handshakeCounters[status] { return counter }
        let counter = Counter(label: "relay_handshakes_total", dimensions: [("status", "\(status)")], factory: factory)
        handshakeCounters[status] = counter
        return counter
    }

    private func authFailureCounter(_ reason: String) -> Counter {
        if let counter = authFailureCounters[reason] { return counter }
        let counter = Counter(label: "relay_auth_failures_total", dimensions: [("reason", reason)], factory: factory)
        authFailureCounters[reason] = counter
        return counter
    }

    private func tlsErrorCounter(_ reason: String) -> Counter {
        if let counter = tlsErrorCounters[reason] { return counter }
        let counter = Counter(label: "relay_tls_errors_total", dimensions: [("reason", reason)], factory: factory)
        tlsErrorCounters[reason] = counter
        return counter
    }

    private func rateLimitCounter(_ slot: Int) -> Counter {
        if let counter = rateLimitCounters[slot] { return counter }
        let bucket = GatewayStats.Bucket.allCases[slot]
        let counter = Counter(label: "relay_rate_limited_total", dimensions: [("bucket", "\(bucket)")], factory: factory)
        rateLimitCounters[slot] = counter
        return counter
    }
}
