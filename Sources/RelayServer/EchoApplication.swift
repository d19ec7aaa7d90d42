import WebSocket

/// `relay echo`: every message back to its sender, text as text, binary as binary. The target of
/// conformance suites and of the peers' load tests, so it runs on the same path as the gateway.
public final class EchoApplication: WebSocketApplication {
    public init() {}

    public func negotiate(_ request: UpgradeRequest) -> Result<String?, HandshakeRejection> { .success(nil) }

    public func connectionOpened(_ connection: Connection, request: UpgradeRequest) {}

    public func connection(_ connection: Connection, received opcode: Opcode, payload: UnsafeRawBufferPointer) {
        connection.send(opcode, payload: payload)
    }

    public func connectionClosed(_ connection: Connection) {}
}
