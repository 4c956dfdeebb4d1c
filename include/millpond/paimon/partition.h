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

/// The string Paimon uses for a partition value in a path (dates as yyyy-MM-dd, timestamps as
/// Paimon's string form, etc.); null or empty strings give `default_name`.
Result<std::string> PartitionValueToString(const std::shared_ptr<arrow::Scalar>& value,
                                           const DataType& type, const std::string& default_name);

/// "k1=v1/k2=v2/" for the given keys and values (empty string for an unpartitioned table).
Result<std::string> PartitionPath(const std::vector<std::string>& keys,
                                  const std::vector<std::shared_ptr<arrow::Scalar>>& values,
                                  const std::vector<DataTypePtr>& types,
                                  const std::string& default_name);

}  // namespace millpond::paimon
