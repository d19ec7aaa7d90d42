/// Where a client is in a channel's stream: the offset of the last publication it saw and the
/// epoch of the history that offset belongs to. A new epoch means the history was lost (expired,
/// evicted, a broker restart) and offsets started again: the client must refetch from the API.
public struct StreamPosition: Sendable, Equatable {
    public var offset: UInt64
    public var epoch: String

    public init(offset: UInt64, epoch: String) {
        self.offset = offset
        self.epoch = epoch
    }
}
