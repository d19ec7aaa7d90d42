/// Where Redis is and how to log in, from a URL:
/// `redis://[user[:password]@]host[:port][/db]` or `unix:///path/to/redis.sock[?db=N&user=U&password=P]`.
public struct RedisEndpoint: Sendable, Equatable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }

    public var address: Address
    /// An ACL user (Redis 6+); with only a password, `AUTH password`.
    public var user: String?
    public var password: String?
    public var database: Int

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(address: Address, user: String? = nil, password: String? = nil, database: Int = 0) {
        self.address = address
        self.user = user
        self.password = password
        self.database = database
    }

    public init(url: String) throws {
        if url.hasPrefix("redis://") {
            var rest = Substring(url.dropFirst("redis://".count))
            var user: String?, password: String?
            if let at = rest.lastIndex(of: "@") {
                let credentials = rest[..<at]
                rest = rest[rest.index(after: at)...]
                if let colon = credentials.firstIndex(of: ":") {
                    user = Self.decode(credentials[..<colon])
                    password = Self.decode(credentials[credentials.index(after: colon)...])
                } else {
                    // `redis://secret@host`: a password alone is the common legacy form.
                    password = Self.decode(credentials)
                }
                if user?.isEmpty == true { user = nil }
            }
            var database = 0
            if let slash = rest.firstIndex(of: "/") {
                let path = rest[rest.index(after: slash)...]
                rest = rest[..<slash]
                if !path.isEmpty {
                    guard let number = Int(path), number >= 0 else { throw Invalid(description: "the database must be a number (redis://host:port/DB)") }
                    database = number
                }
            }
            var host = String(rest), port = 6379
            if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
                host = String(rest[rest.index(after: rest.startIndex)..<close])
                let after = rest[rest.index(after: close)...]
                if after.hasPrefix(":") {
                    guard let number = Int(after.dropFirst()), (1...65535).contains(number) else { throw Invalid(description: "bad port") }
                    port = number
                }
            } else if let colon = rest.lastIndex(of: ":") {
                host = String(rest[..<colon])
                guard let number = Int(rest[rest.index(after: colon)...]), (1...65535).contains(number) else {
                    throw Invalid(description: "the port must be a number from 1 to 65535")
                }
                port = number
            }
            guard !host.isEmpty else { throw Invalid(description: "no host in the Redis URL") }
            self.init(address: .tcp(host: host, port: port), user: user, password: password, database: database)
        } else if url.hasPrefix("unix://") {
            let rest = url.dropFirst("unix://".count)
            let parts = rest.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
            let path = String(parts[0])
            guard path.hasPrefix("/") else { throw Invalid(description: "a unix socket path is absolute (unix:///run/redis.sock)") }
            var endpoint = RedisEndpoint(address: .unix(path: path))
            if parts.count == 2 {
                for pair in parts[1].split(separator: "&") {
                    let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                    let value = kv.count == 2 ? Self.decode(kv[1]) : ""
                    switch kv[0] {
                    case "db":
                        guard let number = Int(value), number >= 0 else { throw Invalid(description: "db must be a number") }
                        endpoint.database = number
                    case "user": endpoint.user = value
                    case "password": endpoint.password = value
                    default: throw Invalid(description: "unknown parameter \(kv[0]) (db, user, password)")
                    }
                }
            }
            self = endpoint
        } else {
            throw Invalid(description: "a Redis URL starts with redis:// or unix://")
        }
    }

    /// For logs: never the password.
    public var redacted: String {
        switch address {
        case .tcp(let host, let port): return "redis://\(user.map { "\($0)@" } ?? "")\(host):\(port)/\(database)"
        case .unix(let path): return "unix://\(path)?db=\(database)"
        }
    }

    private static func decode(_ text: Substring) -> String {
        String(text).removingPercentEncodingOrSelf
    }
}

private extension String {
    /// Percent-decoding without Foundation: `%40` is `@` in a password.
    var removingPercentEncodingOrSelf: String {
        guard contains("%") else { return self }
        let source = Array(utf8)
        var bytes: [UInt8] = []
        var index = 0
        while index < source.count {
            // A `%` not followed by two hex digits is kept as it is.
            if source[index] == UInt8(ascii: "%"), index + 2 < source.count,
               let value = UInt8(String(decoding: source[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(source[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
