// Paimon's logical data types: parsed from and printed to schema JSON exactly as Paimon Java
// writes them ("INT NOT NULL", "DECIMAL(10, 2)", {"type":"ARRAY","element":...}), and mapped to Arrow.
// Mirrors org.apache.paimon.types.*. Immutable values; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <arrow/type_fwd.h>
#include <nlohmann/json_fwd.hpp>

#include "millpond/common/status.h"

namespace millpond::paimon {

enum class TypeRoot {
  kBoolean,
  kTinyInt,
  kSmallInt,
  kInt,
  kBigInt,
  kFloat,
  kDouble,
  kDecimal,
  kChar,
  kVarChar,
  kBinary,
  kVarBinary,
  kDate,
  kTime,
  kTimestamp,
  kLocalZonedTimestamp,
  kArray,
  kMultiset,
  kMap,
  kRow,
  kBlob,
};

struct DataType;
using DataTypePtr = std::shared_ptr<const DataType>;

/// A named field of a ROW type or of a table schema; `id` is Paimon's stable field id.
struct DataField {
  int32_t id = 0;
  std::string name;
  DataTypePtr type;
  std::optional<std::string> description;
};

/// A Paimon logical type. `length` is for CHAR/VARCHAR/BINARY/VARBINARY, `precision` for
/// DECIMAL/TIME/TIMESTAMP, `scale` for DECIMAL. Children: element (ARRAY/MULTISET), key and
/// value (MAP), fields (ROW).
struct DataType {
  static constexpr int32_t kMaxLength = 2147483647;

  TypeRoot root = TypeRoot::kInt;
  bool nullable = true;
  int32_t length = 0;
  int32_t precision = 0;
  int32_t scale = 0;
  DataTypePtr element;
  DataTypePtr key;
  DataTypePtr value;
  std::vector<DataField> fields;

  /// The type as Paimon prints it in schema JSON for atomic types ("VARCHAR(10) NOT NULL",
  /// "STRING", "TIMESTAMP(6) WITH LOCAL TIME ZONE"), or a SQL-like form for nested types.
  std::string ToString() const;
  bool IsInteger() const;
  bool IsString() const { return root == TypeRoot::kChar || root == TypeRoot::kVarChar; }
  bool IsNested() const;
  DataTypePtr WithNullable(bool nullable) const;
};

/// Parses a type in Paimon's SQL spelling: "INT", "BIGINT NOT NULL", "DECIMAL(10,2)", "STRING",
/// "BYTES", "TIMESTAMP(3)", "TIMESTAMP_LTZ(6)", "TIMESTAMP(6) WITH LOCAL TIME ZONE",
/// "ARRAY<INT>", "MAP<STRING, INT>", "ROW<a INT, b STRING>".
Result<DataTypePtr> ParseDataType(const std::string& text);

/// Schema-JSON form (a string for atomic types, an object for nested ones) and back.
Result<DataTypePtr> DataTypeFromJson(const nlohmann::json& j);
nlohmann::json DataTypeToJson(const DataType& type);
Result<DataField> DataFieldFromJson(const nlohmann::json& j);
nlohmann::json DataFieldToJson(const DataField& field);

/// The Arrow type millpond uses in memory for a Paimon type: integers and floats as is, DECIMAL
/// as decimal128, CHAR/VARCHAR as utf8, BINARY/VARBINARY/BLOB as binary, DATE as date32, TIME as
/// time32(ms), TIMESTAMP(p) as timestamp(ms|us|ns) by precision, WITH LOCAL TIME ZONE as the same
/// with tz "UTC", ARRAY as list, MAP as map, ROW as struct.
std::shared_ptr<arrow::DataType> ToArrowType(const DataType& type);
std::shared_ptr<arrow::Field> ToArrowField(const DataField& field);
std::shared_ptr<arrow::Schema> ToArrowSchema(const std::vector<DataField>& fields);

/// Paimon type for an Arrow type (for writing Arrow data whose schema was not declared).
Result<DataTypePtr> FromArrowType(const arrow::DataType& type, bool nullable = true);

/// Whether values of `from` can be read as `to` by widening (INT -> BIGINT, FLOAT -> DOUBLE,
/// VARCHAR(n) -> VARCHAR(m>=n), DECIMAL(p,s) -> DECIMAL(p2>=p,s), ...), as schema evolution allows.
bool CanWiden(const DataType& from, const DataType& to);

/// Days since 1970-01-01 to (year, month, day) in the proleptic Gregorian calendar, and as
/// "yyyy-MM-dd" (Paimon's DATE text).
void CivilFromDays(int64_t days, int64_t* year, unsigned* month, unsigned* day);
std::string FormatDate(int64_t days);

}  // namespace millpond::paimon
