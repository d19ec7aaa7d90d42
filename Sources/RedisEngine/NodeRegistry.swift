import Reactor
import Redis

/// Which nodes are alive, so that a node killed with -9 has its presence and connections cleared
/// (and their leave and offline pushes sent) by another: each node's loop 0 renews its entry in
/// `relay:nodes` with every refresh and removes the nodes whose entries ran out, having purged
/// the channels and users they had recorded.
struct NodeRegistry {
    unowned let broker: RedisBroker

    /// How long past its last beat a node counts as dead: the presence TTL, plus the time its
    /// other loops may have refreshed after loop 0's last beat, plus a margin for clock skew
    /// (the node's own clock here, Redis's in the functions: keep them in sync with NTP).
    private var lifetime: Double {
        let ttl = broker.engine.settings.presenceTTL
        return ttl + ttl / 3 + 2
    }

    func beat() {
        let node = broker.engine.node
        let now = Clock.wallMilliseconds()
        broker.sendCommand(["ZADD", RedisKeys.nodes, String(now + Int64(lifetime * 1000)), node])
        let keep = String(Int64(lifetime * 2000))
        broker.sendCommand(["PEXPIRE", RedisKeys.nodeChannels(node), keep])
        broker.sendCommand(["PEXPIRE", RedisKeys.nodeUsers(node), keep])
        broker.sendCommand(["ZRANGEBYSCORE", RedisKeys.nodes, "-inf", String(now), "LIMIT", "0", "10"]) { result in
            guard case .success(let value) = result else { return }
            for dead in (value.array ?? []).compactMap(\.string) where dead != node { reap(dead) }
        }
    }

    /// Claims a dead node (only one survivor wins the ZREM) and purges what it left.
    private func reap(_ dead: String) {
        broker.sendCommand(["ZREM", RedisKeys.nodes, dead]) { result in
            guard case .success(.integer(1)) = result else { return }
            broker.loop.logger.notice("a Relay node stopped refreshing; clearing its presence", metadata: ["node": "\(dead)"])
            broker.sendCommand(["SMEMBERS", RedisKeys.nodeChannels(dead)]) { result in
                for entry in (try? result.get())?.array?.compactMap(\.string) ?? [] {
                    let channel = String(entry.dropFirst())
                    let announce = entry.hasPrefix("J") ? RedisKeys.publications(channel) : ""
                    broker.purge("relay_presence_purge", keys: RedisKeys.presence(channel), [broker.publishCommand, announce], channel: channel)
                }
                broker.sendCommand(["DEL", RedisKeys.nodeChannels(dead)])
            }
            broker.sendCommand(["SMEMBERS", RedisKeys.nodeUsers(dead)]) { result in
                for user in (try? result.get())?.array?.compactMap(\.string) ?? [] {
                    broker.purge("relay_connections_purge", keys: [RedisKeys.connections(user)], [broker.publishCommand, RedisKeys.status(user), user], channel: nil)
                }
                broker.sendCommand(["DEL", RedisKeys.nodeUsers(dead)])
            }
        }
    }
}
