import COpenSSL
import Synchronization

/// The client's TLS configuration in OpenSSL terms, for relay-swarm's wss:// connections: one
/// SSL_CTX, TLS 1.2 or later, ALPN http/1.1, the certificate checked or not, and optionally the
/// last session kept so that new connections can resume it.
///
/// One context per server (URL): the kept session is that server's, and a ticket offered to
/// another replica, which has other ticket keys, would only be refused. A context may be shared
/// by loops; the kept session is behind a lock, taken once per handshake.
public final class TLSClientContext: @unchecked Sendable {
    public enum Verification: Sendable, Equatable {
        /// No certificate check: the handshake is the same work for both ends, which is what a
        /// load test of a loopback server with a self-signed test certificate needs, but nothing
        /// proves who the server is.
        case insecure
        /// The chain must lead to a certificate in this PEM file, and the leaf must name the host
        /// connected to (a DNS name, or an IP address in its subjectAltName).
        case caFile(String)
    }

    let context: OpaquePointer
    public let verification: Verification
    /// Whether new connections offer the last session (a TLS 1.3 ticket, or a TLS 1.2 session).
    public let resumesSessions: Bool

    /// The session new connections offer copies of, with the one reference this context holds
    /// on it: a newer session frees it, under the lock that copying it takes too.
    private let latest = Mutex(SessionSlot())
    private struct SessionSlot: @unchecked Sendable { var session: OpaquePointer? }

    public init(verification: Verification = .insecure, resumeSessions: Bool = false) throws(TLSError) {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSError("cannot create a client SSL context") }
        do throws(TLSError) {
            guard relay_ssl_ctx_set_min_proto_version(context, TLS1_2_VERSION) == 1 else { throw TLSError("minimum version TLS 1.2") }
            // As on the server (TLSContext): SSL_write returns after each record, and a retried
            // write is gathered again from the outbound queue into the loop's staging buffer.
            // Released buffers: an idle connection holds no read or write buffer, which matters
            // with tens of thousands of them in one process.
            relay_ssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
            // RFC 6455 needs HTTP/1.1; offering it is what a browser's wss:// connection does.
            let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
            guard SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count)) == 0 else { throw TLSError("ALPN") }
            switch verification {
            case .insecure:
                SSL_CTX_set_verify(context, SSL_VERIFY_NONE, nil)
            case .caFile(let path):
                guard SSL_CTX_load_verify_locations(context, path, nil) == 1 else { throw TLSError("cannot load the CA file \(path)") }
                SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
            }
        } catch {
            SSL_CTX_free(context)
            throw error
        }
        self.context = context
        self.verification = verification
        resumesSessions = resumeSessions
        if resumeSessions {
            // A TLS 1.3 session can be resumed only once its ticket has arrived, after the
            // handshake (SSL_get1_session at the end of SSL_do_handshake would keep one without a
            // ticket): OpenSSL hands each new session to this callback when it becomes resumable,
            // under TLS 1.2 and 1.3 alike.
            relay_ssl_ctx_set_client_session_cache(context)
            SSL_CTX_set_ex_data(context, 0, Unmanaged.passUnretained(self).toOpaque())
            SSL_CTX_sess_set_new_cb(context, keepSession)
        }
    }

    deinit {
        latest.withLock { slot in
            if let session = slot.session { SSL_SESSION_free(session) }
            slot.session = nil
        }
        SSL_CTX_free(context)
    }

    /// A new client-side session on the connected socket `fd`, for the server `host` (the URL's
    /// host: the SNI name, and the name the certificate must cover when it is checked).
    public func makeSession(fd: Int32, host: String) -> TLSSession? {
        TLSSession(client: self, fd: fd, host: host)
    }

    /// Takes the reference OpenSSL passes to the new-session callback.
    fileprivate func keep(_ session: OpaquePointer) {
        latest.withLock { slot in
            if let old = slot.session { SSL_SESSION_free(old) }
            slot.session = session
        }
    }

    /// Sets a copy of the kept session, if any, on a new SSL: the server resumes it or falls back
    /// to a full handshake (an expired ticket, another server), which `TLSSession.resumed` tells
    /// apart. A copy each: OpenSSL does not promise that a session stays unchanged while a
    /// handshake uses it, and with one SSL_SESSION shared by handshakes in progress at once the
    /// server refused about one resumption in six in a test (TLS 1.3, OpenSSL 3.0); with a copy
    /// each, none.
    func offerSession(to ssl: OpaquePointer) {
        guard resumesSessions else { return }
        latest.withLock { slot in
            guard let session = slot.session, let copy = SSL_SESSION_dup(session) else { return }
            _ = SSL_set_session(ssl, copy)
            SSL_SESSION_free(copy)  // SSL_set_session took its own reference
        }
    }
}

/// OpenSSL's new-session callback: 1 keeps the reference it passes (freed when replaced).
private let keepSession: @convention(c) (OpaquePointer?, OpaquePointer?) -> Int32 = { ssl, session in
    guard let ssl, let session, SSL_SESSION_is_resumable(session) == 1,
          let owner = SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl), 0) else { return 0 }
    Unmanaged<TLSClientContext>.fromOpaque(owner).takeUnretainedValue().keep(session)
    return 1
}
