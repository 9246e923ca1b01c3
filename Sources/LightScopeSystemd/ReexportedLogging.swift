/// The daemon's modules log through `Log`, which lived here before it moved onto swift-log
/// (`LightScopeLogging`); re-exported so that they keep reaching it through this import.
@_exported import LightScopeLogging
