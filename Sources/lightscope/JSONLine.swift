import LightScopeCore

/// One flat JSON object on one line, for the fleet commands' --json; keys in the order added.
struct JSONLine {
    private var body = ""

    var text: String { "{" + body + "}" }

    private mutating func key(_ name: String) {
        if !body.isEmpty { body += "," }
        EventJSON.appendQuoted(name, to: &body)
        body += ":"
    }

    mutating func add(_ name: String, _ value: String?) {
        key(name)
        if let value { EventJSON.appendQuoted(value, to: &body) } else { body += "null" }
    }

    mutating func add(_ name: String, _ value: Int64) {
        key(name)
        body += String(value)
    }

    mutating func add(_ name: String, _ value: Bool) {
        key(name)
        body += value ? "true" : "false"
    }

    mutating func add(_ name: String, _ values: [Int64]) {
        key(name)
        body += "[" + values.map(String.init).joined(separator: ",") + "]"
    }

    /// A nested object of counts, such as the events per verdict.
    mutating func add(_ name: String, _ counts: [(String, Int64)]) {
        key(name)
        var object = JSONLine()
        for (field, count) in counts { object.add(field, count) }
        body += object.text
    }
}
