/// How a WebSocket connection ended: who closed it, with which close code.
public enum ConnectionEnding: Sendable, Equatable {
    /// The peer sent a close frame (nil: one without a code).
    case closedByPeer(code: UInt16?)
    /// The server closed it on purpose (the application, a drain, a shutdown).
    case closedByServer(code: UInt16, reason: String)
    /// The peer broke the protocol (§7.1.7) and the server failed the connection.
    case failed(code: UInt16, reason: String)
    /// The peer stopped answering pings.
    case pingTimeout
    /// The TCP connection ended without a close frame (reset, half-close, or aborted here).
    case lost
}
