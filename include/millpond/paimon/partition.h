// Partition paths: "k1=v1/k2=v2/" with Hive-style escaping of special characters and
// `partition.default-name` (default "__DEFAULT_PARTITION__") for null or empty values.
// Mirrors org.apache.paimon.utils.PartitionPathUtils and InternalRowPartitionComputer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/types.h"

namespace millpond::paimon {

inline constexpr const char* kDefaultPartitionName = "__DEFAULT_PARTITION__";

/// Escapes a path component as Paimon does ('/', '=', '%', ':', '#', '?', control chars, ... -> %XX).
std::string EscapePathName(const std::string& name);
std::string UnescapePathName(const std::string& name);

/// The string Paimon uses for a partition value in a path; null, empty or whitespace-only values
/// give `default_name`. `legacy_name` is the table option `partition.legacy-name` (Paimon's
/// default: true), under which Java uses `toString()` of its internal value: DATE as the day
/// number ("19909"), TIME as millis of day, TIMESTAMP as LocalDateTime ("2024-07-05T10:00:01.5").
/// With false it uses CAST to STRING: dates as yyyy-MM-dd, "HH:mm:ss[.f]", "yyyy-MM-dd HH:mm:ss[.f]"
/// (TIMESTAMP WITH LOCAL TIME ZONE is formatted in UTC, where Java uses the JVM's zone). Numbers
/// print as Java does (Double.toString for FLOAT/DOUBLE, plain decimals). Binary values under
/// legacy names, and nested types, give NotImplemented.
Result<std::string> PartitionValueToString(const std::shared_ptr<arrow::Scalar>& value,
                                           const DataType& type, const std::string& default_name,
                                           bool legacy_name = true);

/// "k1=v1/k2=v2/" for the given keys and values (empty string for an unpartitioned table), each
/// key and value escaped with EscapePathName. The data files of a partition live under this path,
/// and Paimon Java recomputes it from the partition row when it reads: it must match exactly.
Result<std::string> PartitionPath(const std::vector<std::string>& keys,
                                  const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                                  const std::vector<DataTypePtr>& types,
                                  const std::string& default_name, bool legacy_name = true);

}  // namespace millpond::paimon
