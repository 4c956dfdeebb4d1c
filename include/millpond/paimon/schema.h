// A Paimon table schema file (schema/schema-N): fields with stable ids, partition and primary keys,
// options. JSON codec as Paimon Java writes it (version 3). Mirrors org.apache.paimon.schema.TableSchema.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/paimon/types.h"

namespace millpond::paimon {

struct TableSchema {
  int32_t version = 3;
  int64_t id = 0;
  std::vector<DataField> fields;
  int32_t highest_field_id = -1;
  std::vector<std::string> partition_keys;
  std::vector<std::string> primary_keys;
  std::map<std::string, std::string> options;
  std::optional<std::string> comment;
  int64_t time_millis = 0;

  static Result<TableSchema> FromJson(const std::string& text, const std::string& what);
  std::string ToJson() const;

  /// Index of the field named `name`, or -1.
  int FieldIndex(const std::string& name) const;
  /// Index of the field with id `id`, or -1.
  int FieldIndexById(int32_t id) const;
  std::string Option(const std::string& key, const std::string& dflt) const;
  /// Bucket count (`bucket` option, default -1 for append tables = unaware).
  int32_t NumBuckets() const;
  /// `bucket-key` option, else the primary keys minus partition keys, else empty.
  std::vector<std::string> BucketKeys() const;
  /// Fields that are not partition keys, in order (the columns of data files).
  std::vector<DataField> DataFields() const;
};

/// Checks column names (non-empty, unique) and numbers the fields of a new table as Paimon does:
/// top-level fields 0..n-1, then nested ROW fields depth-first; sets highest_field_id.
Status AssignFieldIds(TableSchema* schema);

/// Columns from "a INT, b DECIMAL(10, 2) NOT NULL, `c d` MAP<STRING, INT>" (split at top-level
/// commas; names may be quoted with ` or "). Ids are left 0 (see AssignFieldIds).
Result<std::vector<DataField>> ParseColumns(const std::string& spec);

/// Splits "a, b,c" into {"a","b","c"}.
std::vector<std::string> SplitNames(const std::string& text);

}  // namespace millpond::paimon
