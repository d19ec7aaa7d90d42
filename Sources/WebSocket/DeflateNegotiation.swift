/// The server's side of permessage-deflate negotiation (RFC 7692 §5, §7.1): reads the client's
/// offers and accepts the first one Relay can honour within its settings.
///
/// Declining is always safe — the connection just runs uncompressed — so an offer that is in any
/// way malformed (an unknown or repeated parameter, a value where none is allowed, a window size
/// outside 8...15 or written with a leading zero) is declined rather than guessed at, and the
/// client's next offer, typically a simpler fallback, is tried.
public enum DeflateNegotiation {
    public static let extensionName = "permessage-deflate"

    /// The agreement for the first acceptable permessage-deflate offer, or nil when there is none.
    /// `offers` are the `Sec-WebSocket-Extensions` elements in the client's order of preference
    /// (`UpgradeRequest.extensionOffers`); other extensions are ignored.
    public static func agree(offers: [String], settings: DeflateSettings) -> DeflateAgreement? {
        for offer in offers {
            if let parsed = Offer(parsing: offer) { return agreement(parsed, settings) }
        }
        return nil
    }

    static func agreement(_ offer: Offer, _ settings: DeflateSettings) -> DeflateAgreement {
        // Without server_max_window_bits the client's inflater has a 32 KiB window, so any smaller
        // window Relay compresses with is fine and needs no mention.
        let serverBits = min(offer.serverMaxWindowBits ?? 15, settings.serverMaxWindowBits)
        // A client that did not offer client_max_window_bits cannot be limited (§7.1.2.2).
        let clientBits = offer.offersClientMaxWindowBits
            ? min(offer.clientMaxWindowBits ?? 15, settings.clientMaxWindowBits) : 15
        var header = extensionName
        if offer.serverNoContextTakeover { header += "; server_no_context_takeover" }
        if offer.clientNoContextTakeover { header += "; client_no_context_takeover" }
        if offer.serverMaxWindowBits != nil { header += "; server_max_window_bits=\(serverBits)" }
        if offer.offersClientMaxWindowBits { header += "; client_max_window_bits=\(clientBits)" }
        return DeflateAgreement(
            serverNoContextTakeover: offer.serverNoContextTakeover || !settings.serverContextTakeover,
            clientNoContextTakeover: offer.clientNoContextTakeover,
            serverWindowBits: max(serverBits, 9),
            compressionStrategy: serverBits == 8 ? .runLengthOnly : .standard,
            clientWindowBits: max(clientBits, 9),
            responseHeader: header
        )
    }

    /// One permessage-deflate offer, its parameters checked against §7.1.
    struct Offer: Equatable {
        var serverNoContextTakeover = false
        var clientNoContextTakeover = false
        var serverMaxWindowBits: Int?
        var offersClientMaxWindowBits = false
        /// nil when client_max_window_bits came without a value.
        var clientMaxWindowBits: Int?

        /// nil when `text` offers another extension or an offer this reader declines.
        init?(parsing text: String) {
            var scanner = ParameterScanner(Array(text.utf8))
            guard let name = scanner.token(), name == DeflateNegotiation.extensionName else { return nil }
            var seen: Set<String> = []
            while !scanner.atEnd {
                guard scanner.skip(UInt8(ascii: ";")), let parameter = scanner.token() else { return nil }
                var value: String?
                if scanner.skip(UInt8(ascii: "=")) {
                    guard let parsed = scanner.value() else { return nil }
                    value = parsed
                }
                guard seen.insert(parameter).inserted else { return nil }
                switch parameter {
                case "server_no_context_takeover":
                    guard value == nil else { return nil }
                    serverNoContextTakeover = true
                case "client_no_context_takeover":
                    guard value == nil else { return nil }
                    clientNoContextTakeover = true
                case "server_max_window_bits":
                    guard let bits = value.flatMap(Self.windowBits) else { return nil }
                    serverMaxWindowBits = bits
                case "client_max_window_bits":
                    offersClientMaxWindowBits = true
                    if let value {
                        guard let bits = Self.windowBits(value) else { return nil }
                        clientMaxWindowBits = bits
                    }
                default:
                    return nil
                }
            }
        }

        /// §7.1.2: 1*DIGIT without a leading zero, 8...15.
        static func windowBits(_ text: String) -> Int? {
            let digits = Array(text.utf8)
            guard (1...2).contains(digits.count), digits[0] != UInt8(ascii: "0"),
                  digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
                  let bits = Int(text), (8...15).contains(bits) else { return nil }
            return bits
        }
    }
}
