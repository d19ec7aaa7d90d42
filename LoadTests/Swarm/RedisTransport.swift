import JSON
import Reactor
import Redis

/// Publications straight into Redis, as the main API makes them (docs/REDIS.md, "Publishing"):
/// `FCALL relay_publish` with the namespace's history settings, so each one gets an offset and is
/// kept, or with `historySize` 0 a fire-and-forget `PUBLISH` of a `pub` envelope. One pipelined
/// connection; a single Redis (not a cluster).
final class RedisTransport: PublicationTransport {
    private let connection: RedisConnection
    private let historySize: Int
    private let historyTTLMilliseconds: Int
    let capacity: Int

    init(loop: EventLoop, endpoint: RedisEndpoint, historySize: Int, historyTTL: Double, capacity: Int) {
        connection = RedisConnection(endpoint: endpoint, mode: .commands, loop: loop, name: "swarm-publisher")
        self.historySize = historySize
        historyTTLMilliseconds = Int(historyTTL * 1000)
        self.capacity = capacity
    }

    func open(ready: @escaping () -> Void, failed: @escaping (String) -> Void) {
        var pending: (() -> Void)? = ready
        connection.onStateChange = { up in
            guard up, let ready = pending else { return }
            pending = nil
            ready()
        }
        connection.start()
    }

    func publish(channel: String, sequence: UInt64, sentAt: UInt64, answered: @escaping (PublishOutcome) -> Void) {
        var data = JSONWriter()
        PublicationPayload.writeJSON(into: &data, sentAt: sentAt, sequence: sequence)
        let pubsub = Array("relay:pub:{\(channel)}".utf8)
        let command: [[UInt8]]
        if historySize == 0 {
            command = [Array("PUBLISH".utf8), pubsub, Array(#"{"v":1,"type":"pub","data":"#.utf8) + data.bytes + [UInt8(ascii: "}")]]
        } else {
            let key = { (suffix: String) in Array("relay:ch:{\(channel)}:\(suffix)".utf8) }
            let metaTTL = max(historyTTLMilliseconds, 86_400_000)
            command = [Array("FCALL".utf8), Array("relay_publish".utf8), Array("4".utf8), key("meta"), key("history"), key("idem:0::"),
                       Array("relay:inbox".utf8), pubsub, data.bytes, [], Array("\(historySize)".utf8),
                       Array("\(historyTTLMilliseconds)".utf8), Array("0".utf8), Array("0".utf8), Array("PUBLISH".utf8),
                       Array(channel.utf8), Array("\(metaTTL)".utf8)]
        }
        connection.send(command) { result in
            switch result {
            case .success(.error(let message)):
                answered(.refused(kind: "publish_redis_error", message: "Redis refused the publication: \(message)"))
            case .success:
                answered(.accepted)
            case .failure(let error):
                answered(.refused(kind: "publish_redis_\(error == .unavailable ? "unavailable" : "error")",
                                  message: "cannot publish through Redis: \(error)"))
            }
        }
    }
}
