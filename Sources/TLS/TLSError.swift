import COpenSSL
import Glibc

/// A TLS setup failure (a certificate or key that cannot be used, a cipher list OpenSSL rejects),
/// described by what was being done and OpenSSL's reason. OpenSSL's reasons name what went wrong,
/// never key material, so the message is safe to log.
public struct TLSError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ what: String) {
        description = "\(what): \(TLSError.drainReasons())"
    }

    init(reading path: String) {
        description = "cannot read \(path): \(String(cString: strerror(errno)))"
    }

    /// The reasons on this thread's OpenSSL error queue, oldest first, and an empty queue after.
    static func drainReasons() -> String {
        var reasons: [String] = []
        while true {
            let code = ERR_get_error()
            if code == 0 { break }
            reasons.append(ERR_reason_error_string(code).map { String(cString: $0) } ?? "error \(code)")
        }
        return reasons.isEmpty ? "unknown error" : reasons.joined(separator: "; ")
    }

    /// The first reason on the queue as a metric label (`no_shared_cipher`, `http_request`, ...):
    /// OpenSSL's reasons are a fixed set, so the label's cardinality stays bounded.
    static func drainReasonLabel() -> String {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0, let text = ERR_reason_error_string(code) else { return "unknown" }
        return String(String(cString: text).lowercased().map { $0 == " " || $0 == "-" ? "_" : $0 })
    }
}
