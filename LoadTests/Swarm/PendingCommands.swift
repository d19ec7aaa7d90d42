/// A chat worker's commands that wait for their reply, by id: the gateway may answer a
/// connection's commands out of order (those that go through the engine answer when it does),
/// so the id names the command. Ids are unique in the worker and above the setup's.
struct PendingCommands {
    struct Entry {
        var user: Int
        var kind: ChatCommand.Kind
        var sentAt: UInt64
        /// A publish's message.
        var sequence: UInt64
    }

    private var entries: [Int64: Entry] = [:]
    private var nextID: Int64 = 1000

    mutating func add(_ entry: Entry) -> Int64 {
        let id = nextID
        nextID += 1
        entries[id] = entry
        return id
    }

    mutating func answer(_ id: Int64) -> Entry? { entries.removeValue(forKey: id) }

    /// The user's connection closed: the commands it sent will get no reply. (Few wait at any
    /// time, so going through all of them costs little.)
    mutating func forget(user: Int) {
        entries = entries.filter { $0.value.user != user }
    }
}
