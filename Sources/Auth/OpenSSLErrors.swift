import COpenSSL

/// Runs `body` and then drops whatever errors it left on this thread's OpenSSL error queue, and
/// only those. A failed verification or decode queues errors; TLS code on the same thread reads
/// that queue (SSL_get_error) and would be misled by them, and errors queued before us are not
/// ours to drop, hence the mark rather than ERR_clear_error.
@inline(__always)
func discardingOpenSSLErrors<T, E: Error>(_ body: () throws(E) -> T) throws(E) -> T {
    ERR_set_mark()
    defer { ERR_pop_to_mark() }
    return try body()
}
