// The sort order of a primary-key write buffer before it becomes a sorted run: primary key
// ascending (nulls first, strings by their bytes), then the sequence.field columns, then
// _SEQUENCE_NUMBER ascending, as Paimon's key comparator orders a MergeTree write buffer.
// Stateless; thread-safe.
#pragma once

#include <memory>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"

namespace millpond::table {

/// Indices that sort `batch` by (key_columns ascending, sequence_columns ascending or descending,
/// seq_column ascending). A single integer-like key without sequence.field columns, whose
/// seq_column rises with the row index (as a write buffer's does), is sorted directly on
/// (key, row) pairs; anything else goes through Arrow's SortIndices.
Result<std::shared_ptr<arrow::Array>> SortKeyValueIndices(const arrow::RecordBatch& batch,
                                                          const std::vector<int>& key_columns,
                                                          const std::vector<int>& sequence_columns,
                                                          bool sequence_descending,
                                                          int seq_column);

}  // namespace millpond::table
