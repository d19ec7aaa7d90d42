import Buffers
import COpenSSL

/// SHA-1 through OpenSSL, used only for the Sec-WebSocket-Accept key (RFC 6455 §4.2.2).
enum SHA1 {
    static func digest(_ bytes: [UInt8]) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        let ok = bytes.withUnsafeBytes { input in
            digest.withUnsafeMutableBytes { output in
                EVP_Digest(input.baseAddress, input.count,
                           output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length, EVP_sha1(), nil)
            }
        }
        precondition(ok == 1 && length == 20, "OpenSSL SHA-1 failed")
        return digest
    }
}
