import JSON

// The line protocol between the coordinator and its workers: one JSON object per line, events
// on the worker's stdout, commands on its stdin. Times are CLOCK_MONOTONIC nanoseconds, which
// every process on the machine shares.

/// What a worker tells the coordinator.
enum WorkerEvent {
    /// Every connection of the share is set up (upgraded, and authenticated and subscribed
    /// where the scenario asks for it) between `started` and `finished`.
    case ready(established: Int, started: UInt64, finished: UInt64)
    /// Setup failed: the run cannot be measured.
    case failed(String)
    /// Once a second: running totals.
    case progress(WorkerProgress)
    /// Fan-out: every live subscriber of the share has every publication up to this sequence.
    case acknowledged(UInt64)
    case result(WorkerResult)
}

/// What the coordinator tells a worker.
enum WorkerCommand {
    /// The measured window: traffic sent in [from, until) is counted.
    case start(from: UInt64, until: UInt64)
    /// Traffic is over: report once what is in flight has arrived (fan-out: up to this sequence).
    case finish(lastSequence: UInt64)
}

struct WorkerProgress {
    var established = 0
    /// Messages received since the start, measured or not.
    var received = 0
    /// Messages sent since the start (chat's conversation messages).
    var sent = 0
    var errors = 0
    /// CPU time (user + system) the process used since it started.
    var cpuSeconds = 0.0
}

/// A worker's share of the outcome, over the measured window.
struct WorkerResult {
    var established = 0
    /// Messages of the measured window: fan-out deliveries, echo replies.
    var received = 0
    var duplicates = 0
    var errors = ErrorCounts()
    /// wss://: TLS handshakes completed (during setup, and storm's reconnections), and how many
    /// the server resumed.
    var tlsHandshakes = 0
    var tlsResumed = 0
    var latency = LatencyHistogram()
    var reconnects = ReconnectStats()
    /// Chat: the conversations' side of the outcome (the fields above count availability).
    var chat: ChatStats?
    var cpuSeconds = 0.0
    var wallSeconds = 0.0

    mutating func add(_ other: WorkerResult) {
        established += other.established
        received += other.received
        duplicates += other.duplicates
        errors.add(other.errors)
        tlsHandshakes += other.tlsHandshakes
        tlsResumed += other.tlsResumed
        latency.add(other.latency)
        reconnects.add(other.reconnects)
        if let theirs = other.chat {
            var mine = chat ?? ChatStats()
            mine.add(theirs)
            chat = mine
        }
    }
}

extension WorkerResult {
    /// What every workload reports of its connections: how many were set up, their errors by
    /// kind, TLS handshakes, reconnections.
    init(swarm: ConnectionSwarm) {
        self.init(established: swarm.established, errors: swarm.errors)
        tlsHandshakes = swarm.tlsHandshakes
        tlsResumed = swarm.tlsResumed
        reconnects = swarm.reconnects
    }

    /// ... and the deliveries a ledger counted (fanout, storm, chat's availability).
    init(swarm: ConnectionSwarm, ledger: DeliveryLedger) {
        self.init(swarm: swarm)
        received = ledger.measured
        duplicates = ledger.duplicates
        latency = ledger.latency
    }
}

extension WorkerEvent {
    var line: [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        switch self {
        case .ready(let established, let started, let finished):
            writer.key("event"); writer.string("ready")
            writer.key("established"); writer.int(established)
            writer.key("started"); writer.int(Int64(started))
            writer.key("finished"); writer.int(Int64(finished))
        case .failed(let message):
            writer.key("event"); writer.string("failed")
            writer.key("message"); writer.string(message)
        case .progress(let progress):
            writer.key("event"); writer.string("progress")
            writer.key("established"); writer.int(progress.established)
            writer.key("received"); writer.int(progress.received)
            writer.key("sent"); writer.int(progress.sent)
            writer.key("errors"); writer.int(progress.errors)
            writer.key("cpu_s"); writer.double(progress.cpuSeconds)
        case .acknowledged(let sequence):
            writer.key("event"); writer.string("acknowledged")
            writer.key("seq"); writer.int(Int64(sequence))
        case .result(let result):
            writer.key("event"); writer.string("result")
            writer.key("established"); writer.int(result.established)
            writer.key("received"); writer.int(result.received)
            writer.key("duplicates"); writer.int(result.duplicates)
            writer.key("tls_handshakes"); writer.int(result.tlsHandshakes)
            writer.key("tls_resumed"); writer.int(result.tlsResumed)
            writer.key("cpu_s"); writer.double(result.cpuSeconds)
            writer.key("wall_s"); writer.double(result.wallSeconds)
            writer.key("errors"); write(result.errors, into: &writer)
            writer.key("latency_ns"); write(result.latency, into: &writer)
            writer.key("reconnects"); writer.int(result.reconnects.completed)
            writer.key("not_recovered"); writer.int(result.reconnects.notRecovered)
            writer.key("reconnect_failures"); write(result.reconnects.failures, into: &writer)
            writer.key("reconnect_latency_ns"); write(result.reconnects.latency, into: &writer)
            if let chat = result.chat {
                writer.key("chat"); write(chat, into: &writer)
            }
        }
        writer.endObject()
        return writer.bytes + [0x0A]
    }

    init(line: [UInt8]) throws(SwarmError) {
        let object = try parseLine(line)
        switch object["event"]?.string {
        case "ready":
            self = .ready(established: object.int("established"), started: object.uint("started"), finished: object.uint("finished"))
        case "failed":
            self = .failed(object["message"]?.string ?? "unknown failure")
        case "progress":
            self = .progress(WorkerProgress(established: object.int("established"), received: object.int("received"),
                                            sent: object.int("sent"), errors: object.int("errors"),
                                            cpuSeconds: object["cpu_s"]?.double ?? 0))
        case "acknowledged":
            self = .acknowledged(object.uint("seq"))
        case "result":
            var result = WorkerResult(established: object.int("established"), received: object.int("received"),
                                      duplicates: object.int("duplicates"))
            result.tlsHandshakes = object.int("tls_handshakes")
            result.tlsResumed = object.int("tls_resumed")
            result.cpuSeconds = object["cpu_s"]?.double ?? 0
            result.wallSeconds = object["wall_s"]?.double ?? 0
            result.errors = object.errorCounts("errors")
            result.latency = object.histogram("latency_ns")
            result.reconnects.completed = object.int("reconnects")
            result.reconnects.notRecovered = object.int("not_recovered")
            result.reconnects.failures = object.errorCounts("reconnect_failures")
            result.reconnects.latency = object.histogram("reconnect_latency_ns")
            result.chat = object["chat"].map(ChatStats.init(line:))
            self = .result(result)
        default:
            throw SwarmError("unknown worker event: \(String(decoding: line, as: UTF8.self))")
        }
    }
}

extension WorkerCommand {
    var line: [UInt8] {
        var writer = JSONWriter()
        writer.beginObject()
        switch self {
        case .start(let from, let until):
            writer.key("command"); writer.string("start")
            writer.key("from"); writer.int(Int64(from))
            writer.key("until"); writer.int(Int64(until))
        case .finish(let lastSequence):
            writer.key("command"); writer.string("finish")
            writer.key("last_seq"); writer.int(Int64(lastSequence))
        }
        writer.endObject()
        return writer.bytes + [0x0A]
    }

    init(line: [UInt8]) throws(SwarmError) {
        let object = try parseLine(line)
        switch object["command"]?.string {
        case "start": self = .start(from: object.uint("from"), until: object.uint("until"))
        case "finish": self = .finish(lastSequence: object.uint("last_seq"))
        default: throw SwarmError("unknown command: \(String(decoding: line, as: UTF8.self))")
        }
    }
}

private func parseLine(_ line: [UInt8]) throws(SwarmError) -> JSONValue {
    // A result carries one member per histogram bucket: more than a command's default allows;
    // chat's reply histograms by command are nested three deep in it.
    let limits = JSONLimits(maxDepth: 6, maxMembers: 1 << 20)
    guard let value = try? JSONParser.parse(line, limits: limits), value.object != nil else {
        throw SwarmError("not a JSON object: \(String(decoding: line.prefix(200), as: UTF8.self))")
    }
    return value
}

/// Errors as an object of counts by kind.
private func write(_ errors: ErrorCounts, into writer: inout JSONWriter) {
    writer.beginObject()
    for (kind, count) in errors.sorted { writer.key(kind); writer.int(count) }
    writer.endObject()
}

private func write(_ chat: ChatStats, into writer: inout JSONWriter) {
    writer.beginObject()
    writer.key("messages"); writer.int(chat.messages.sent)
    writer.key("expected"); writer.int(chat.messages.expected)
    writer.key("deliveries"); writer.int(chat.messages.received)
    writer.key("duplicates"); writer.int(chat.messages.duplicates)
    writer.key("latency_ns"); write(chat.messages.latency, into: &writer)
    writer.key("resent"); writer.int(chat.resent)
    writer.key("typing_pushes"); writer.int(chat.typingPushes)
    writer.key("replies_ns")
    writer.beginObject()
    for (command, latency) in chat.replies.sorted(by: { $0.key < $1.key }) { writer.key(command); write(latency, into: &writer) }
    writer.endObject()
    writer.endObject()
}

private extension ChatStats {
    init(line object: JSONValue) {
        let messages = DeliveryCounts(sent: object.int("messages"), expected: object.int("expected"), received: object.int("deliveries"),
                                      duplicates: object.int("duplicates"), latency: object.histogram("latency_ns"))
        self.init(messages: messages, resent: object.int("resent"), typingPushes: object.int("typing_pushes"))
        for member in object["replies_ns"]?.object ?? [] { replies[member.key] = member.value.histogram }
    }
}

/// A histogram as its non-empty buckets, `[[value, count], ...]`.
private func write(_ histogram: LatencyHistogram, into writer: inout JSONWriter) {
    writer.beginArray()
    for bucket in histogram.buckets {
        writer.beginArray(); writer.int(Int64(bucket.value)); writer.int(Int64(bucket.count)); writer.endArray()
    }
    writer.endArray()
}

private extension JSONValue {
    func int(_ key: String) -> Int { Int(self[key]?.int64 ?? 0) }
    func uint(_ key: String) -> UInt64 { UInt64(max(0, self[key]?.int64 ?? 0)) }

    func errorCounts(_ key: String) -> ErrorCounts {
        var errors = ErrorCounts()
        for member in self[key]?.object ?? [] { errors.add(member.key, Int(member.value.int64 ?? 0)) }
        return errors
    }

    func histogram(_ key: String) -> LatencyHistogram { self[key]?.histogram ?? LatencyHistogram() }

    /// A histogram written as its buckets.
    var histogram: LatencyHistogram {
        var histogram = LatencyHistogram()
        for bucket in array ?? [] {
            guard let value = bucket[0]?.int64, let count = bucket[1]?.int64 else { continue }
            histogram.record(UInt64(value), count: UInt64(count))
        }
        return histogram
    }
}
