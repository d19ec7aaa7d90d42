import Broker
import JSON
import Reactor
import RelayServer
import WebSocket

/// The server API for the main API (docs/PROTOCOL.md, "Server API"): JSON over plain HTTP on the
/// admin listener, authenticated by an API key. It runs on loop 0; what concerns connections on
/// other loops (disconnect a user, unsubscribe a user) is sent to every loop's task queue.
final class AdminAPI {
    let gateway: Gateway
    unowned let home: GatewayLoop

    init(gateway: Gateway, home: GatewayLoop) {
        self.gateway = gateway
        self.home = home
    }

    func handle(_ head: HTTPRequestHead, _ body: [UInt8], _ respond: HTTPConnection.Respond) {
        if let dev = gateway.dev, dev.handle(head, respond) { return }
        let path = String(head.path)
        switch (head.method, path) {
        case ("GET", "/health"):
            return respond(.ok, Array(#"{"status":"ok"}"#.utf8))
        case ("GET", "/ready"):
            // A draining replica must leave the load balancer's rotation at once.
            if home.draining { return respond(.serviceUnavailable, Array(#"{"status":"draining"}"#.utf8)) }
            // Without its engine a replica cannot publish or subscribe: out of rotation too.
            if !home.broker.isHealthy { return respond(.serviceUnavailable, Array(#"{"status":"engine_unavailable"}"#.utf8)) }
            return respond(.ok, Array(#"{"status":"ready"}"#.utf8))
        case ("GET", "/metrics"):
            guard let render = gateway.renderMetrics else { return respond(.notFound, HTTPConnection.error(.notFound, "no metrics")) }
            return respond.text(.ok, render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        case (_, "/health"), (_, "/ready"), (_, "/metrics"):
            return respond(.methodNotAllowed, HTTPConnection.error(.methodNotAllowed, "use GET"))
        default:
            break
        }
        guard path.hasPrefix("/api/") else { return respond(.notFound, HTTPConnection.error(.notFound, "no such endpoint")) }
        guard authorized(head) else {
            return respond(.unauthorized, HTTPConnection.error(.unauthorized, "a valid API key is required (Authorization: Bearer KEY)"))
        }
        guard head.method == "POST" else { return respond(.methodNotAllowed, HTTPConnection.error(.methodNotAllowed, "use POST")) }
        let request: JSONValue
        do {
            request = try JSONParser.parse(body)
        } catch {
            return respond(.badRequest, HTTPConnection.error(.badRequest, "the body is not JSON: \(error)"))
        }
        guard request.object != nil else { return respond(.badRequest, HTTPConnection.error(.badRequest, "the body is a JSON object")) }
        switch path {
        case "/api/publish": publish(request, body, respond)
        case "/api/disconnect": disconnect(request, respond)
        case "/api/unsubscribe": unsubscribe(request, respond)
        case "/api/presence": presence(request, respond)
        case "/api/online": online(request, respond)
        case "/api/inbox/read": readInbox(request, respond)
        case "/api/inbox/ack": acknowledgeInbox(request, respond)
        default: respond(.notFound, HTTPConnection.error(.notFound, "no such endpoint"))
        }
    }

    /// Constant-time comparison, so the time taken says nothing about how much of a guess was right.
    private func authorized(_ head: HTTPRequestHead) -> Bool {
        guard let header = head.value("Authorization"), header.hasPrefix("Bearer ") else { return false }
        let given = Array(header.dropFirst(7).utf8), expected = gateway.apiKey
        guard !expected.isEmpty, given.count == expected.count else { return false }
        return zip(given, expected).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }

    private func field(_ request: JSONValue, _ key: String, _ respond: HTTPConnection.Respond) -> String? {
        guard let value = request[key]?.string, !value.isEmpty else {
            respond(.badRequest, HTTPConnection.error(.badRequest, "\(key) must be a non-empty string"))
            return nil
        }
        return value
    }

    /// A list of strings whose length is in `count`, or nil after answering 400.
    private func strings(_ request: JSONValue, _ key: String, count: ClosedRange<Int>, _ respond: HTTPConnection.Respond) -> [String]? {
        let list = request[key]?.array ?? []
        let values = list.compactMap(\.string)
        guard request[key]?.array != nil, count.contains(list.count), values.count == list.count else {
            respond(.badRequest, HTTPConnection.error(.badRequest, "\(key) must be a list of \(count.lowerBound) to \(count.upperBound) strings"))
            return nil
        }
        return values
    }

    /// What the broker answered, or nil after answering 503.
    private static func value<T>(_ result: Result<T, BrokerError>, _ respond: HTTPConnection.Respond, retry: String = "retry") -> T? {
        switch result {
        case .success(let value):
            return value
        case .failure:
            respond(.serviceUnavailable, HTTPConnection.error(.serviceUnavailable, "the broker is unavailable; \(retry)"))
            return nil
        }
    }

    private func namespace(_ channel: String, _ respond: HTTPConnection.Respond) -> NamespacePolicy? {
        guard let name = ChannelName(channel) else {
            respond(.badRequest, HTTPConnection.error(.badRequest, "a channel is namespace:name"))
            return nil
        }
        guard let policy = home.config.namespaces[String(name.namespace)] else {
            respond(.notFound, HTTPConnection.error(.notFound, "no namespace \(name.namespace)", code: "unknown_namespace"))
            return nil
        }
        return policy
    }

    /// `{"channel", "data", "key"?}` → `{"offset", "epoch"}`: a publication from the server, kept
    /// in history and pushed to every subscriber on every loop.
    private func publish(_ request: JSONValue, _ body: [UInt8], _ respond: HTTPConnection.Respond) {
        guard let channel = field(request, "channel", respond), let policy = namespace(channel, respond) else { return }
        guard let data = request["data"] else { return respond(.badRequest, HTTPConnection.error(.badRequest, "missing data")) }
        let key = request["key"]?.string
        if let value = request["key"], !value.isNull, key == nil || key!.utf8.count > PublishRequest.maxKeyBytes {
            return respond(.badRequest, HTTPConnection.error(.badRequest, "key must be a string of at most \(PublishRequest.maxKeyBytes) bytes"))
        }
        let publish = PublishRequest(channel: channel, data: Array(body[data.range]), user: nil, key: key,
                                     options: policy.channelOptions(idempotencyWindow: home.config.idempotencyWindow))
        home.broker.publish(publish) { result in
            guard let published = Self.value(result, respond, retry: "retry with the same key") else { return }
            if !published.duplicate { self.home.stats.publications &+= 1 }
            respond(.ok, Reply.object { writer in
                writer.key("offset"); writer.int(Int64(published.offset))
                writer.key("epoch"); writer.string(published.epoch)
            })
        }
    }

    /// `{"user", "reason"?, "reconnect_after_ms"?}`: every connection of the user gets a
    /// `disconnect` push and close 4006; with `reconnect_after_ms`, a `reconnect` push and close
    /// 1012 instead (the client comes back after that long, plus jitter).
    private func disconnect(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        guard let user = field(request, "user", respond) else { return }
        let reason = request["reason"]?.string ?? "disconnected_by_server"
        var reconnectAfter: Int?
        if let value = request["reconnect_after_ms"] {
            guard let milliseconds = value.int64.map(Int.init), (0...3_600_000).contains(milliseconds) else {
                return respond(.badRequest, HTTPConnection.error(.badRequest, "reconnect_after_ms must be an integer from 0 to 3600000"))
            }
            reconnectAfter = milliseconds
        }
        control(.disconnect(user: user, reason: reason, reconnectAfter: reconnectAfter), respond)
    }

    /// `{"user", "channel"}`: the user's connections leave the channel and get `unsubscribed`.
    private func unsubscribe(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        guard let user = field(request, "user", respond), let channel = field(request, "channel", respond),
              namespace(channel, respond) != nil else { return }
        control(.unsubscribe(user: user, channel: channel), respond)
    }

    /// Every loop of every node (through the engine) acts on it for its own connections.
    private func control(_ command: ControlCommand, _ respond: HTTPConnection.Respond) {
        home.broker.sendControl(command) { result in
            guard Self.value(result, respond) != nil else { return }
            respond(.ok, Array("{}".utf8))
        }
    }

    /// `{"channel"}` → `{"users": [{"user", "connections", "info"?}]}`.
    private func presence(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        guard let channel = field(request, "channel", respond), let policy = namespace(channel, respond) else { return }
        home.broker.presence(channel: channel, options: policy.channelOptions(idempotencyWindow: home.config.idempotencyWindow)) { result in
            guard let entries = Self.value(result, respond) else { return }
            respond(.ok, Reply.object { writer in
                writer.key("users")
                Reply.write(entries, to: &writer)
            })
        }
    }

    /// `{"users": [...]}` → `{"users": {"alice": true, ...}}`.
    private func online(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        guard let users = strings(request, "users", count: 1...10_000, respond) else { return }
        home.broker.online(users: users, watch: false) { result in
            guard let status = Self.value(result, respond) else { return }
            respond(.ok, Reply.object { writer in
                writer.key("users")
                writer.beginObject()
                for user in users { writer.key(user); writer.bool(status[user] ?? false) }
                writer.endObject()
            })
        }
    }

    /// `{"limit"?, "lease"?}` → `{"entries": [{"id", "channel", "offset", "epoch", "user", "data",
    /// "time"}]}`: the oldest client publications not yet acknowledged nor held by another reader,
    /// leased to this one for `lease` seconds (default 30).
    private func readInbox(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        let limit = request["limit"].map { $0.int64.map(Int.init) ?? -1 } ?? 100
        guard (1...1000).contains(limit) else {
            return respond(.badRequest, HTTPConnection.error(.badRequest, "limit must be an integer from 1 to 1000"))
        }
        let lease = request["lease"].map { $0.double ?? -1 } ?? 30
        guard lease >= 1, lease <= 3600 else {
            return respond(.badRequest, HTTPConnection.error(.badRequest, "lease must be a number of seconds from 1 to 3600"))
        }
        home.broker.readInbox(limit: limit, lease: lease) { result in
            guard let entries = Self.value(result, respond) else { return }
            respond(.ok, Reply.object { writer in
                writer.key("entries")
                writer.beginArray()
                for entry in entries {
                    let message = entry.message
                    writer.beginObject()
                    writer.key("id"); writer.string(entry.id)
                    writer.key("channel"); writer.string(message.channel)
                    writer.key("offset"); writer.int(Int64(message.offset))
                    writer.key("epoch"); writer.string(message.epoch)
                    writer.key("user"); writer.string(message.user)
                    writer.key("data"); message.data.withUnsafeBytes { writer.raw($0) }
                    writer.key("time"); writer.int(message.time)
                    writer.endObject()
                }
                writer.endArray()
            })
        }
    }

    /// `{"ids": [...]}` → `{"acknowledged": N}`: removes the entries (ids already gone count 0).
    private func acknowledgeInbox(_ request: JSONValue, _ respond: HTTPConnection.Respond) {
        guard let ids = strings(request, "ids", count: 0...10_000, respond) else { return }
        home.broker.acknowledgeInbox(ids: ids) { result in
            guard let count = Self.value(result, respond) else { return }
            respond(.ok, Reply.object { writer in writer.key("acknowledged"); writer.int(Int64(count)) })
        }
    }
}
