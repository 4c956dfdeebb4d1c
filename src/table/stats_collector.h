// Per-column null counts over the batches of one data file plus min/max (from the file footer),
// encoded as Paimon's
// SimpleStats (BinaryRow min and max, null counts). Strings are truncated to 16 characters the way
// Paimon's default `metadata.stats-mode` truncate(16) does (a truncated max is dropped to unknown).
// Single-threaded.
#pragma once

#include <memory>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/manifest.h"
#include "millpond/paimon/types.h"

namespace millpond::table {

class StatsCollector {
 public:
  explicit StatsCollector(std::vector<paimon::DataField> fields);
  /// Counts nulls per column.
  Status Update(const arrow::RecordBatch& batch);
  /// SimpleStats from the counted nulls and per-column (min, max) of the non-null values (from the
  /// Parquet footer); null scalars are unknown bounds.
  Result<paimon::SimpleStats> Finish(
      const std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>>&
          min_max) const;

 private:
  std::vector<paimon::DataField> fields_;
  std::vector<bool> stat_able_;
  std::vector<int64_t> null_counts_;
};

}  // namespace millpond::table
