/// Reads typed values out of a decoded YAML/JSON document, with errors that name the key, and
/// refuses keys nobody reads (a typo must not silently fall back to a default).
public struct ConfigReader {
    public let path: String
    let values: [String: Any]
    private var known: Set<String> = []

    public init(path: String, values: [String: Any]) {
        self.path = path
        self.values = values
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public mutating func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        known.insert(key)
        guard let raw = values[key] else { return value }
        guard let number = raw as? Int else { throw ConfigError("\(keyPath(key)): expected an integer, got \(describe(raw))") }
        guard range.contains(number) else { throw ConfigError("\(keyPath(key)): \(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    public mutating func seconds(_ key: String, default value: Double, range: ClosedRange<Double>) throws -> Double {
        known.insert(key)
        guard let raw = values[key] else { return value }
        let number: Double
        if let int = raw as? Int { number = Double(int) } else if let double = raw as? Double { number = double } else {
            throw ConfigError("\(keyPath(key)): expected a number of seconds, got \(describe(raw))")
        }
        guard range.contains(number) else { throw ConfigError("\(keyPath(key)): \(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    public mutating func string(_ key: String, default value: String) throws -> String {
        known.insert(key)
        guard let raw = values[key] else { return value }
        guard let string = raw as? String else { throw ConfigError("\(keyPath(key)): expected a string, got \(describe(raw))") }
        return string
    }

    public mutating func bool(_ key: String, default value: Bool) throws -> Bool {
        known.insert(key)
        guard let raw = values[key] else { return value }
        guard let bool = raw as? Bool else { throw ConfigError("\(keyPath(key)): expected true or false, got \(describe(raw))") }
        return bool
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        known.insert(key)
        guard values[key] != nil else { return nil }
        return try string(key, default: "")
    }

    /// The mapping's keys, for sections whose keys are names (the namespaces).
    public var keys: [String] { values.keys.sorted() }

    /// Each element of a list of mappings (e.g. the auth keys), as readers named key[index].
    public mutating func sections(_ key: String) throws -> [ConfigReader] {
        known.insert(key)
        guard let raw = values[key] else { return [] }
        guard let list = raw as? [Any] else { throw ConfigError("\(keyPath(key)): expected a list, got \(describe(raw))") }
        return try list.enumerated().map { index, element in
            guard let dictionary = element as? [String: Any] else {
                throw ConfigError("\(keyPath(key))[\(index)]: expected a mapping, got \(describe(element))")
            }
            return ConfigReader(path: "\(keyPath(key))[\(index)]", values: dictionary)
        }
    }

    public mutating func strings(_ key: String, default value: [String]) throws -> [String] {
        known.insert(key)
        guard let raw = values[key] else { return value }
        guard let list = raw as? [Any], let strings = list as? [String] else {
            throw ConfigError("\(keyPath(key)): expected a list of strings, got \(describe(raw))")
        }
        return strings
    }

    public mutating func section(_ key: String) throws -> ConfigReader {
        known.insert(key)
        guard let raw = values[key] else { return ConfigReader(path: keyPath(key), values: [:]) }
        guard let dictionary = raw as? [String: Any] else { throw ConfigError("\(keyPath(key)): expected a mapping, got \(describe(raw))") }
        return ConfigReader(path: keyPath(key), values: dictionary)
    }

    public func rejectUnknownKeys() throws {
        if let unknown = values.keys.sorted().first(where: { !known.contains($0) }) {
            throw ConfigError("\(keyPath(unknown)): unknown setting")
        }
    }

    private func describe(_ raw: Any) -> String {
        switch raw {
        case is String: return "a string"
        case is Int: return "an integer"
        case is Double: return "a number"
        case is Bool: return "a boolean"
        case is [Any]: return "a list"
        case is [String: Any]: return "a mapping"
        default: return "\(type(of: raw))"
        }
    }
}

public struct ConfigError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
