import JSON
import XCTest

/// What the parser builds from valid JSON: every type, the RFC 8259 examples, nesting,
/// whitespace, and the accessors.
final class ParserValueTests: XCTestCase {
    func testScalars() throws {
        XCTAssertTrue(try parse("null").isNull)
        XCTAssertEqual(try parse("true").bool, true)
        XCTAssertEqual(try parse("false").bool, false)
        XCTAssertEqual(try parse("42").int64, 42)
        XCTAssertEqual(try parse("-1.5").double, -1.5)
        XCTAssertEqual(try parse(#""hi""#).string, "hi")
        XCTAssertEqual(try parse(#""""#).string, "")
    }

    func testKinds() throws {
        let cases: [(String, JSONValue.Kind)] = [
            ("null", .null), ("true", .bool), ("false", .bool), ("0", .number), (#""s""#, .string),
            ("[]", .array), ("{}", .object),
        ]
        for (text, kind) in cases {
            XCTAssertEqual(try parse(text).kind, kind, text)
        }
    }

    func testAccessorsReturnNilForOtherKinds() throws {
        let number = try parse("1")
        XCTAssertNil(number.string)
        XCTAssertNil(number.bool)
        XCTAssertNil(number.array)
        XCTAssertNil(number.object)
        XCTAssertFalse(number.isNull)
        XCTAssertNil(number["key"])
        XCTAssertNil(number[0])

        let string = try parse(#""1""#)
        XCTAssertNil(string.int64)
        XCTAssertNil(string.double)
        XCTAssertFalse(string.isInteger)

        XCTAssertNil(try parse("null").bool)
        XCTAssertNil(try parse("[1]")["0"])
        XCTAssertNil(try parse(#"{"0":1}"#)[0])
    }

    func testEmptyContainers() throws {
        XCTAssertEqual(try parse("[]").array?.count, 0)
        XCTAssertEqual(try parse("{}").object?.count, 0)
        XCTAssertEqual(try parse("[ ]").array?.count, 0)
        XCTAssertEqual(try parse("{\n}").object?.count, 0)
        XCTAssertEqual(try parse("[[],{}]").array?.map(\.kind), [.array, .object])
    }

    func testArrayKeepsOrderAndMixedTypes() throws {
        let value = try parse(#"[1, "two", true, null, [3], {"four": 4}, -5.5]"#)
        let elements = try XCTUnwrap(value.array)
        XCTAssertEqual(elements.map(\.kind), [.number, .string, .bool, .null, .array, .object, .number])
        XCTAssertEqual(value[0]?.int64, 1)
        XCTAssertEqual(value[1]?.string, "two")
        XCTAssertEqual(value[4]?[0]?.int64, 3)
        XCTAssertEqual(value[5]?["four"]?.int64, 4)
        XCTAssertEqual(value[6]?.double, -5.5)
        XCTAssertNil(value[7])
        XCTAssertNil(value[-1])
    }

    func testObjectKeepsMemberOrder() throws {
        let value = try parse(#"{"z": 1, "a": 2, "m": 3}"#)
        XCTAssertEqual(value.object?.map(\.key), ["z", "a", "m"])
        XCTAssertEqual(value.object?.map { $0.value.int64 }, [1, 2, 3])
        XCTAssertEqual(value["a"]?.int64, 2)
        XCTAssertNil(value["b"])
    }

    func testACommand() throws {
        let command = try parse(#"{"type":"subscribe","channel":"news.eu","id":7,"replay":true}"#)
        XCTAssertEqual(command["type"]?.string, "subscribe")
        XCTAssertEqual(command["channel"]?.string, "news.eu")
        XCTAssertEqual(command["id"]?.int64, 7)
        XCTAssertEqual(command["replay"]?.bool, true)
        XCTAssertNil(command["data"])
    }

    /// RFC 8259 §13, first example.
    func testRFC8259ImageObject() throws {
        let text = """
            {
              "Image": {
                  "Width":  800,
                  "Height": 600,
                  "Title":  "View from 15th Floor",
                  "Thumbnail": {
                      "Url":    "http://www.example.com/image/481989943",
                      "Height": 125,
                      "Width":  100
                  },
                  "Animated" : false,
                  "IDs": [116, 943, 234, 38793]
                }
            }
            """
        let image = try XCTUnwrap(try parse(text)["Image"])
        XCTAssertEqual(image["Width"]?.int64, 800)
        XCTAssertEqual(image["Height"]?.int64, 600)
        XCTAssertEqual(image["Title"]?.string, "View from 15th Floor")
        XCTAssertEqual(image["Thumbnail"]?["Url"]?.string, "http://www.example.com/image/481989943")
        XCTAssertEqual(image["Thumbnail"]?["Height"]?.int64, 125)
        XCTAssertEqual(image["Thumbnail"]?["Width"]?.int64, 100)
        XCTAssertEqual(image["Animated"]?.bool, false)
        XCTAssertEqual(image["IDs"]?.array?.compactMap(\.int64), [116, 943, 234, 38793])
    }

    /// RFC 8259 §13, second example.
    func testRFC8259ArrayOfLocations() throws {
        let text = """
            [
              {
                 "precision": "zip",
                 "Latitude":  37.7668,
                 "Longitude": -122.3959,
                 "Address":   "",
                 "City":      "SAN FRANCISCO",
                 "State":     "CA",
                 "Zip":       "94107",
                 "Country":   "US"
              },
              {
                 "precision": "zip",
                 "Latitude":  37.371991,
                 "Longitude": -122.026020,
                 "Address":   "",
                 "City":      "SUNNYVALE",
                 "State":     "CA",
                 "Zip":       "94085",
                 "Country":   "US"
              }
            ]
            """
        let locations = try XCTUnwrap(try parse(text).array)
        XCTAssertEqual(locations.count, 2)
        XCTAssertEqual(locations[0]["Latitude"]?.double, 37.7668)
        XCTAssertEqual(locations[0]["Longitude"]?.double, -122.3959)
        XCTAssertEqual(locations[0]["Address"]?.string, "")
        XCTAssertEqual(locations[0]["City"]?.string, "SAN FRANCISCO")
        XCTAssertEqual(locations[1]["Latitude"]?.double, 37.371991)
        XCTAssertEqual(locations[1]["Longitude"]?.double, -122.026020)
        XCTAssertEqual(locations[1]["Zip"]?.string, "94085")
        XCTAssertEqual(locations.map { $0.object?.count }, [8, 8])
    }

    /// RFC 8259 §13: "Here are three small JSON texts containing only values".
    func testRFC8259ScalarTexts() throws {
        XCTAssertEqual(try parse(#""Hello world!""#).string, "Hello world!")
        XCTAssertEqual(try parse("42").int64, 42)
        XCTAssertEqual(try parse("true").bool, true)
    }

    func testDeepNestingWithinTheLimit() throws {
        let depth = 32
        let text = String(repeating: #"{"a":["#, count: depth / 2) + "1" + String(repeating: "]}", count: depth / 2)
        var value = try parse(text)
        for _ in 0..<depth / 2 {
            value = try XCTUnwrap(value["a"]?[0])
        }
        XCTAssertEqual(value.int64, 1)
    }

    func testSiblingContainersAtSeveralLevels() throws {
        let value = try parse(#"{"a":{"b":[1,[2,{"c":3}],4],"d":{}},"e":[[],[[]]],"f":{"g":{"h":null}}}"#)
        XCTAssertEqual(value["a"]?["b"]?[1]?[1]?["c"]?.int64, 3)
        XCTAssertEqual(value["a"]?["b"]?[2]?.int64, 4)
        XCTAssertEqual(value["a"]?["d"]?.object?.count, 0)
        XCTAssertEqual(value["e"]?[1]?[0]?.array?.count, 0)
        XCTAssertEqual(value["f"]?["g"]?["h"]?.isNull, true)
        XCTAssertEqual(value.object?.map(\.key), ["a", "e", "f"])
    }

    /// Objects with the same keys at different levels are not duplicates.
    func testSameKeyInNestedObjects() throws {
        let value = try parse(#"{"a":{"a":{"a":1}},"b":{"a":2}}"#)
        XCTAssertEqual(value["a"]?["a"]?["a"]?.int64, 1)
        XCTAssertEqual(value["b"]?["a"]?.int64, 2)
    }

    /// RFC 8259 §2: insignificant whitespace is space, tab, LF and CR, around any token.
    func testWhitespaceEverywhere() throws {
        let spaced = " \t\n\r{ \t\n\r\"a\" \t\n\r: \t\n\r[ \t\n\r1 \t\n\r, \t\n\rtrue \t\n\r] \t\n\r, \"b\"\r\n:\r\nnull } \t\n\r"
        let value = try parse(spaced)
        XCTAssertEqual(value, try parse(#"{"a":[1,true],"b":null}"#))
        XCTAssertEqual(try parse("\n\n 5 \n").int64, 5)
    }

    /// Equality compares values, not their bytes or member order.
    func testEqualityIgnoresRangesAndMemberOrder() throws {
        XCTAssertEqual(try parse(#"{"a":1,"b":[true,null]}"#), try parse(#"  { "b" : [ true , null ] , "a" : 1 }"#))
        XCTAssertNotEqual(try parse(#"{"a":1}"#), try parse(#"{"a":1,"b":2}"#))
        XCTAssertNotEqual(try parse(#"{"a":1,"c":2}"#), try parse(#"{"a":1,"b":2}"#))
        XCTAssertNotEqual(try parse("[1,2]"), try parse("[2,1]"))
        XCTAssertNotEqual(try parse("1"), try parse(#""1""#))
        XCTAssertNotEqual(try parse("true"), try parse("1"))
        XCTAssertEqual(try parse("100"), try parse("1e2"))
        XCTAssertEqual(try parse("0"), try parse("-0"))
        XCTAssertNotEqual(try parse("9007199254740993"), try parse("9007199254740992"))
        // Other numbers compare by the Double they are kept as.
        XCTAssertEqual(try parse("1e-400"), try parse("0"))
        XCTAssertEqual(try parse("0.1"), try parse("0.10000000000000000001"))
        XCTAssertEqual(try parse("9007199254740992"), try parse("9007199254740992.5"))
        XCTAssertNotEqual(try parse("9007199254740993"), try parse("9007199254740992.5"))
        XCTAssertEqual(try parse("1e19"), try parse("10000000000000000000.0"))
        // Large objects compare through a dictionary.
        let keys = (0..<40).map { "k\($0)" }
        let forward = "{" + keys.map { #""\#($0)":"\#($0)""# }.joined(separator: ",") + "}"
        let backward = "{" + keys.reversed().map { #""\#($0)":"\#($0)""# }.joined(separator: ",") + "}"
        XCTAssertEqual(try parse(forward), try parse(backward))
        let renamed = "{" + keys.map { $0 == "k7" ? "k77" : $0 }.map { #""\#($0)":"\#($0)""# }.joined(separator: ",") + "}"
        XCTAssertNotEqual(try parse(forward), try parse(renamed))
    }

    func testDescriptionIsCompactJSON() throws {
        XCTAssertEqual(try parse(" { \"a\" : [ 1 , 2.5 , \"x\\ny\" ] , \"b\" : null } ").description,
                       #"{"a":[1,2.5,"x\ny"],"b":null}"#)
    }

    func testParsesFromAnUnsafeBufferAndFromAnArray() throws {
        let bytes = Array(#"{"k":[1]}"#.utf8)
        let fromBuffer = try bytes.withUnsafeBytes { try JSONParser.parse($0) }
        XCTAssertEqual(fromBuffer, try JSONParser.parse(bytes))
    }
}
