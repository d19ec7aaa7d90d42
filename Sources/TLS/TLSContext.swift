import COpenSSL
import Glibc

/// The server's TLS configuration in OpenSSL terms: one SSL_CTX per certificate, the first being
/// the default, and SNI choosing among them during each handshake.
///
/// One context serves every loop. OpenSSL contexts are safe to share across threads, and sharing
/// is what makes resumption work when a client's next connection lands on another loop: the
/// session cache and the ticket keys live in the context. The cost is OpenSSL's internal locking
/// of that cache during handshakes, never on the data path. A SIGHUP builds a new context for
/// new connections; open ones keep theirs (each SSL holds a reference) until they close.
public final class TLSContext: @unchecked Sendable {
    /// Immutable after init, which is what makes sharing it across loops safe.
    let contexts: [OpaquePointer]
    /// One line per certificate for the log: its file, its names' match target and expiry.
    public let summary: [String]
    /// Certificates that are expired or not yet valid: served anyway (clients will refuse them),
    /// but the operator is told at load.
    public let warnings: [String]

    public init(_ settings: TLSSettings) throws(TLSError) {
        guard !settings.certificates.isEmpty else { throw TLSError("tls.certificates: at least one certificate is needed") }
        ERR_clear_error()
        var contexts: [OpaquePointer] = []
        var summary: [String] = [], warnings: [String] = []
        do throws(TLSError) {
            for (index, certificate) in settings.certificates.enumerated() {
                let context = try Self.makeContext(settings, certificate, key: "tls.certificates[\(index)]")
                contexts.append(context)
                let leaf = SSL_CTX_get0_certificate(context)
                summary.append("\(certificate.certificateFile) (expires \(Self.notAfter(leaf)))")
                if X509_cmp_current_time(X509_get0_notAfter(leaf)) < 0 {
                    warnings.append("\(certificate.certificateFile): the certificate has expired; clients will refuse it")
                } else if X509_cmp_current_time(X509_get0_notBefore(leaf)) > 0 {
                    warnings.append("\(certificate.certificateFile): the certificate is not valid yet; clients will refuse it")
                }
            }
        } catch {
            contexts.forEach { SSL_CTX_free($0) }
            throw error
        }
        self.contexts = contexts
        self.summary = summary
        self.warnings = warnings
        if contexts.count > 1 {
            let me = Unmanaged.passUnretained(self).toOpaque()
            for context in contexts { relay_ssl_ctx_set_servername_callback(context, selectCertificate, me) }
        }
    }

    deinit { contexts.forEach { SSL_CTX_free($0) } }

    private static func makeContext(_ settings: TLSSettings, _ certificate: TLSSettings.Certificate, key: String) throws(TLSError) -> OpaquePointer {
        guard let context = SSL_CTX_new(TLS_server_method()) else { throw TLSError("\(key): cannot create an SSL context") }
        do throws(TLSError) {
            let minimum = settings.minimumVersion == .tls13 ? TLS1_3_VERSION : TLS1_2_VERSION
            guard relay_ssl_ctx_set_min_proto_version(context, minimum) == 1 else { throw TLSError("tls.min_version") }
            relay_ssl_ctx_set_server_options(context)
            // Partial writes: SSL_write returns after each record, like write(2), so the outbound
            // queue is consumed record by record. Moving buffer: a retried write is gathered again
            // from the queue into the loop's staging buffer, at the same address or not.
            relay_ssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS))
            guard SSL_CTX_set_cipher_list(context, settings.ciphers) == 1 else { throw TLSError("tls.ciphers") }
            guard SSL_CTX_set_ciphersuites(context, settings.ciphersuites) == 1 else { throw TLSError("tls.ciphersuites") }
            SSL_CTX_set_alpn_select_cb(context, selectALPN, nil)
            let idContext: [UInt8] = Array("relay".utf8)
            _ = SSL_CTX_set_session_id_context(context, idContext, UInt32(idContext.count))
            relay_ssl_ctx_set_session_cache(context, Int(SSL_SESS_CACHE_SERVER), settings.sessionCacheSize)
            SSL_CTX_set_timeout(context, settings.sessionTimeout)
            // An encrypted key would make OpenSSL prompt on the terminal: refuse it instead.
            SSL_CTX_set_default_passwd_cb(context, refusePassphrase)
            guard SSL_CTX_use_certificate_chain_file(context, certificate.certificateFile) == 1 else {
                throw TLSError("\(key).cert_file: cannot use \(certificate.certificateFile)")
            }
            guard SSL_CTX_use_PrivateKey_file(context, certificate.keyFile, SSL_FILETYPE_PEM) == 1 else {
                throw TLSError("\(key).key_file: cannot use \(certificate.keyFile) (an unencrypted PEM key of \(certificate.certificateFile))")
            }
            guard SSL_CTX_check_private_key(context) == 1 else {
                throw TLSError("\(key): \(certificate.keyFile) is not the key of \(certificate.certificateFile)")
            }
            return context
        } catch {
            SSL_CTX_free(context)
            throw error
        }
    }

    private static func notAfter(_ certificate: OpaquePointer?) -> String {
        guard let time = X509_get0_notAfter(certificate), let bio = BIO_new(BIO_s_mem()) else { return "unknown" }
        defer { BIO_free(bio) }
        guard ASN1_TIME_print(bio, time) == 1 else { return "unknown" }
        var bytes = [UInt8](repeating: 0, count: 64)
        let count = BIO_read(bio, &bytes, Int32(bytes.count))
        return count > 0 ? String(decoding: bytes[..<Int(count)], as: UTF8.self) : "unknown"
    }

    /// A digest of everything a context is made from: the settings and the bytes of every
    /// certificate and key file. Equal digests make equal contexts, so a reload can keep the
    /// running one (and with it the ticket keys and cached sessions clients resume).
    public static func fingerprint(_ settings: TLSSettings) throws(TLSError) -> [UInt8] {
        var input = Array("\(settings)".utf8)
        for certificate in settings.certificates {
            for path in [certificate.certificateFile, certificate.keyFile] {
                guard let file = fopen(path, "rb") else { throw TLSError(reading: path) }
                defer { fclose(file) }
                var chunk = [UInt8](repeating: 0, count: 16 * 1024)
                while true {
                    let count = fread(&chunk, 1, chunk.count, file)
                    if count == 0 { break }
                    input += chunk[..<count]
                }
            }
        }
        var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_LENGTH))
        _ = SHA256(input, input.count, &digest)
        return digest
    }

    /// A new server-side session on `fd`; it starts with the default certificate.
    public func makeSession(fd: Int32) -> TLSSession? {
        TLSSession(context: self, fd: fd)
    }

    /// The context whose certificate covers `name` (SAN DNS names and wildcards, as clients
    /// check them), or nil to keep the default.
    fileprivate func context(for name: UnsafePointer<CChar>) -> OpaquePointer? {
        let length = strlen(name)
        for context in contexts.dropFirst() where X509_check_host(SSL_CTX_get0_certificate(context), name, length, 0, nil) == 1 {
            return context
        }
        return nil
    }
}

/// SNI: switch the handshake to the certificate that names the host the client asked for.
private let selectCertificate: @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int32>?, UnsafeMutableRawPointer?) -> Int32 = { ssl, _, arg in
    guard let ssl, let arg, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return SSL_TLSEXT_ERR_OK }
    let owner = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    if let chosen = owner.context(for: name) { SSL_set_SSL_CTX(ssl, chosen) }
    return SSL_TLSEXT_ERR_OK
}

/// ALPN: WebSocket over HTTP/1.1 (RFC 6455 needs the HTTP/1.1 upgrade). A client that offers
/// ALPN without http/1.1 (h2 only) gets the no_application_protocol alert, as RFC 7301 asks,
/// rather than a connection it cannot use.
private let selectALPN: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
                                        UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?) -> Int32 = { _, out, outLength, offered, offeredLength, _ in
    guard let offered, let out, let outLength else { return SSL_TLSEXT_ERR_NOACK }
    var index = 0
    let total = Int(offeredLength)
    while index < total {
        let length = Int(offered[index])
        let start = index + 1
        guard start + length <= total else { break }
        if length == 8, memcmp(offered + start, "http/1.1", 8) == 0 {
            out.pointee = offered + start
            outLength.pointee = 8
            return SSL_TLSEXT_ERR_OK
        }
        index = start + length
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}

private let refusePassphrase: @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32 = { _, _, _, _ in 0 }
