// Per-column min/max/null-count statistics over the batches of one data file, encoded as Paimon's
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
  Status Update(const arrow::RecordBatch& batch);
  Result<paimon::SimpleStats> Finish() const;

 private:
  std::vector<paimon::DataField> fields_;
  std::vector<bool> stat_able_;
  std::vector<std::vector<std::shared_ptr<arrow::Scalar>>> mins_;
  std::vector<std::vector<std::shared_ptr<arrow::Scalar>>> maxs_;
  std::vector<int64_t> null_counts_;
};

}  // namespace millpond::table
