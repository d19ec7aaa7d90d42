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
}

extension WebSocketApplication {
    public var slowConsumerCloseCode: CloseCode { .policyViolation }
}
