import COpenSSL
import Glibc

/// One connection's TLS state: OpenSSL reading and writing the non-blocking socket itself (a
/// socket BIO), so received records are decrypted straight into the loop's read buffer and
/// written records leave without an intermediate buffer of ours. The reactor drives it: it calls
/// `handshake` until `.complete`, then `read` and `write`, and waits on epoll for whichever
/// direction OpenSSL says it needs.
public final class TLSSession {
    public enum Progress: Equatable {
        case complete
        /// Wait for the socket to be readable (or writable) and call again.
        case wantRead, wantWrite
        /// The peer closed (close_notify or end of stream).
        case closed
        /// A TLS error: the reason is OpenSSL's, as a metric label.
        case failed(String)
    }

    let ssl: OpaquePointer
    /// Kept alive for the context's callbacks (SNI on a server, new sessions on a client), which
    /// reach it through a raw pointer.
    private let context: AnyObject
    public private(set) var isEstablished = false
    /// A read that stopped on an error after it had already returned bytes: reported next time.
    private var deferred: Progress?

    init?(context: TLSContext, fd: Int32) {
        guard let ssl = SSL_new(context.contexts[0]) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else { SSL_free(ssl); return nil }
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        self.context = context
    }

    /// The client side (relay-swarm): the SSL starts the handshake on the connected `fd`.
    /// `host` is sent as SNI when it is a name (RFC 6066 has no SNI for addresses) and, when the
    /// context checks certificates, is what the certificate must name (SSL_set1_host matches an
    /// address against the IP entries of subjectAltName).
    init?(client context: TLSClientContext, fd: Int32, host: String) {
        guard let ssl = SSL_new(context.context) else { return nil }
        guard SSL_set_fd(ssl, fd) == 1 else { SSL_free(ssl); return nil }
        SSL_set_connect_state(ssl)
        if !Self.isAddress(host) {
            guard relay_ssl_set_tlsext_host_name(ssl, host) == 1 else { SSL_free(ssl); return nil }
        }
        if context.verification != .insecure {
            guard SSL_set1_host(ssl, host) == 1 else { SSL_free(ssl); return nil }
        }
        context.offerSession(to: ssl)
        self.ssl = ssl
        self.context = context
    }

    deinit { SSL_free(ssl) }

    private static func isAddress(_ host: String) -> Bool {
        var address = in6_addr()
        return inet_pton(AF_INET, host, &address) == 1 || inet_pton(AF_INET6, host, &address) == 1
    }

    public func handshake() -> Progress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            isEstablished = true
            return .complete
        }
        return progress(after: result)
    }

    /// Decrypts into `buffer` until it is full or the socket has nothing more; `.complete` with
    /// `count` bytes when some arrived. When OpenSSL still holds part of a record (an earlier read
    /// filled its buffer), only those bytes are taken, without reading the socket: draining what
    /// epoll cannot report (`hasInputWithoutEvent`) then costs at most one record, so one busy
    /// peer cannot keep the loop from its other connections.
    public func read(into buffer: UnsafeMutableRawPointer, capacity: Int, count: inout Int) -> Progress {
        count = 0
        if let deferred {
            self.deferred = nil
            return deferred
        }
        let pending = Int(SSL_pending(ssl))
        let limit = pending > 0 ? min(capacity, pending) : capacity
        while count < limit {
            ERR_clear_error()
            var got = 0
            if SSL_read_ex(ssl, buffer + count, limit - count, &got) == 1 {
                count += got
                continue
            }
            let outcome = progress(after: 0)
            if count == 0 { return outcome }
            if outcome != .wantRead { deferred = outcome }
            break
        }
        return .complete
    }

    /// Input that no epoll event will announce, so read again now: an outcome deferred past
    /// returned bytes (the error consumed the socket's input), or the rest of a record that did
    /// not fit in the last read's buffer (it is in OpenSSL, no longer in the socket).
    public var hasInputWithoutEvent: Bool { deferred != nil || SSL_pending(ssl) > 0 }

    /// Encrypts and sends up to `bytes.count` bytes; returns how many were taken (0 with a reason
    /// to wait), or fails.
    public func write(_ bytes: UnsafeRawBufferPointer, written: inout Int) -> Progress {
        ERR_clear_error()
        written = 0
        if SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written) == 1 { return .complete }
        return progress(after: 0)
    }

    /// Sends close_notify if the socket takes it now; the TCP close that follows ends the
    /// connection either way, so there is no waiting for the peer's.
    public func shutdown() {
        guard isEstablished else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    public var resumed: Bool { SSL_session_reused(ssl) == 1 }
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }
    public var cipher: String { SSL_CIPHER_get_name(SSL_get_current_cipher(ssl)).map { String(cString: $0) } ?? "none" }

    private func progress(after result: Int32) -> Progress {
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL:
            let error = errno
            ERR_clear_error()
            // OpenSSL 3 reports a TCP close without close_notify as an SSL error ("unexpected eof
            // while reading"); an errno here is a socket error such as a reset.
            return error == 0 ? .closed : .failed(error == ECONNRESET ? "connection_reset" : "socket_error")
        case SSL_ERROR_SSL:
            let label = TLSError.drainReasonLabel()
            return label == "unexpected_eof_while_reading" ? .closed : .failed(label)
        default:
            ERR_clear_error()
            return .failed("unknown")
        }
    }
}
