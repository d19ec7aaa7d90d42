import Buffers

/// A token in JWS compact serialization (RFC 7515 §7.1): three base64url segments joined by dots,
/// decoded strictly (no padding, no stray characters, canonical trailing bits), so one token has
/// exactly one spelling.
struct CompactToken {
    let header: [UInt8]
    let payload: [UInt8]
    let signature: [UInt8]
    /// The ASCII bytes `header.payload` that the signature covers.
    let signingInput: ArraySlice<UInt8>

    init?(_ token: String) {
        let bytes = Array(token.utf8)
        let dots = bytes.indices.filter { bytes[$0] == UInt8(ascii: ".") }
        // Exactly two dots: a JWE (five segments) or anything else is not for us.
        guard dots.count == 2 else { return nil }
        let segments = [bytes[..<dots[0]], bytes[(dots[0] + 1)..<dots[1]], bytes[(dots[1] + 1)...]]
        guard !segments[0].isEmpty, !segments[1].isEmpty,
              let header = Base64.decode(String(decoding: segments[0], as: UTF8.self), alphabet: .url),
              let payload = Base64.decode(String(decoding: segments[1], as: UTF8.self), alphabet: .url),
              let signature = Base64.decode(String(decoding: segments[2], as: UTF8.self), alphabet: .url)
        else { return nil }
        self.header = header
        self.payload = payload
        self.signature = signature
        self.signingInput = bytes[..<dots[1]]
    }
}
