// Avro object-container files (header, 16-byte sync marker, blocks of records), framed by us
// because Debian's Avro C 1.11 has no zstandard codec; Avro C parses schemas and encodes and
// decodes each record. Codecs: null, deflate (raw), zstandard, and snappy for reading.
// A reader or writer is used by one thread at a time; distinct instances are independent.
#pragma once

#include <avro.h>

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "millpond/common/status.h"
#include "millpond/paimon/manifest.h"

namespace millpond::paimon {

/// Codec names as they appear in the "avro.codec" header entry ("zstandard", "deflate", "null").
std::string_view AvroCodecHeaderName(AvroCodec codec);

/// Owns an Avro C schema (decref on destruction).
struct AvroSchemaDeleter {
  void operator()(avro_obj_t* schema) const { avro_schema_decref(schema); }
};
using AvroSchemaPtr = std::unique_ptr<avro_obj_t, AvroSchemaDeleter>;

/// Parses an Avro JSON schema with Avro C; `what` names the file in the error.
Result<AvroSchemaPtr> ParseAvroSchema(std::string_view json, std::string_view what);

/// A generic Avro C value of one schema that owns its value class.
class AvroGenericValue {
 public:
  static Result<std::unique_ptr<AvroGenericValue>> Make(avro_schema_t schema,
                                                        std::string_view what);
  ~AvroGenericValue();
  AvroGenericValue(const AvroGenericValue&) = delete;
  AvroGenericValue& operator=(const AvroGenericValue&) = delete;

  avro_value_t* value() { return &value_; }

 private:
  AvroGenericValue() = default;
  avro_value_iface_t* iface_ = nullptr;
  avro_value_t value_{};
};

/// Reads the records of an Avro object container held in memory. `bytes` must outlive the reader.
class AvroFileReader {
 public:
  /// Parses the header (magic, metadata, sync marker); `what` names the file in errors.
  static Result<std::unique_ptr<AvroFileReader>> Open(std::string_view bytes,
                                                      std::string_view what);
  ~AvroFileReader();
  AvroFileReader(const AvroFileReader&) = delete;
  AvroFileReader& operator=(const AvroFileReader&) = delete;

  /// The writer schema as stored in "avro.schema", and the parsed form.
  const std::string& schema_json() const { return schema_json_; }
  avro_schema_t schema() const { return schema_.get(); }
  const std::string& codec() const { return codec_; }
  const std::string& what() const { return what_; }

  /// Decodes the next record into a value owned by the reader (valid until the next call);
  /// nullptr after the last record.
  Result<avro_value_t*> Next();

 private:
  AvroFileReader() = default;
  Status LoadBlock();

  std::string_view bytes_;
  std::string what_;
  std::string schema_json_;
  std::string codec_;
  std::array<char, 16> sync_{};
  AvroSchemaPtr schema_;
  std::unique_ptr<AvroGenericValue> record_;
  size_t pos_ = 0;            // offset of the next block in bytes_
  std::string block_;         // decompressed current block
  int64_t block_remaining_ = 0;
  avro_reader_t block_reader_ = nullptr;  // reads block_
};

/// Writes records into an Avro object container in memory, one block per ~64 KB of records.
class AvroFileWriter {
 public:
  static Result<std::unique_ptr<AvroFileWriter>> Make(std::string_view schema_json,
                                                      AvroCodec codec);

  /// The record to fill before each Append(); holds the previous record's values until refilled.
  avro_value_t* record() { return record_->value(); }
  /// Encodes record() into the current block.
  Status Append();
  /// Flushes the last block and returns the whole file.
  Result<std::string> Finish();

 private:
  AvroFileWriter() = default;
  Status FlushBlock();

  AvroCodec codec_ = AvroCodec::kNull;
  AvroSchemaPtr schema_;
  std::unique_ptr<AvroGenericValue> record_;
  std::array<char, 16> sync_{};
  std::string out_;
  std::string block_;
  int64_t block_count_ = 0;
};

}  // namespace millpond::paimon
