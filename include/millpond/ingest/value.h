// Values and rows as the ingest pipeline carries them from a mapper to a table writer: a small
// variant (null, bool, integer, double, string, bytes, timestamp), the casts that fit a value to
// a Paimon column type, and the Arrow builders that collect rows of one table. Values and the
// free functions are thread-safe; a RowBuilder is used by one thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"
#include "millpond/paimon/schema.h"

namespace millpond::ingest {

/// Microseconds since the Unix epoch, UTC.
struct Timestamp {
  int64_t micros = 0;
  bool operator==(const Timestamp&) const = default;
};

/// Raw bytes (a BYTES column), kept apart from text.
struct Bytes {
  std::string data;
  bool operator==(const Bytes&) const = default;
};

using Value = std::variant<std::monostate, bool, int64_t, double, std::string, Bytes, Timestamp>;

inline bool IsNull(const Value& v) { return std::holds_alternative<std::monostate>(v); }

/// The value as text (for STRING columns, error messages and raw rows): numbers as JSON prints
/// them, timestamps as ISO-8601 UTC with milliseconds, bytes as hex.
std::string ValueToString(const Value& v);

/// Whether `s` is valid UTF-8 (what a STRING column may hold).
bool IsValidUtf8(std::string_view s);
/// `s` with every byte that is not part of valid UTF-8 written as \xNN (for messages about bad
/// input, which may quote it).
std::string SanitizeUtf8(std::string_view s);

/// Reads a time: an ISO-8601 string ("2026-11-24T10:00:00.123Z", "+02:00" offsets, no zone =
/// UTC, a space for 'T'), or a number whose magnitude says its unit (below 1e11 seconds, below
/// 1e14 milliseconds, below 1e17 microseconds, else nanoseconds).
Result<Timestamp> ToTimestamp(const Value& v);

/// Converts `v` to the canonical value of a column of type `type`: bool for BOOLEAN, int64 for
/// TINYINT..BIGINT (range-checked) and DATE (days), double for FLOAT/DOUBLE, string for
/// CHAR/VARCHAR and DECIMAL (its decimal text), Bytes for BINARY/VARBINARY, Timestamp for
/// TIMESTAMP and TIMESTAMP_LTZ. Nulls stay null (refused for NOT NULL types). A value that does not
/// fit is an Invalid error naming the value and the type, never silently truncated.
Result<Value> CastValue(const Value& v, const paimon::DataType& type);

/// Whether ingest can write columns of this type (atomic types except TIME).
bool IngestibleType(const paimon::DataType& type);

/// One row of one table: `values` has one canonical value per table field (CastValue), in
/// schema order.
struct Row {
  int table = -1;
  std::vector<Value> values;
};

/// Collects canonical rows of one table schema into Arrow arrays.
class RowBuilder {
 public:
  static Result<std::unique_ptr<RowBuilder>> Make(const paimon::TableSchema& schema);
  ~RowBuilder();

  /// Appends one row of canonical values (CastValue). Fails only for values of the wrong variant.
  Status Append(const std::vector<Value>& values);
  int64_t rows() const { return rows_; }
  /// The rows appended so far as one batch; the builder is empty after.
  Result<std::shared_ptr<arrow::RecordBatch>> Finish();

 private:
  RowBuilder() = default;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<paimon::DataTypePtr> types_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
  int64_t rows_ = 0;
};

}  // namespace millpond::ingest
