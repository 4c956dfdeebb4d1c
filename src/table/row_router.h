// Splitting a batch into the rows of each (partition, bucket), as both table writers need:
// partition groups from Arrow's Grouper, buckets by Paimon's hash, arrival order kept within each
// group. Thread-safe (pure function).
#pragma once

#include <memory>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/types.h"

namespace millpond::table {

struct RoutedRows {
  std::shared_ptr<arrow::RecordBatch> rows;  // all share one partition's values
  int32_t bucket = 0;
};

/// The rows of `batch` per (partition, bucket). `num_buckets` <= 0 puts every row in bucket 0.
Result<std::vector<RoutedRows>> RouteRows(const std::shared_ptr<arrow::RecordBatch>& batch,
                                          const std::vector<int>& partition_columns,
                                          const std::vector<int>& bucket_columns,
                                          const std::vector<paimon::DataTypePtr>& bucket_types,
                                          int32_t num_buckets);

}  // namespace millpond::table
