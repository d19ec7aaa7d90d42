/// The local addresses connections are bound to, `127.0.0.2-127.0.0.9` or one address. Each
/// source address has its own ~28k ephemeral ports towards one server port, so a range lifts
/// the limit on connections from one machine; connection n uses address n mod count.
struct SourceAddresses {
    let first: UInt32
    let count: Int

    init(parsing text: String) throws(SwarmError) {
        let bounds = text.split(separator: "-", maxSplits: 1).map { String($0) }
        guard let low = IPv4.parse(bounds[0]), let high = IPv4.parse(bounds.last!), low <= high else {
            throw SwarmError("--source-addresses \(text): expected an IPv4 address or a range A-B with A <= B")
        }
        guard low >> 24 == 127, high >> 24 == 127 else {
            throw SwarmError("--source-addresses \(text): only loopback addresses (127.x.x.x) are used")
        }
        first = low
        count = Int(high - low) + 1
    }

    func address(for connection: Int) -> UInt32 { first + UInt32(connection % count) }
}
