// Input and output of rows for the command line: CSV, JSON Lines and Parquet in (streamed as
// record batches); CSV, JSON Lines, Parquet and Arrow IPC out, to a file or stdout.
// Single-threaded.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <arrow/type_fwd.h>

#include "millpond/common/status.h"

namespace millpond::cli {

/// "csv", "jsonl" or "parquet" from an explicit format or the file extension.
Result<std::string> InputFormat(const std::string& path, const std::string& format);

/// Streams the rows of an input file. CSV columns are read as text (empty = null) and converted to
/// the table's types by the writer, so a bad value is reported with its row and column.
Status ReadInput(const std::string& path, const std::string& format,
                 const std::function<Status(const std::shared_ptr<arrow::RecordBatch>&)>& sink);

/// Writes batches in `format` ("csv", "jsonl", "parquet", "arrow") to `path` (or stdout if empty).
class OutputWriter {
 public:
  static Result<std::unique_ptr<OutputWriter>> Open(const std::string& path,
                                                    const std::string& format,
                                                    const std::shared_ptr<arrow::Schema>& schema);
  virtual ~OutputWriter() = default;
  virtual Status Write(const std::shared_ptr<arrow::RecordBatch>& batch) = 0;
  virtual Status Close() = 0;
};

/// One JSON value for a row of an array (dates as "yyyy-MM-dd", timestamps ISO-8601, decimals as
/// strings, binary as base64, lists as arrays, structs and maps as objects).
void AppendJsonValue(const arrow::Array& array, int64_t row, std::string* out);

}  // namespace millpond::cli
