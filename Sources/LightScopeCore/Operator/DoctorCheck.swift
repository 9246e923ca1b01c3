/// One line of `lightscope doctor`: what was checked, what was found and, when it failed, the fix.
public struct DoctorCheck: Equatable, Sendable {
    public var name: String
    public var passed: Bool
    public var detail: String
    public var fix: String?

    public static func pass(_ name: String, _ detail: String) -> DoctorCheck {
        DoctorCheck(name: name, passed: true, detail: detail, fix: nil)
    }

    public static func fail(_ name: String, _ detail: String, fix: String) -> DoctorCheck {
        DoctorCheck(name: name, passed: false, detail: detail, fix: fix)
    }

    /// `PASS unit: ...` or `FAIL unit: ... -> fix: ...`, greppable by the first word; escaped
    /// (`SafeText`), since details quote config values and interface names.
    public var line: String {
        SafeText.escaped(passed ? "PASS \(name): \(detail)" : "FAIL \(name): \(detail) -> fix: \(fix ?? "see above")")
    }
}
