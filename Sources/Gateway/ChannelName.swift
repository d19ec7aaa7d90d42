/// `namespace:name`. Both parts non-empty; the name may contain further colons.
struct ChannelName {
    let full: String
    let namespace: Substring
    let name: Substring

    static let maxLength = 255

    init?(_ text: String) {
        guard text.utf8.count <= Self.maxLength, let colon = text.firstIndex(of: ":") else { return nil }
        namespace = text[..<colon]
        name = text[text.index(after: colon)...]
        // No braces: the Redis engine puts the name in a hash tag, `{name}`.
        guard !namespace.isEmpty, !name.isEmpty,
              text.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && $0 != "{" && $0 != "}" }) else { return nil }
        full = text
    }

    /// Whether a `channels` claim entry grants this channel: the exact name, or a prefix
    /// pattern ending in `*` (e.g. `conversation:42-*`).
    func isGranted(by pattern: String) -> Bool {
        if pattern.hasSuffix("*") { return full.hasPrefix(pattern.dropLast()) && pattern.count > 1 }
        return pattern == full
    }
}
