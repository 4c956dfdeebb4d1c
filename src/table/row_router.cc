// RouteRows: one counting sort by (partition group, bucket) and one Take.
#include "row_router.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_vector.h>
#include <arrow/compute/exec.h>
#include <arrow/compute/row/grouper.h>
#include <arrow/record_batch.h>

#include "millpond/paimon/binary_row.h"

namespace millpond::table {

Result<std::vector<RoutedRows>> RouteRows(const std::shared_ptr<arrow::RecordBatch>& batch,
                                          const std::vector<int>& partition_columns,
                                          const std::vector<int>& bucket_columns,
                                          const std::vector<paimon::DataTypePtr>& bucket_types,
                                          int32_t num_buckets) {
  const int64_t n = batch->num_rows();
  if (n == 0) return std::vector<RoutedRows>{};
  if (partition_columns.empty() && num_buckets <= 0) {
    return std::vector<RoutedRows>{{batch, 0}};
  }
  std::vector<uint32_t> group(n, 0);
  uint32_t num_partitions = 1;
  if (!partition_columns.empty()) {
    std::vector<arrow::TypeHolder> types;
    std::vector<arrow::Datum> values;
    for (int c : partition_columns) {
      types.emplace_back(batch->column(c)->type());
      values.emplace_back(batch->column(c));
    }
    ARROW_ASSIGN_OR_RAISE(auto grouper, arrow::compute::Grouper::Make(types));
    arrow::compute::ExecBatch eb(values, n);
    ARROW_ASSIGN_OR_RAISE(auto ids, grouper->Consume(arrow::compute::ExecSpan(eb)));
    const auto& id_arr = static_cast<const arrow::UInt32Array&>(*ids.make_array());
    for (int64_t i = 0; i < n; ++i) group[i] = id_arr.Value(i);
    num_partitions = grouper->num_groups();
  }
  const uint32_t nb = num_buckets > 0 ? static_cast<uint32_t>(num_buckets) : 1;
  if (num_buckets > 0) {
    ARROW_ASSIGN_OR_RAISE(auto buckets,
                          paimon::ComputeBuckets(*batch, bucket_columns, bucket_types, num_buckets));
    for (int64_t i = 0; i < n; ++i) group[i] = group[i] * nb + static_cast<uint32_t>(buckets[i]);
  }
  const uint32_t num_groups = num_partitions * nb;
  if (num_groups == 1) return std::vector<RoutedRows>{{batch, static_cast<int32_t>(group[0] % nb)}};
  // Counting sort of row indices by group (stable, so arrival order survives), then one Take.
  std::vector<int64_t> counts(num_groups + 1, 0);
  for (int64_t i = 0; i < n; ++i) ++counts[group[i] + 1];
  for (uint32_t g = 0; g < num_groups; ++g) counts[g + 1] += counts[g];
  std::vector<int64_t> starts(counts.begin(), counts.end() - 1);
  std::vector<int64_t> order(n);
  for (int64_t i = 0; i < n; ++i) order[starts[group[i]]++] = i;
  arrow::Int64Builder ib;
  ARROW_RETURN_NOT_OK(ib.AppendValues(order));
  ARROW_ASSIGN_OR_RAISE(auto order_arr, ib.Finish());
  ARROW_ASSIGN_OR_RAISE(auto sorted_datum, arrow::compute::Take(batch, order_arr));
  auto sorted = sorted_datum.record_batch();
  std::vector<RoutedRows> out;
  for (uint32_t g = 0; g < num_groups; ++g) {
    int64_t begin = counts[g], len = counts[g + 1] - counts[g];
    if (len == 0) continue;
    out.push_back({sorted->Slice(begin, len), static_cast<int32_t>(g % nb)});
  }
  return out;
}

}  // namespace millpond::table
