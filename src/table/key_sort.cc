#include "key_sort.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>

#include <arrow/api.h>
#include <arrow/compute/api.h>

namespace millpond::table {
namespace {

// The key as int64 for the integer-like types whose order is their integer order.
std::optional<std::vector<int64_t>> IntegerKeys(const arrow::Array& a) {
  if (a.null_count() != 0) return std::nullopt;
  const int64_t n = a.length();
  std::vector<int64_t> out(static_cast<size_t>(n));
  auto copy = [&](const auto* values) {
    for (int64_t i = 0; i < n; ++i) out[i] = static_cast<int64_t>(values[i]);
  };
  switch (a.type_id()) {
    case arrow::Type::INT8: copy(static_cast<const arrow::Int8Array&>(a).raw_values()); break;
    case arrow::Type::INT16: copy(static_cast<const arrow::Int16Array&>(a).raw_values()); break;
    case arrow::Type::INT32:
    case arrow::Type::DATE32:
    case arrow::Type::TIME32:
      copy(a.data()->GetValues<int32_t>(1));
      break;
    case arrow::Type::INT64:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::TIME64:
      copy(a.data()->GetValues<int64_t>(1));
      break;
    default:
      return std::nullopt;
  }
  return out;
}

bool RisesWithRow(const arrow::Array& seq) {
  if (seq.type_id() != arrow::Type::INT64 || seq.null_count() != 0) return false;
  const int64_t* v = seq.data()->GetValues<int64_t>(1);
  for (int64_t i = 1; i < seq.length(); ++i) {
    if (v[i] <= v[i - 1]) return false;
  }
  return true;
}

}  // namespace

Result<std::shared_ptr<arrow::Array>> SortKeyValueIndices(const arrow::RecordBatch& batch,
                                                          const std::vector<int>& key_columns,
                                                          const std::vector<int>& sequence_columns,
                                                          bool sequence_descending,
                                                          int seq_column) {
  const int64_t n = batch.num_rows();
  if (key_columns.size() == 1 && sequence_columns.empty() && n < (int64_t{1} << 32) &&
      RisesWithRow(*batch.column(seq_column))) {
    if (auto keys = IntegerKeys(*batch.column(key_columns[0]))) {
      std::vector<std::pair<int64_t, uint32_t>> order(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) order[i] = {(*keys)[i], static_cast<uint32_t>(i)};
      std::sort(order.begin(), order.end());
      arrow::UInt64Builder out;
      ARROW_RETURN_NOT_OK(out.Reserve(n));
      for (const auto& [key, row] : order) out.UnsafeAppend(row);
      return out.Finish();
    }
  }
  std::vector<arrow::compute::SortKey> sort_keys;
  const auto asc = arrow::compute::SortOrder::Ascending;
  const auto nulls_first = arrow::compute::NullPlacement::AtStart;
  for (int c : key_columns) sort_keys.emplace_back(arrow::FieldRef(c), asc, nulls_first);
  for (int c : sequence_columns) {
    sort_keys.emplace_back(arrow::FieldRef(c),
                           sequence_descending ? arrow::compute::SortOrder::Descending : asc,
                           nulls_first);
  }
  sort_keys.emplace_back(arrow::FieldRef(seq_column), asc, nulls_first);
  arrow::compute::SortOptions options(sort_keys);
  return arrow::compute::SortIndices(arrow::Datum(batch), options);
}

}  // namespace millpond::table
