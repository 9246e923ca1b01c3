/// The hand-made tables Detect keeps its state in (`LightScopeFastTables`), visible in every
/// file of Core and to Core's users (`DetectionBudget` hands out a `TableBytePool`) without an
/// import in each.
@_exported import LightScopeFastTables
