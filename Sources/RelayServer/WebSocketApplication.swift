import WebSocket

/// What runs on top of the transport: one instance per loop, called on that loop's thread.
public protocol WebSocketApplication: AnyObject {
    /// Picks a subprotocol from the client's offer (nil: none), or refuses the upgrade.
    func negotiate(_ request: UpgradeRequest) -> Result<String?, HandshakeRejection>
    /// The upgrade is done. The request is not kept by the connection: take what is needed now.
    func connectionOpened(_ connection: Connection, request: UpgradeRequest)
    /// A complete message; `payload` is valid only during the call.
    func connection(_ connection: Connection, received opcode: Opcode, payload: UnsafeRawBufferPointer)
    func connectionClosed(_ connection: Connection)
    /// The close code a connection gets when it stops reading while output keeps coming for it.
    var slowConsumerCloseCode: CloseCode { get }
    /// The server stopped accepting and is closing its connections over `window` seconds.
    func drainStarted(window: Double)
    /// The connection will be closed with 1001 in `milliseconds` (a drain): time to tell the client.
    func connectionWillDrain(_ connection: Connection, closingIn milliseconds: Int)
}

extension WebSocketApplication {
    public var slowConsumerCloseCode: CloseCode { .policyViolation }
    public func drainStarted(window: Double) {}
    public func connectionWillDrain(_ connection: Connection, closingIn milliseconds: Int) {}
}
