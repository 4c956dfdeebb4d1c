// Tag rows, shared by the Modbus and OPC UA connectors: one sample of one tag of one device
// (value, quality, unit, source and ingest timestamps) becomes one row of its table, whose columns
// are filled by name ("device", "tag", "value", "ts", ... or renamed through a `columns:` map).
// A value that does not fit its column or the tag's min/max becomes a dead-letter row; data no tag
// describes goes to the raw table. Used by one thread (a Mapper's).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "millpond/common/status.h"
#include "millpond/ingest/mapping.h"
#include "millpond/ingest/pipeline.h"
#include "millpond/ingest/value.h"

namespace millpond::ingest {

/// What a column of a tag table holds.
enum class TagField {
  kNone,       ///< not a known name: null
  kTs,         ///< "ts" / "source_ts": when the device (or the poll) took the value
  kServerTs,   ///< "server_ts": OPC UA server timestamp
  kIngestTs,   ///< "ingest_ts" / "received_at": when millpond received it
  kDevice,     ///< "device"
  kTag,        ///< "tag"
  kAddress,    ///< "address" / "node": register or OPC UA node id
  kValue,      ///< "value": the value cast to the column type
  kValueInt,   ///< "value_int": integer and boolean values
  kValueText,  ///< "value_text": text values
  kDatatype,   ///< "datatype": the source's type name
  kQuality,    ///< "quality": "good", or the OPC UA status
  kUnit,       ///< "unit"
  kPoll,       ///< "poll": the poll's position (Modbus)
  kSource,     ///< "source": the source id
};

/// The field called `name` (kNone when none is).
TagField TagFieldByName(const std::string& name);

struct TagSample {
  std::string device;
  std::string tag;
  std::string address;
  Value value;
  std::string datatype;
  std::string quality = "good";
  std::string unit;
  Timestamp ts;
  Value server_ts;
  Value poll;
};

/// Range a numeric tag must stay in; outside, its sample is a dead letter.
struct TagLimits {
  std::optional<double> min;
  std::optional<double> max;
};

struct TagRowsOptions {
  std::string source_id;
  std::string default_table;
  std::string dead_letter_table;  ///< default <table>__dead_letters
  std::string raw_table;          ///< default <table>__raw
  /// Columns of the default table when it must be created.
  paimon::TableSchema default_schema;
  /// Tables the map declares: created when absent.
  std::vector<TableSpec> tables;
  /// Column name -> field name (`columns:` in the map), for tables whose names differ.
  std::map<std::string, std::string> columns;
};

class TagRows {
 public:
  static Result<std::unique_ptr<TagRows>> Make(TagRowsOptions options);

  /// Creates the declared tables and the default table when absent; opens the dead-letter and
  /// raw tables of earlier runs.
  Status Prepare(TableSet* tables);
  /// Handle of a table to write tags to ("" = the default). Must exist (or be declared).
  Result<int> Table(const std::string& name);

  /// Appends the row of `s` to table `handle`, or a dead-letter row when it does not fit.
  Status Emit(int handle, const TagSample& s, const TagLimits& limits, const SourceMessage& m,
              MapOutput* out);
  /// A dead-letter row for message `m`.
  Status DeadLetter(const SourceMessage& m, const std::string& error, const std::string& raw,
                    MapOutput* out);
  /// A raw row: data no tag describes.
  Status Raw(const SourceMessage& m, const std::string& device, const std::string& tag,
             const std::string& value, const std::string& reason, const std::string& raw,
             MapOutput* out);

  const TagRowsOptions& options() const { return options_; }

 private:
  explicit TagRows(TagRowsOptions options) : options_(std::move(options)) {}
  Result<const std::vector<TagField>*> Plan(int handle);

  TagRowsOptions options_;
  TableSet* tables_ = nullptr;
  int dead_letter_ = -1;
  int raw_ = -1;
  std::map<std::string, int> handles_;
  std::map<int, std::vector<TagField>> plans_;
};

}  // namespace millpond::ingest
