// `millpond compact DB.T [--full]`: runs Paimon's universal compaction (or full compaction) over
// every bucket of a primary-key table and commits the result as one COMPACT snapshot.
// Single-threaded.
#pragma once

#include <string>

#include "millpond/common/status.h"

namespace millpond::cli {

/// Opens the warehouse, compacts `table` (DB.TABLE) and prints one line:
/// "compacted N buckets: X files -> Y files; snapshot S" (N is 0 when nothing needed it).
Status RunCompact(const std::string& warehouse, const std::string& table, bool full);

}  // namespace millpond::cli
