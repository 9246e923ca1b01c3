/// The release version; packaging/build-deb.sh reads it from here.
public enum LightScopeVersion {
    public static let current = "0.1.0"
}
