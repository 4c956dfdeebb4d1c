// StatsCollector: column statistics with Arrow compute.
#include "stats_collector.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api_aggregate.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>

#include "millpond/paimon/binary_row.h"

namespace millpond::table {
namespace {

constexpr size_t kStringStatsChars = 16;

bool StatAble(paimon::TypeRoot r) {
  using paimon::TypeRoot;
  switch (r) {
    case TypeRoot::kBoolean:
    case TypeRoot::kTinyInt:
    case TypeRoot::kSmallInt:
    case TypeRoot::kInt:
    case TypeRoot::kBigInt:
    case TypeRoot::kFloat:
    case TypeRoot::kDouble:
    case TypeRoot::kDecimal:
    case TypeRoot::kChar:
    case TypeRoot::kVarChar:
    case TypeRoot::kDate:
    case TypeRoot::kTime:
    case TypeRoot::kTimestamp:
    case TypeRoot::kLocalZonedTimestamp:
      return true;
    default:
      return false;
  }
}

// Byte length of the first `n` UTF-8 code points of `s`.
size_t Utf8Prefix(std::string_view s, size_t n) {
  size_t i = 0, count = 0;
  while (i < s.size() && count < n) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    ++count;
  }
  return std::min(i, s.size());
}

}  // namespace

StatsCollector::StatsCollector(std::vector<paimon::DataField> fields)
    : fields_(std::move(fields)),
      null_counts_(fields_.size(), 0) {
  for (const auto& f : fields_) stat_able_.push_back(StatAble(f.type->root));
}

Status StatsCollector::Update(const arrow::RecordBatch& batch) {
  for (size_t i = 0; i < fields_.size(); ++i) {
    null_counts_[i] += batch.column(static_cast<int>(i))->null_count();
  }
  return Status::OK();
}

Result<paimon::SimpleStats> StatsCollector::Finish(
    const std::vector<std::pair<std::shared_ptr<arrow::Scalar>, std::shared_ptr<arrow::Scalar>>>&
        min_max) const {
  std::vector<std::shared_ptr<arrow::Scalar>> mins, maxs;
  std::vector<paimon::DataTypePtr> types;
  paimon::SimpleStats stats;
  for (size_t i = 0; i < fields_.size(); ++i) {
    auto type = paimon::ToArrowType(*fields_[i].type);
    types.push_back(fields_[i].type);
    std::shared_ptr<arrow::Scalar> mn = arrow::MakeNullScalar(type), mx = mn;
    if (stat_able_[i] && i < min_max.size() && min_max[i].first && min_max[i].second) {
      mn = min_max[i].first;
      mx = min_max[i].second;
    }
    if (fields_[i].type->IsString()) {
      if (mn->is_valid) {
        const auto& s = static_cast<const arrow::StringScalar&>(*mn);
        std::string_view v = s.view();
        size_t n = Utf8Prefix(v, kStringStatsChars);
        if (n < v.size()) mn = std::make_shared<arrow::StringScalar>(std::string(v.substr(0, n)));
      }
      if (mx->is_valid) {
        const auto& s = static_cast<const arrow::StringScalar&>(*mx);
        if (Utf8Prefix(s.view(), kStringStatsChars) < s.view().size()) {
          mx = arrow::MakeNullScalar(type);  // a truncated max would be below the true max
        }
      }
    }
    mins.push_back(mn);
    maxs.push_back(mx);
    stats.null_counts.push_back(null_counts_[i]);
  }
  ARROW_ASSIGN_OR_RAISE(stats.min_values, paimon::SerializeBinaryRow(mins, types));
  ARROW_ASSIGN_OR_RAISE(stats.max_values, paimon::SerializeBinaryRow(maxs, types));
  return stats;
}

}  // namespace millpond::table
