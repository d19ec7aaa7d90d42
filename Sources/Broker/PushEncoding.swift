import Buffers

/// How an engine turns stream events into the frames clients receive. The gateway provides it
/// (the wire format is the client protocol's business); engines call it once per event, never
/// per subscriber.
public protocol PushEncoding: Sendable {
    func publication(channel: String, offset: UInt64, data: [UInt8], user: String?) -> Publication
    func join(channel: String, user: String, info: String?) -> SharedBytes
    func leave(channel: String, user: String) -> SharedBytes
    func status(user: String, online: Bool) -> SharedBytes
    /// A push whose JSON was encoded elsewhere (by another node).
    func frame(json: UnsafeRawBufferPointer) -> SharedBytes
}
