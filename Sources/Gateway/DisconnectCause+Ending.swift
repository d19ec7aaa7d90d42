import Broker
import RelayServer

extension DisconnectCause {
    init(_ ending: ConnectionEnding?) {
        switch ending {
        case .closedByPeer(let code): self.init(reason: "client_closed", code: code)
        case .closedByServer(let code, let reason): self.init(reason: reason, code: code)
        case .failed(let code, _): self.init(reason: "protocol_error", code: code)
        case .pingTimeout: self.init(reason: "ping_timeout", code: nil)
        case .lost, nil: self = .lost
        }
    }
}
