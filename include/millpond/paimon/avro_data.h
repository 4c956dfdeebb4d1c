// Reading Paimon data files written with `file.format = avro` into Arrow. Arrow types follow the
// file's writer schema as Paimon Java writes it (AvroSchemaConverter): Paimon TINYINT/SMALLINT come
// back as int32 (Avro has no narrower int), TIMESTAMP as timestamp without zone and TIMESTAMP WITH
// LOCAL TIME ZONE (Avro local-timestamp-*) as timestamp with zone "UTC". Pure; thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"

namespace millpond::paimon {

/// Decodes a whole Avro object-container data file (codecs null, deflate, zstandard, snappy).
/// Top-level record fields become columns: primitives as is, string/enum as utf8, bytes/fixed
/// as binary, logical types date -> date32, time-millis -> time32(ms), time-micros -> time64(us),
/// timestamp-millis/micros/nanos -> timestamp(ms/us/ns), local-timestamp-* -> the same with
/// zone "UTC", decimal (bytes or fixed) -> decimal128; unions ["null", T] -> nullable T; arrays ->
/// list; maps (Avro map, or an array of key/value records with logicalType "map") -> map; records
/// -> struct. `what` names the file in error messages.
Result<std::shared_ptr<arrow::Table>> ReadAvroDataFile(std::string_view bytes,
                                                       std::string_view what);

/// The Arrow schema ReadAvroDataFile produces for an Avro writer schema given as JSON.
Result<std::shared_ptr<arrow::Schema>> ArrowSchemaFromAvroJson(std::string_view schema_json,
                                                               std::string_view what);

}  // namespace millpond::paimon
