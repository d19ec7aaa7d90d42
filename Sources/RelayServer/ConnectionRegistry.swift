/// The open connections of one loop, for shutdown and limits. Insert and remove are O(1).
final class ConnectionRegistry {
    private(set) var connections: [Connection] = []

    var count: Int { connections.count }

    func insert(_ connection: Connection) {
        connection.registryIndex = connections.count
        connections.append(connection)
    }

    func remove(_ connection: Connection) {
        let index = connection.registryIndex
        guard index >= 0, index < connections.count, connections[index] === connection else { return }
        let last = connections.removeLast()
        if index < connections.count {
            connections[index] = last
            last.registryIndex = index
        }
        connection.registryIndex = -1
    }
}
