import ArgumentParser
import Reactor
import Redis

/// Publications straight into the Redis the replicas share, as the main API makes them
/// (RedisTransport): fanout's `--publish-via redis`, chat's availability with `--redis-url`.
struct RedisPublishOptions: ParsableArguments {
    @Option(help: "Publish into this Redis, redis://HOST:PORT (a single Redis, not a cluster): fanout with --publish-via redis, chat's availability changes.")
    var redisUrl: String?
    @Option(help: "With --redis-url: the namespace's history_size (FCALL relay_publish), or 0 for fire-and-forget PUBLISH without an offset.")
    var historySize = 50
    @Option(help: "With --redis-url: the namespace's history_ttl in seconds.")
    var historyTtl = 600.0

    func validate() throws {
        guard historySize >= 0, historyTtl > 0 else { throw ValidationError("--history-size must not be negative, --history-ttl positive") }
    }

    /// The transport, at most `capacity` publications unanswered; nil without --redis-url.
    func transport(loop: EventLoop, capacity: Int) throws -> RedisTransport? {
        guard let redisUrl else { return nil }
        let endpoint: RedisEndpoint
        do {
            endpoint = try RedisEndpoint(url: redisUrl)
        } catch {
            throw ValidationError("--redis-url: \(error)")
        }
        return RedisTransport(loop: loop, endpoint: endpoint, historySize: historySize, historyTTL: historyTtl, capacity: capacity)
    }
}
