import COpenSSL

/// Public keys from PEM text: a SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`), or an X.509 certificate
/// (`BEGIN CERTIFICATE`), whose key is taken and whose other fields (validity, issuer) are ignored:
/// the certificate is only a container the issuer happens to publish its key in.
extension PublicKey {
    static func fromPEM(_ pem: [UInt8]) throws(KeyError) -> PublicKey {
        let isCertificate = pem.firstRange(of: Array("-----BEGIN CERTIFICATE-----".utf8)) != nil
        let key: OpaquePointer? = discardingOpenSSLErrors {
            pem.withUnsafeBytes { bytes in
                guard let bio = BIO_new_mem_buf(bytes.baseAddress, Int32(bytes.count)) else { return nil }
                defer { BIO_free(bio) }
                if isCertificate {
                    guard let certificate = PEM_read_bio_X509(bio, nil, nil, nil) else { return nil }
                    defer { X509_free(certificate) }
                    return X509_get_pubkey(certificate)  // a new reference, ours to free
                }
                // PUBKEY reads only public keys: a private key PEM given by mistake is refused here.
                return PEM_read_bio_PUBKEY(bio, nil, nil, nil)
            }
        }
        guard let key else { throw .invalidPEM }
        return try PublicKey(taking: key)
    }
}
