/// What a subscriber reads out of a publication it receives: the send time and sequence the
/// publisher wrote (PublicationPayload), and the channel offset the gateway gave it, which a
/// reconnecting subscriber resumes from (0 where there is none: raw broadcast messages).
struct ReceivedPublication {
    var sentAt: UInt64
    var sequence: UInt64
    var offset: UInt64 = 0
}
