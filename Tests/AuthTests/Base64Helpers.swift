import Foundation

/// Base64url (unpadded) for building test tokens by hand. Foundation's, not Buffers', because the
/// test target depends on Auth alone.
enum Base64Decoding {
    static func url(_ text: String) -> [UInt8]? {
        var standard = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        standard += String(repeating: "=", count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: standard).map { Array($0) }
    }

    static func urlEncode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func urlEncode(_ text: String) -> String { urlEncode(Array(text.utf8)) }
}
