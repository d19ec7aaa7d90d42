import Yams

/// Reads typed values out of a decoded YAML/JSON document, with errors that name the key, and
/// refuses keys nobody reads (a typo must not silently fall back to a default).
///
/// An environment variable `RELAY_<KEY_PATH>` (dots and brackets as underscores, upper case:
/// `RELAY_LISTEN_PORT`, `RELAY_AUTH_KEYS_0_SECRET`) overrides a scalar or list key of the file; its
/// text is read as a YAML value, so `9000` is a number and `[a, b]` a list.
public struct ConfigReader {
    public let path: String
    let values: [String: Any]
    let environment: [String: String]
    private var known: Set<String> = []

    public init(path: String, values: [String: Any], environment: [String: String] = [:]) {
        self.path = path
        self.values = values
        self.environment = environment
    }

    public func keyPath(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func environmentName(_ key: String) -> String {
        "RELAY_" + keyPath(key).uppercased().map { $0.isLetter || $0.isNumber ? String($0) : "_" }.joined()
            .replacingOccurrences(of: "__", with: "_").trimmingSuffix("_")
    }

    /// The value of `key` and the name to blame for it: the environment variable when set, else
    /// the file's key.
    private func lookup(_ key: String) -> (value: Any, name: String)? {
        let variable = environmentName(key)
        if let text = environment[variable] {
            let parsed = (try? Yams.load(yaml: text)) ?? text
            return (parsed ?? text, variable)
        }
        return values[key].map { ($0, keyPath(key)) }
    }

    public mutating func int(_ key: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        known.insert(key)
        guard let (raw, name) = lookup(key) else { return value }
        guard let number = raw as? Int else { throw ConfigError("\(name): expected an integer, got \(describe(raw))") }
        guard range.contains(number) else { throw ConfigError("\(name): \(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    public mutating func seconds(_ key: String, default value: Double, range: ClosedRange<Double>) throws -> Double {
        known.insert(key)
        guard let (raw, name) = lookup(key) else { return value }
        let number: Double
        if let int = raw as? Int { number = Double(int) } else if let double = raw as? Double { number = double } else {
            throw ConfigError("\(name): expected a number of seconds, got \(describe(raw))")
        }
        guard range.contains(number) else { throw ConfigError("\(name): \(number) is outside \(range.lowerBound)...\(range.upperBound)") }
        return number
    }

    public mutating func string(_ key: String, default value: String) throws -> String {
        known.insert(key)
        guard let (raw, name) = lookup(key) else { return value }
        // From the environment a value is text, whatever it looks like (a secret of digits).
        if name.hasPrefix("RELAY_"), let text = environment[name] { return text }
        guard let string = raw as? String else { throw ConfigError("\(name): expected a string, got \(describe(raw))") }
        return string
    }

    public mutating func bool(_ key: String, default value: Bool) throws -> Bool {
        known.insert(key)
        guard let (raw, name) = lookup(key) else { return value }
        guard let bool = raw as? Bool else { throw ConfigError("\(name): expected true or false, got \(describe(raw))") }
        return bool
    }

    public mutating func optionalString(_ key: String) throws -> String? {
        known.insert(key)
        guard lookup(key) != nil else { return nil }
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
            return ConfigReader(path: "\(keyPath(key))[\(index)]", values: dictionary, environment: environment)
        }
    }

    public mutating func strings(_ key: String, default value: [String]) throws -> [String] {
        known.insert(key)
        guard let (raw, name) = lookup(key) else { return value }
        guard let list = raw as? [Any], let strings = list as? [String] else {
            throw ConfigError("\(name): expected a list of strings, got \(describe(raw))")
        }
        return strings
    }

    public mutating func section(_ key: String) throws -> ConfigReader {
        known.insert(key)
        guard let raw = values[key] else { return ConfigReader(path: keyPath(key), values: [:], environment: environment) }
        guard let dictionary = raw as? [String: Any] else { throw ConfigError("\(keyPath(key)): expected a mapping, got \(describe(raw))") }
        return ConfigReader(path: keyPath(key), values: dictionary, environment: environment)
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

extension String {
    func trimmingSuffix(_ character: Character) -> String {
        var text = self
        while text.last == character { text.removeLast() }
        return text
    }
}
