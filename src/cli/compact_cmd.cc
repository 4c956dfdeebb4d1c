// `millpond compact`: a thin wrapper over table::CompactTable.
#include "compact_cmd.h"

#include <iostream>

#include "millpond/table/catalog.h"
#include "millpond/table/compaction.h"

namespace millpond::cli {

Status RunCompact(const std::string& warehouse, const std::string& table, bool full) {
  ARROW_ASSIGN_OR_RAISE(auto catalog, table::Catalog::Open(warehouse, /*create_if_missing=*/false));
  ARROW_ASSIGN_OR_RAISE(auto t, catalog->GetTable(table));
  ARROW_ASSIGN_OR_RAISE(auto summary, table::CompactTable(*t, full));
  std::cout << "compacted " << summary.buckets << " buckets: " << summary.files_before
            << " files -> " << summary.files_after << " files; snapshot " << summary.snapshot_id
            << std::endl;
  return Status::OK();
}

}  // namespace millpond::cli
