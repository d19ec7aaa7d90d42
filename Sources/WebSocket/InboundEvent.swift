/// What the inbound side of a connection found in the bytes it was given. Buffers point into the
/// caller's input or the reader's message buffer and are valid only until the next `read` call.
public enum InboundEvent {
    /// Every complete frame has been consumed; give the rest again with more bytes after it.
    case needMore
    /// A complete text or binary message. `compressed`: its first frame had RSV1 set under
    /// permessage-deflate, and the payload is still DEFLATE data for the caller to inflate and,
    /// if text, validate. Otherwise text has been validated as UTF-8.
    case message(Opcode, UnsafeRawBufferPointer, compressed: Bool)
    case ping(UnsafeRawBufferPointer)
    case pong(UnsafeRawBufferPointer)
    /// A valid close frame: its code (nil when it carried none) and UTF-8 reason.
    case close(CloseCode?, reason: UnsafeRawBufferPointer)
    /// The peer broke the protocol: close with this code. The reader accepts no more input.
    case failure(CloseCode, String)
}
