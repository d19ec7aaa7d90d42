import Glibc

/// Where connections go: `ws://HOST:PORT/PATH` or `wss://HOST[:PORT]/PATH` for WebSocket
/// targets, `http://HOST:PORT` for the server API. Hosts are loopback addresses (127.x.x.x or
/// `localhost`): the swarm loads servers on this machine only.
struct Endpoint: CustomStringConvertible {
    let scheme: String
    let host: String
    let port: UInt16
    let path: String
    let address: sockaddr_in

    /// The Host header: the port is always given, as a client connecting by number does.
    var authority: String { "\(host):\(port)" }

    /// wss://: TLS on the TCP connection before the upgrade.
    var isSecure: Bool { scheme == "wss" }

    var description: String { "\(scheme)://\(authority)\(path)" }

    /// Ports a URL may leave out: wss's 443 (RFC 6455 §3), where a TLS listener often is. The
    /// swarm's other targets listen on ports from the server's config, which a URL must give.
    private static let defaultPorts: [String: UInt16] = ["wss": 443]

    init(parsing text: String, scheme expected: String) throws(SwarmError) {
        try self.init(parsing: text, schemes: [expected])
    }

    init(parsing text: String, schemes: [String]) throws(SwarmError) {
        guard let expected = schemes.first(where: { text.hasPrefix($0 + "://") }) else {
            throw SwarmError("\(text): expected a \(schemes.map { $0 + "://" }.joined(separator: " or ")) URL")
        }
        let prefix = expected + "://"
        let rest = text.dropFirst(prefix.count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let hostPort = rest[..<slash]
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        if let colon = hostPort.lastIndex(of: ":") {
            guard let port = UInt16(hostPort[hostPort.index(after: colon)...]), port > 0 else {
                throw SwarmError("\(text): the port must be a number from 1 to 65535")
            }
            host = String(hostPort[..<colon])
            self.port = port
        } else if let port = Self.defaultPorts[expected] {
            host = String(hostPort)
            self.port = port
        } else {
            throw SwarmError("\(text): give the port explicitly (\(prefix)HOST:PORT)")
        }
        scheme = expected
        guard let ip = IPv4.parse(host == "localhost" ? "127.0.0.1" : host), ip >> 24 == 127 else {
            throw SwarmError("\(text): the host must be a loopback address (127.x.x.x) or localhost")
        }
        address = IPv4.socketAddress(ip, port: port)
    }
}

/// IPv4 addresses as host-order integers, so a range can be counted through.
enum IPv4 {
    static func parse(_ text: String) -> UInt32? {
        var address = in_addr()
        guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
        return UInt32(bigEndian: address.s_addr)
    }

    static func format(_ ip: UInt32) -> String {
        "\(ip >> 24).\(ip >> 16 & 0xFF).\(ip >> 8 & 0xFF).\(ip & 0xFF)"
    }

    static func socketAddress(_ ip: UInt32, port: UInt16) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr = in_addr(s_addr: ip.bigEndian)
        return address
    }
}

/// A setup or usage problem, reported as one line and a non-zero exit.
struct SwarmError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
