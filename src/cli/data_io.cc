// CLI data input/output.
#include "data_io.h"

#include <cstdio>
#include <regex>

#include <arrow/array.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <arrow/io/stdio.h>
#include <arrow/ipc/writer.h>
#include <arrow/json/api.h>
#include <arrow/record_batch.h>
#include <arrow/scalar.h>
#include <arrow/table.h>
#include <arrow/util/decimal.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>

#include "millpond/paimon/types.h"

namespace millpond::cli {
namespace {

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Result<std::shared_ptr<arrow::io::OutputStream>> OpenSink(const std::string& path) {
  if (path.empty() || path == "-") return std::make_shared<arrow::io::StdoutStream>();
  return arrow::io::FileOutputStream::Open(path);
}

void AppendEscaped(std::string_view s, std::string* out) {
  out->push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out->append(buf);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string Base64(std::string_view in) {
  static const char* k = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += k[v & 63];
  }
  if (i + 1 == in.size()) {
    uint32_t v = uint8_t(in[i]) << 16;
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += k[v >> 18];
    out += k[(v >> 12) & 63];
    out += k[(v >> 6) & 63];
    out += '=';
  }
  return out;
}


std::string DateText(int64_t days) { return paimon::FormatDate(days); }

std::string TimestampText(int64_t value, arrow::TimeUnit::type unit, bool utc) {
  int64_t per_sec = unit == arrow::TimeUnit::SECOND  ? 1
                    : unit == arrow::TimeUnit::MILLI ? 1000
                    : unit == arrow::TimeUnit::MICRO ? 1000000
                                                     : 1000000000;
  int64_t secs = value / per_sec, frac = value % per_sec;
  if (frac < 0) {
    frac += per_sec;
    secs -= 1;
  }
  int64_t days = secs / 86400, sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    days -= 1;
  }
  std::string s = DateText(days);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "T%02d:%02d:%02d", static_cast<int>(sod / 3600),
                static_cast<int>(sod / 60 % 60), static_cast<int>(sod % 60));
  s += buf;
  if (per_sec > 1) {
    int digits = unit == arrow::TimeUnit::MILLI ? 3 : unit == arrow::TimeUnit::MICRO ? 6 : 9;
    std::snprintf(buf, sizeof(buf), ".%0*lld", digits, static_cast<long long>(frac));
    s += buf;
  }
  if (utc) s += 'Z';
  return s;
}

}  // namespace

void AppendJsonValue(const arrow::Array& array, int64_t row, std::string* out) {
  if (array.IsNull(row)) {
    out->append("null");
    return;
  }
  switch (array.type_id()) {
    case arrow::Type::BOOL:
      out->append(static_cast<const arrow::BooleanArray&>(array).Value(row) ? "true" : "false");
      return;
    case arrow::Type::INT8:
      out->append(std::to_string(static_cast<const arrow::Int8Array&>(array).Value(row)));
      return;
    case arrow::Type::INT16:
      out->append(std::to_string(static_cast<const arrow::Int16Array&>(array).Value(row)));
      return;
    case arrow::Type::INT32:
      out->append(std::to_string(static_cast<const arrow::Int32Array&>(array).Value(row)));
      return;
    case arrow::Type::INT64:
      out->append(std::to_string(static_cast<const arrow::Int64Array&>(array).Value(row)));
      return;
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE: {
      double v = array.type_id() == arrow::Type::FLOAT
                     ? static_cast<const arrow::FloatArray&>(array).Value(row)
                     : static_cast<const arrow::DoubleArray&>(array).Value(row);
      if (std::isnan(v) || std::isinf(v)) {
        out->append(std::isnan(v) ? "\"NaN\"" : v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
        return;
      }
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%.17g", v);
      // Shortest form that round-trips.
      for (int p = 1; p <= 17; ++p) {
        char t[32];
        std::snprintf(t, sizeof(t), "%.*g", p, v);
        if (std::strtod(t, nullptr) == v) {
          std::snprintf(buf, sizeof(buf), "%s", t);
          break;
        }
      }
      out->append(buf);
      return;
    }
    case arrow::Type::STRING:
      AppendEscaped(static_cast<const arrow::StringArray&>(array).GetView(row), out);
      return;
    case arrow::Type::LARGE_STRING:
      AppendEscaped(static_cast<const arrow::LargeStringArray&>(array).GetView(row), out);
      return;
    case arrow::Type::BINARY:
      AppendEscaped(Base64(static_cast<const arrow::BinaryArray&>(array).GetView(row)), out);
      return;
    case arrow::Type::DATE32:
      AppendEscaped(DateText(static_cast<const arrow::Date32Array&>(array).Value(row)), out);
      return;
    case arrow::Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(*array.type());
      AppendEscaped(TimestampText(static_cast<const arrow::TimestampArray&>(array).Value(row),
                                  t.unit(), !t.timezone().empty()),
                    out);
      return;
    }
    case arrow::Type::TIME32: {
      int64_t ms = static_cast<const arrow::Time32Array&>(array).Value(row);
      char buf[32];
      std::snprintf(buf, sizeof(buf), "%02d:%02d:%02d.%03d", static_cast<int>(ms / 3600000),
                    static_cast<int>(ms / 60000 % 60), static_cast<int>(ms / 1000 % 60),
                    static_cast<int>(ms % 1000));
      AppendEscaped(buf, out);
      return;
    }
    case arrow::Type::DECIMAL128: {
      const auto& t = static_cast<const arrow::Decimal128Type&>(*array.type());
      arrow::Decimal128 v(static_cast<const arrow::Decimal128Array&>(array).GetValue(row));
      AppendEscaped(v.ToString(t.scale()), out);
      return;
    }
    case arrow::Type::LIST: {
      const auto& l = static_cast<const arrow::ListArray&>(array);
      auto values = l.values();
      out->push_back('[');
      for (int64_t i = l.value_offset(row); i < l.value_offset(row + 1); ++i) {
        if (i > l.value_offset(row)) out->push_back(',');
        AppendJsonValue(*values, i, out);
      }
      out->push_back(']');
      return;
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapArray&>(array);
      auto keys = m.keys();
      auto items = m.items();
      out->push_back('{');
      for (int64_t i = m.value_offset(row); i < m.value_offset(row + 1); ++i) {
        if (i > m.value_offset(row)) out->push_back(',');
        std::string k;
        AppendJsonValue(*keys, i, &k);
        if (k.empty() || k[0] != '"') k = "\"" + k + "\"";
        out->append(k);
        out->push_back(':');
        AppendJsonValue(*items, i, out);
      }
      out->push_back('}');
      return;
    }
    case arrow::Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      out->push_back('{');
      for (int i = 0; i < s.num_fields(); ++i) {
        if (i) out->push_back(',');
        AppendEscaped(s.type()->field(i)->name(), out);
        out->push_back(':');
        AppendJsonValue(*s.field(i), row, out);
      }
      out->push_back('}');
      return;
    }
    default: {
      auto sc = array.GetScalar(row);
      AppendEscaped(sc.ok() ? (*sc)->ToString() : "?", out);
    }
  }
}

Result<std::string> InputFormat(const std::string& path, const std::string& format) {
  std::string f = Lower(format);
  if (f.empty()) {
    std::string p = Lower(path);
    if (p.ends_with(".csv")) {
      f = "csv";
    } else if (p.ends_with(".jsonl") || p.ends_with(".json") || p.ends_with(".ndjson")) {
      f = "jsonl";
    } else if (p.ends_with(".parquet")) {
      f = "parquet";
    } else {
      return Status::Invalid("cannot tell the format of ", path,
                             " from its name; pass --format csv|jsonl|parquet");
    }
  }
  if (f == "json") f = "jsonl";
  if (f != "csv" && f != "jsonl" && f != "parquet") {
    return Status::Invalid("unknown input format '", format, "' (csv, jsonl, parquet)");
  }
  return f;
}

Status ReadInput(const std::string& path, const std::string& format,
                 const std::function<Status(const std::shared_ptr<arrow::RecordBatch>&)>& sink) {
  auto in_r = arrow::io::ReadableFile::Open(path);
  if (!in_r.ok()) return Status::IOError("cannot open input ", path, ": ", in_r.status().message());
  auto in = *in_r;
  auto wrap = [&](const Status& st) {
    if (st.ok()) return st;
    return st.WithMessage("input ", path, ": ", st.message());
  };
  if (format == "parquet") {
    parquet::arrow::FileReaderBuilder builder;
    auto st = builder.Open(in);
    if (!st.ok()) return wrap(Status::Invalid("not a readable Parquet file: ", st.message()));
    auto reader_r = builder.Build();
    if (!reader_r.ok()) return wrap(reader_r.status());
    auto batches_r = (*reader_r)->GetRecordBatchReader();
    if (!batches_r.ok()) return wrap(batches_r.status());
    auto reader = std::move(*batches_r);
    while (true) {
      auto next = reader->Next();
      if (!next.ok()) return wrap(next.status());
      if (!*next) break;
      ARROW_RETURN_NOT_OK(sink(*next));
    }
    return Status::OK();
  }
  if (format == "csv") {
    auto read = arrow::csv::ReadOptions::Defaults();
    read.block_size = 8 << 20;
    auto parse = arrow::csv::ParseOptions::Defaults();
    auto convert = arrow::csv::ConvertOptions::Defaults();
    convert.strings_can_be_null = true;
    convert.null_values = {"", "NULL", "null"};
    // Read the header to type every column as text.
    {
      auto peek = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), in, read,
                                                    parse, convert);
      if (!peek.ok()) return wrap(peek.status());
      for (const auto& f : (*peek)->schema()->fields()) convert.column_types[f->name()] = arrow::utf8();
    }
    ARROW_ASSIGN_OR_RAISE(in, arrow::io::ReadableFile::Open(path));
    auto reader_r = arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), in, read,
                                                      parse, convert);
    if (!reader_r.ok()) return wrap(reader_r.status());
    auto reader = *reader_r;
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = reader->ReadNext(&batch);
      if (!st.ok()) return wrap(st);
      if (!batch) break;
      ARROW_RETURN_NOT_OK(sink(batch));
    }
    return Status::OK();
  }
  // JSON Lines.
  auto read = arrow::json::ReadOptions::Defaults();
  read.block_size = 8 << 20;
  auto parse = arrow::json::ParseOptions::Defaults();
  parse.newlines_in_values = false;
  auto reader_r = arrow::json::TableReader::Make(arrow::default_memory_pool(), in, read, parse);
  if (!reader_r.ok()) return wrap(reader_r.status());
  auto table_r = (*reader_r)->Read();
  if (!table_r.ok()) {
    // Arrow counts JSON rows from 0; users count lines from 1.
    std::string msg = table_r.status().message();
    static const std::regex kRow("in row ([0-9]+)");
    std::smatch m;
    if (std::regex_search(msg, m, kRow)) {
      msg = m.prefix().str() + "on line " + std::to_string(std::stoll(m[1].str()) + 1) +
            m.suffix().str();
    }
    return wrap(Status::Invalid("malformed JSON Lines: ", msg));
  }
  arrow::TableBatchReader batches(**table_r);
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(batches.ReadNext(&batch));
    if (!batch) break;
    ARROW_RETURN_NOT_OK(sink(batch));
  }
  return Status::OK();
}

namespace {

// CSV and Arrow IPC both come as an arrow::ipc::RecordBatchWriter over the sink.
class BatchWriterOutput : public OutputWriter {
 public:
  BatchWriterOutput(std::shared_ptr<arrow::io::OutputStream> sink,
                    std::shared_ptr<arrow::ipc::RecordBatchWriter> writer)
      : sink_(std::move(sink)), writer_(std::move(writer)) {}
  Status Write(const std::shared_ptr<arrow::RecordBatch>& b) override {
    return writer_->WriteRecordBatch(*b);
  }
  Status Close() override {
    ARROW_RETURN_NOT_OK(writer_->Close());
    return sink_->Close();
  }

 private:
  std::shared_ptr<arrow::io::OutputStream> sink_;
  std::shared_ptr<arrow::ipc::RecordBatchWriter> writer_;
};

class JsonOutput : public OutputWriter {
 public:
  explicit JsonOutput(std::shared_ptr<arrow::io::OutputStream> sink) : sink_(std::move(sink)) {}
  Status Write(const std::shared_ptr<arrow::RecordBatch>& b) override {
    std::string buf;
    const auto& schema = *b->schema();
    for (int64_t r = 0; r < b->num_rows(); ++r) {
      buf.push_back('{');
      for (int c = 0; c < b->num_columns(); ++c) {
        if (c) buf.push_back(',');
        AppendEscaped(schema.field(c)->name(), &buf);
        buf.push_back(':');
        AppendJsonValue(*b->column(c), r, &buf);
      }
      buf.append("}\n");
      if (buf.size() > (1 << 20)) {
        ARROW_RETURN_NOT_OK(sink_->Write(buf.data(), static_cast<int64_t>(buf.size())));
        buf.clear();
      }
    }
    return sink_->Write(buf.data(), static_cast<int64_t>(buf.size()));
  }
  Status Close() override { return sink_->Close(); }

 private:
  std::shared_ptr<arrow::io::OutputStream> sink_;
};

class ParquetOutput : public OutputWriter {
 public:
  Status Init(std::shared_ptr<arrow::io::OutputStream> sink,
              const std::shared_ptr<arrow::Schema>& schema) {
    sink_ = sink;
    parquet::WriterProperties::Builder props;
    props.compression(arrow::Compression::ZSTD);
    ARROW_ASSIGN_OR_RAISE(writer_, parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(),
                                                                    sink_, props.build()));
    return Status::OK();
  }
  Status Write(const std::shared_ptr<arrow::RecordBatch>& b) override {
    return writer_->WriteRecordBatch(*b);
  }
  Status Close() override {
    ARROW_RETURN_NOT_OK(writer_->Close());
    return sink_->Close();
  }

 private:
  std::shared_ptr<arrow::io::OutputStream> sink_;
  std::unique_ptr<parquet::arrow::FileWriter> writer_;
};

}  // namespace

Result<std::unique_ptr<OutputWriter>> OutputWriter::Open(
    const std::string& path, const std::string& format,
    const std::shared_ptr<arrow::Schema>& schema) {
  std::string f = Lower(format);
  if (f != "csv" && f != "jsonl" && f != "json" && f != "parquet" && f != "arrow") {
    return Status::Invalid("unknown output format '", format, "' (csv, jsonl, parquet, arrow)");
  }
  auto sink_r = OpenSink(path);
  if (!sink_r.ok()) return Status::IOError("cannot open output ", path, ": ", sink_r.status().message());
  auto sink = *sink_r;
  if (f == "csv") {
    ARROW_ASSIGN_OR_RAISE(auto w, arrow::csv::MakeCSVWriter(sink, schema,
                                                            arrow::csv::WriteOptions::Defaults()));
    return std::make_unique<BatchWriterOutput>(sink, std::move(w));
  }
  if (f == "parquet") {
    auto w = std::make_unique<ParquetOutput>();
    ARROW_RETURN_NOT_OK(w->Init(sink, schema));
    return w;
  }
  if (f == "arrow") {
    ARROW_ASSIGN_OR_RAISE(auto w, arrow::ipc::MakeStreamWriter(sink, schema));
    return std::make_unique<BatchWriterOutput>(sink, std::move(w));
  }
  return std::make_unique<JsonOutput>(sink);
}

}  // namespace millpond::cli
