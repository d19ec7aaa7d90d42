/// Which master serves each slot, from a `CLUSTER SLOTS` reply:
/// `[[start, end, [host, port, id, ...], replicas...], ...]`.
public struct ClusterSlots: Equatable, Sendable {
    /// The masters as `host:port`, in the order they first appear.
    public private(set) var masters: [String] = []
    /// Per slot, an index into `masters` (-1: no master serves it).
    public private(set) var owners: [Int16]

    public init() { owners = Array(repeating: -1, count: HashSlot.count) }

    /// Nil when the reply is not a slot table.
    public init?(reply: RESPValue, seedHost: String) {
        self.init()
        guard let ranges = reply.array else { return nil }
        for range in ranges {
            guard let parts = range.array, parts.count >= 3, let start = parts[0].int, let end = parts[1].int,
                  0 <= start, start <= end, end < HashSlot.count,
                  let master = parts[2].array, master.count >= 2, let host = master[0].string, let port = master[1].int else { return nil }
            // An empty host (or "?") means the node does not know its own address: it is the one asked.
            let address = "\(host.isEmpty || host == "?" ? seedHost : host):\(port)"
            let index = masters.firstIndex(of: address) ?? { masters.append(address); return masters.count - 1 }()
            for slot in Int(start)...Int(end) { owners[slot] = Int16(index) }
        }
    }

    public func master(of slot: Int) -> String? {
        let index = owners[slot]
        return index < 0 ? nil : masters[Int(index)]
    }

    /// Whether every slot is served.
    public var isComplete: Bool { !owners.contains(-1) }

    /// After a `MOVED`: the slot's master is `address`.
    public mutating func move(_ slot: Int, to address: String) {
        let index = masters.firstIndex(of: address) ?? { masters.append(address); return masters.count - 1 }()
        owners[slot] = Int16(index)
    }
}

/// A cluster node's `host:port`, as the slot table and redirects name it.
public enum ClusterAddress {
    /// The host and port (the part after the last colon; nil when there is none).
    public static func split(_ address: String) -> (host: String, port: Int?) {
        guard let colon = address.lastIndex(of: ":") else { return (address, nil) }
        return (String(address[..<colon]), Int(address[address.index(after: colon)...]))
    }
}

/// A `MOVED` or `ASK` error reply: `MOVED 3999 127.0.0.1:6381`.
public struct ClusterRedirect: Equatable, Sendable {
    public let ask: Bool
    public let slot: Int
    public let address: String

    /// `from`: the `host:port` of the node that answered; a redirect to `:port` (a node that
    /// does not know its own address) is on its host.
    public init?(_ message: String, from: String) {
        let parts = message.split(separator: " ")
        guard parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]), (0..<HashSlot.count).contains(slot) else { return nil }
        ask = parts[0] == "ASK"
        self.slot = slot
        if parts[2].hasPrefix(":") {
            address = ClusterAddress.split(from).host + parts[2]
        } else {
            address = String(parts[2])
        }
    }
}
